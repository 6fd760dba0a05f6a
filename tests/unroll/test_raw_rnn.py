"""raw_rnn: TF's loop_fn contract (emit zeros and keep the state of finished rows, loop state, emit templates,
zero steps) against dynamic_rnn, and the errors for inconsistent loop_fn results."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from tests.registry import randomize

B, T, D = 4, 6, 3
LENGTHS = torch.tensor([6, 0, 3, 1])


def _reader(cell, x, lengths, emit=None, loop_state=None):
    """TF's documented loop_fn: read time-major inputs x [T, B, D] until each row's length."""

    def loop_fn(time, cell_output, cell_state, state):
        if cell_output is None:
            return lengths <= 0, x[0], cell.zero_state(B, x.dtype), emit, loop_state
        finished = time >= lengths
        nxt = x.new_zeros(B, D) if bool(finished.all()) else x[time]
        return finished, nxt, cell_state, cell_output, None if state is None else state + [time]

    return loop_fn


def test_raw_rnn_equals_dynamic_rnn_with_lengths():
    cell = randomize(rk.LSTMCell(4, use_peepholes=True, input_size=D)).double()
    x = torch.randn(T, B, D, dtype=torch.float64)
    emit, state, loop_state = rk.raw_rnn(cell, _reader(cell, x, LENGTHS))
    want, want_state = rk.dynamic_rnn(cell, x, sequence_length=LENGTHS, time_major=True)
    assert emit.shape == (6, B, 4) and loop_state is None
    torch.testing.assert_close(emit, want, rtol=0, atol=1e-15)
    torch.testing.assert_close(state.c, want_state.c, rtol=0, atol=1e-15)


def test_steps_stop_at_the_longest_row_and_loop_state_threads_through():
    cell = randomize(rk.GRUCell(2, input_size=D))
    x = torch.randn(T, B, D)
    lengths = torch.tensor([2, 0, 3, 1])
    emit, _, loop_state = rk.raw_rnn(cell, _reader(cell, x, lengths, loop_state=[]))
    assert emit.shape == (3, B, 2)
    assert loop_state == [1, 2, 3]
    assert not emit[1:, 3].any() and not emit[:, 1].any()


def test_emit_template_and_zero_steps():
    cell = rk.BasicRNNCell(2, input_size=D)
    x = torch.randn(T, B, D)
    emit, state, _ = rk.raw_rnn(cell, _reader(cell, x, torch.zeros(B, dtype=torch.long)))
    assert emit.shape == (0, B, 2) and not state.any()

    def loop_fn(time, out, state, loop):
        if out is None:
            return (
                torch.zeros(B, dtype=torch.bool),
                x[0],
                cell.zero_state(B),
                (torch.zeros(5), 1),
                None,
            )
        done = torch.full((B,), time >= 2)
        return done, x[time], state, (torch.ones(B, 5) * time, out[:, :1]), None

    (a, b), _, _ = rk.raw_rnn(cell, loop_fn)
    assert a.shape == (2, B, 5) and b.shape == (2, B, 1) and a[1, 0, 0] == 2


def test_inconsistent_loop_fn_results_are_clear_errors():
    cell = rk.LSTMCell(2, input_size=D)
    x = torch.randn(T, B, D)

    def bad(change):
        def loop_fn(time, out, state, loop):
            if out is None:
                return torch.zeros(B, dtype=torch.bool), x[0], cell.zero_state(B), None, None
            result = [torch.zeros(B, dtype=torch.bool), x[time], state, out, None]
            result[change[0]] = change[1](result[change[0]])
            return tuple(result)

        return loop_fn

    with pytest.raises(
        ValueError, match=r"raw_rnn: loop_fn's next_cell_state at time 1: expected a structure like"
    ):
        rk.raw_rnn(cell, bad((2, lambda s: s.h)))
    with pytest.raises(
        ValueError,
        match=r"raw_rnn: expected loop_fn's next_input at time 1 of shape \(4, 3\), got "
        r"\(4, 2\)",
    ):
        rk.raw_rnn(cell, bad((1, lambda i: i[:, :2])))
    with pytest.raises(
        ValueError,
        match=r"raw_rnn: loop_fn's emit_output at time 1: expected a structure like leaf",
    ):
        rk.raw_rnn(cell, bad((3, lambda o: (o, o))))
    with pytest.raises(
        TypeError,
        match=r"raw_rnn: expected loop_fn to return finished as a bool tensor \[B\] at "
        r"time 1, got a torch.int64 tensor",
    ):
        rk.raw_rnn(cell, bad((0, lambda f: f.long())))
    with pytest.raises(
        ValueError, match=r"raw_rnn: expected loop_fn's finished of shape \[B\] = \(4,\) at time 1"
    ):
        rk.raw_rnn(cell, bad((0, lambda f: f[:2])))
    with pytest.raises(
        TypeError,
        match="raw_rnn: expected loop_fn to return .finished, next_input, next_cell_state, "
        "emit_output, next_loop_state. at time 0, got a tuple of length 3",
    ):
        rk.raw_rnn(cell, lambda *a: (1, 2, 3))
    with pytest.raises(
        ValueError, match="raw_rnn: expected loop_fn to return the initial cell state at time 0"
    ):
        rk.raw_rnn(cell, lambda *a: (torch.zeros(B, dtype=torch.bool), x[0], None, None, None))
    with pytest.raises(TypeError, match="raw_rnn: expected loop_fn to be callable, got int 3"):
        rk.raw_rnn(cell, 3)
    with pytest.raises(TypeError, match="raw_rnn: expected cell to be an rnnkit RNNCell, got str"):
        rk.raw_rnn("cell", lambda *a: None)


def test_greedy_decoder_example_runs():
    import runpy
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "raw_rnn_greedy_decoder.py"
    result = runpy.run_path(str(example), run_name="not_main")
    tokens, lengths = result["greedy_decode"](batch=4, max_len=10, seed=9)
    assert tokens.shape[0] <= 10 and tokens.shape[1] == 4 and lengths.shape == (4,)
    assert int(lengths.max()) == tokens.shape[0]
    assert (lengths < 10).any()  # some rows stopped early, at their end token
    for b in range(4):  # after a row emits EOS it emits nothing (zeros) any more
        n = int(lengths[b])
        assert (tokens[n:, b] == 0).all()
        if n < 10:
            assert tokens[n - 1, b] == 2  # EOS
