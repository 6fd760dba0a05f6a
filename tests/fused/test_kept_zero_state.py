"""NOTE [kept zero state] (fused/fast.py): the fast call keeps a fused plan's zero ``h0`` / ``c0`` per batch size
and dtype. It must stay zero whatever the caller does with the results, serve only its own batch size and dtype,
be a normal tensor when first made under ``torch.inference_mode`` (a later training call saves it for backward),
and not grow without bound."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.cells.base import REMEMBERED_PLAN
from rnnkit.fused import fast

torch.set_num_threads(1)

D, H = 3, 5


def _planned(cell: rk.RNNCell, dtype=torch.float32) -> rk.RNNCell:
    torch.manual_seed(0)
    cell = cell.to(dtype)
    with torch.no_grad():
        x = torch.randn(2, 4, D, dtype=dtype)
        rk.dynamic_rnn(cell, x)  # builds the cell
        rk.dynamic_rnn(cell, x)  # plans the built cell: the next plain call is fast
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    return cell


def _kept(cell: rk.RNNCell) -> dict:
    return cell.__dict__[REMEMBERED_PLAN].zeros


def _general(cell: rk.RNNCell, x: torch.Tensor):
    """The general path's call (an initial state keeps it off the fast call)."""
    return rk.dynamic_rnn(cell, x, initial_state=cell.zero_state(x.shape[0], x.dtype))


@pytest.mark.parametrize(
    "make",
    [lambda: rk.BasicLSTMCell(H), lambda: rk.CudnnCompatibleGRUCell(H), lambda: rk.BasicRNNCell(H)],
)
def test_one_zero_state_per_batch_and_dtype_serves_every_call_and_stays_zero(make):
    cell = _planned(make())
    assert cell.__dict__[REMEMBERED_PLAN].plan is not None  # a fused plan, not a sequence kernel
    for batch in (4, 2, 4):
        x = torch.randn(batch, 6, D, requires_grad=True)
        out, state = rk.dynamic_rnn(cell, x)
        want_out, want_state = _general(cell, x)
        assert torch.equal(out, want_out)
        for got, want in zip(rk.nest.flatten(state), rk.nest.flatten(want_state)):
            assert torch.equal(got, want)
        (out.sum() + sum(t.sum() for t in rk.nest.flatten(state))).backward()
        with torch.no_grad():  # what a caller may do to what it got back
            out.add_(1.0)
            for t in rk.nest.flatten(state):
                t.mul_(3.0).add_(1.0)
    kept = _kept(cell)
    assert sorted(kept) == [(2, torch.float32), (4, torch.float32)]
    for (batch, _), zero in kept.items():
        assert zero.shape == (1, batch, H) and not zero.any()


def test_a_zero_state_first_made_in_inference_mode_serves_a_training_call():
    cell = _planned(rk.BasicLSTMCell(H))
    x = torch.randn(3, 4, D)
    with torch.inference_mode():
        rk.dynamic_rnn(cell, x)
    assert not _kept(cell)[(3, torch.float32)].is_inference()
    out, state = rk.dynamic_rnn(cell, x)  # a recording call saves h0 / c0 for backward
    (out.sum() + state.c.sum()).backward()
    loop_out, _ = rk.dynamic_rnn(cell, x, fused=False)
    torch.testing.assert_close(out, loop_out)
    assert cell.kernel.grad is not None


def test_each_dtype_gets_its_own_zero_state():
    cell = _planned(rk.BasicLSTMCell(H))
    with torch.no_grad():
        rk.dynamic_rnn(cell, torch.randn(2, 4, D))
        cell.double()
        x = torch.randn(2, 4, D, dtype=torch.float64)
        out, _ = rk.dynamic_rnn(cell, x)
        rk.dynamic_rnn(cell, x)
        want, _ = _general(cell, x)
    assert torch.equal(out, want)
    assert _kept(cell)[(2, torch.float64)].dtype == torch.float64


def test_batches_of_many_sizes_keep_a_bounded_number():
    cell = _planned(rk.BasicLSTMCell(H))
    with torch.no_grad():
        for batch in range(1, 3 * fast._KEPT_ZEROS):
            out, _ = rk.dynamic_rnn(cell, torch.randn(batch, 2, D))
            assert out.shape == (batch, 2, H)
            assert len(_kept(cell)) <= fast._KEPT_ZEROS
