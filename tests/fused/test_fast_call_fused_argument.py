"""NOTE [fast fused call] and the ``fused`` argument: a remembered entry serves a call only where the general path,
asked with that call's ``fused``, would choose what the entry holds (``fast._serves``). ``fused=False`` calls on
a cell with a sequence kernel take the fast call too; ``fused=True`` on a cell torch's kernels cannot compute
raises, however many plain calls came before; a kernel chosen by ``fused=False`` on a fusable cell never stands
in for auto's fused plan."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.fused import fast
from rnnkit.unroll import dynamic
from tests.fused._counting import count_calls
from tests.kernels._native import needs_native

torch.set_num_threads(1)


@pytest.mark.parametrize("first", [None, False])
def test_fused_true_on_a_cell_without_a_fused_form_raises_after_plain_calls(first):
    cell = rk.GRUCell(4, input_size=5)
    x = torch.randn(2, 3, 5)
    rk.dynamic_rnn(cell, x, fused=first)
    rk.dynamic_rnn(cell, x, fused=first)
    with pytest.raises(
        ValueError, match="dynamic_rnn: fused=True, but torch's fused kernels cannot run"
    ):
        rk.dynamic_rnn(cell, x, fused=True)


@needs_native
@pytest.mark.parametrize("first", [None, False])
def test_fused_false_calls_on_a_kernel_cell_are_fast_and_exact(first, monkeypatch):
    choices = count_calls(monkeypatch, dynamic, "kernel_for")
    torch.manual_seed(0)
    cell = rk.GRUCell(6, input_size=3)
    x = torch.randn(4, 5, 3, requires_grad=True)
    results = []
    for fused in (first, False, False):
        out, state = rk.dynamic_rnn(cell, x, fused=fused)
        grads = torch.autograd.grad(
            (out * out.detach().cos()).sum() + state.sum(), [x, *cell.parameters()]
        )
        results.append([out, state, *grads])
    assert choices[0] == 1  # chosen once, by the first call
    for later in results[1:]:
        for a, b in zip(results[0], later):
            assert torch.equal(a, b)


@needs_native
def test_a_kernel_chosen_by_fused_false_does_not_stand_in_for_autos_plan(monkeypatch):
    choices = count_calls(monkeypatch, dynamic, "kernel_for")
    fast_fused = count_calls(monkeypatch, fast, "kernel_call")
    torch.manual_seed(1)
    cell = rk.LSTMCell(6, input_size=3)  # torch's kernels compute it, and so does a sequence kernel
    x = torch.randn(4, 5, 3)
    auto = rk.dynamic_rnn(cell, x)[0]  # planned: torch's fused kernel
    unfused = rk.dynamic_rnn(cell, x, fused=False)[0]  # the step loop's choice: the sequence kernel
    rk.dynamic_rnn(cell, x, fused=False)
    assert choices[0] == 1 and fast_fused[0] == 0
    again = rk.dynamic_rnn(cell, x)[0]  # auto plans torch's kernel again, and remembers it
    assert choices[0] == 1 and fast_fused[0] == 0
    rk.dynamic_rnn(cell, x)
    assert fast_fused[0] == 1
    assert torch.equal(again, auto)
    torch.testing.assert_close(unfused, auto)
