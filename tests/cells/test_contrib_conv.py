"""The convolutional LSTMs against the NumPy oracle (float64, lengths), unroll == step calls, gradcheck, and their
shapes and names (the TF fixtures check them against TF itself)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
from tests.reference import numpy_contrib as refc

B, T = 3, 4
CASES = {
    "1d": (rk.Conv1DLSTMCell, [5, 2], [3]),
    "2d_even": (rk.Conv2DLSTMCell, [4, 3, 2], [2, 3]),
    "3d": (rk.Conv3DLSTMCell, [3, 2, 2, 1], [3, 1, 2]),
    "any_2d": (lambda **kw: rk.ConvLSTMCell(2, **kw), [3, 3, 1], [1, 3]),
}


def _make(key, **kwargs):
    cls, shape, kernel = CASES[key]
    cell = cls(input_shape=shape, output_channels=2, kernel_shape=kernel, **kwargs).double()
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.5)
    x = torch.randn(B, T, *shape, generator=gen, dtype=torch.float64)
    return cell, x


@pytest.mark.parametrize("key", list(CASES))
def test_conv_lstm_matches_numpy_with_lengths(key):
    cell, x = _make(key, forget_bias=0.3)
    lengths = [4, 0, 2]
    out, state = rk.dynamic_rnn(cell, x, sequence_length=lengths)
    w = {k.split("/", 2)[2]: v.detach().numpy() for k, v in rk.tf_variables(cell).items()}
    c = h = np.zeros((B, *cell.state_size.c.dims))
    for t in range(T):
        step_out, (new_c, new_h) = refc.conv_lstm(w, x[:, t].numpy(), (c, h), forget_bias=0.3)
        live = (t < np.array(lengths)).reshape(B, *[1] * (step_out.ndim - 1))
        np.testing.assert_allclose(
            out[:, t].detach().numpy(), np.where(live, step_out, 0), rtol=1e-10, atol=1e-12
        )
        c, h = np.where(live, new_c, c), np.where(live, new_h, h)
    np.testing.assert_allclose(state.c.detach().numpy(), c, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state.h.detach().numpy(), h, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("key", list(CASES))
def test_dynamic_equals_step_calls_and_gradcheck(key):
    """(rk.static_rnn takes rank-2 steps only; the cell is called directly here.)"""
    cell, x = _make(key, use_bias=key != "2d_even")
    dyn, final = rk.dynamic_rnn(cell, x, time_major=False)
    state = cell.zero_state(B, torch.float64)
    for t in range(T):
        out, state = cell(x[:, t], state)
        torch.testing.assert_close(dyn[:, t], out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(final.c, state.c, rtol=1e-12, atol=1e-12)
    small = x[:2, :2].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda v: rk.dynamic_rnn(cell, v, sequence_length=[2, 1])[0], (small,)
    )


def test_shapes_names_and_zero_state():
    cell = rk.Conv2DLSTMCell(
        input_shape=[6, 5, 3], output_channels=4, kernel_shape=[3, 3], use_bias=False
    )
    assert cell.state_size == rk.LSTMStateTuple(rk.cells.contrib.SpatialShape([6, 5, 4]), [6, 5, 4])
    assert cell.output_size == [6, 5, 4]
    assert {k: tuple(v.shape) for k, v in rk.tf_variables(cell).items()} == {
        "rnn/conv_2d_lstm_cell/kernel": (3, 3, 7, 16)
    }
    limit = (6 / (9 * 7 + 9 * 16)) ** 0.5  # glorot over the receptive field
    assert cell.kernel.abs().max() <= limit
    zero = cell.zero_state(2, torch.float64)
    assert zero.c.shape == (2, 6, 5, 4) and zero.h.dtype == torch.float64
    named = rk.Conv1DLSTMCell(input_shape=[4, 1], output_channels=1, kernel_shape=[1], name="enc")
    assert list(rk.tf_variables(named)) == ["rnn/enc/kernel", "rnn/enc/biases"]
