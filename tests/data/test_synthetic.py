"""Synthetic sequences: the sine stream continues row by row; series windows respect held-out time."""

import numpy as np

from rnnkit.data.synthetic import SeriesWindows, next_step_pairs, seed004_window, series, sine_batch


def test_sine_windows_continue_row_by_row():
    x0, y0, xs0 = sine_batch(3, batch_size=4, time_steps=5)
    _, _, xs1 = sine_batch(4, batch_size=4, time_steps=5)
    assert x0.shape == (4, 5, 1) and xs0.shape == (4, 5)
    np.testing.assert_allclose(xs1[:, 0] - xs0[:, -1], 1 / (10 * np.pi))
    np.testing.assert_allclose(x0[..., 0], np.sin(xs0))
    np.testing.assert_allclose(y0[..., 0], np.cos(xs0))


def test_series_function():
    t = np.array([0.0, 1.0, 2.5])
    np.testing.assert_allclose(series(t), t * np.sin(t) / 3 + 2 * np.sin(5 * t))


def test_training_windows_avoid_heldout_and_repeat():
    w = SeriesWindows(n_steps=20, resolution=0.1, heldout=[[6, 10], [18, 22]])
    t = w.train_times(64, seed=1, step=7)
    assert t.shape == (64, 21)
    for lo, hi in w.heldout:
        assert not ((t[:, 0] < hi) & (t[:, -1] > lo)).any()
    np.testing.assert_array_equal(t, w.train_times(64, seed=1, step=7))
    assert not np.array_equal(t, w.train_times(64, seed=1, step=8))


def test_test_windows_inside_heldout():
    w = SeriesWindows(n_steps=20, resolution=0.1, heldout=[[6, 10]])
    t = w.test_times()
    assert (
        (t >= 6 - 1e-9).all() and (t <= 10 + 1e-9).all() and len(t) == 21
    )  # starts 6.0, 6.1, ..., 8.0
    x, y = next_step_pairs(t)
    np.testing.assert_allclose(x[:, 1:], y[:, :-1])


def test_seed004_window_and_shift():
    t0, f0 = seed004_window(0)
    t1, _ = seed004_window(1)
    assert t0.shape == (1, 100, 1) and t0[0, 0, 0] == 12.0
    np.testing.assert_allclose(t1[0, :-1], t0[0, 1:])
    np.testing.assert_allclose(f0, series(t0))
