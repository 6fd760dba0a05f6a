"""The step loop's fast path (input matmul for all steps at once, checks done once) against plain per-step cell
calls (``static_rnn`` calls the cell itself each step): outputs, final states and gradients, float64; and cells
without a fast path (wrappers written elsewhere, hooked cells) still run through their own ``__call__``."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from tests.registry import CASE_IDS, CASES, D

B, T = 3, 5
LENGTHS = [5, 0, 2]
TOL = {"rtol": 1e-11, "atol": 1e-12}


def _grads(cell, x, lengths, fast):
    x = x.clone().requires_grad_(True)
    if fast:
        out, final = rk.dynamic_rnn(cell, x, sequence_length=lengths, fused=False)
    else:
        outs, final = rk.static_rnn(cell, list(x.unbind(1)), sequence_length=lengths)
        out = torch.stack(outs, 1)
    leaves = [out, *rk.nest.flatten(final)]
    gen = torch.Generator().manual_seed(3)
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in leaves)
    return [t.detach() for t in leaves], torch.autograd.grad(loss, [x, *cell.parameters()])


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_fast_loop_equals_per_step_calls(case, lengths):
    cell = case.make_cell().double()
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fast_values, fast_grads = _grads(cell, x, lengths, fast=True)
    plain_values, plain_grads = _grads(cell, x, lengths, fast=False)
    for a, b in zip(fast_values + list(fast_grads), plain_values + list(plain_grads)):
        torch.testing.assert_close(a, b, **TOL)


class _Doubler(rk.RNNCell):
    """A wrapper as others write them: no fast path of its own, so every step calls it."""

    def __init__(self, cell):
        super().__init__()
        self.cell, self.calls = cell, 0

    @property
    def state_size(self):
        return self.cell.state_size

    @property
    def output_size(self):
        return self.cell.output_size

    def forward(self, inputs, state):
        self.calls += 1
        out, new_state = self.cell(inputs, state)
        return 2 * out, new_state


def test_cells_without_fast_path_are_called_each_step():
    inner = rk.GRUCell(4, input_size=D)
    wrapped = _Doubler(inner)
    stack = rk.MultiRNNCell([wrapped, rk.BasicLSTMCell(3, input_size=4)])
    x = torch.randn(B, T, D)
    out, _ = rk.dynamic_rnn(stack, x, fused=False)
    assert wrapped.calls == T
    want, _ = rk.static_rnn(stack, list(x.unbind(1)))
    torch.testing.assert_close(out, torch.stack(want, 1), rtol=1e-6, atol=1e-6)


def test_hooks_see_every_step_in_the_loop():
    cell = rk.LSTMCell(4, use_peepholes=True, input_size=D)
    seen = []
    cell.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    rk.dynamic_rnn(rk.MultiRNNCell([rk.BasicRNNCell(D, input_size=D), cell]), torch.zeros(B, T, D))
    assert seen == [torch.Size([B, D])] * T


def test_fast_loop_checks_inputs_once_with_the_cells_messages():
    cell = rk.MultiRNNCell([rk.GRUCell(4, input_size=D), rk.GRUCell(4, input_size=5)])
    with pytest.raises(
        ValueError, match="GRUCell: built for input_size=5, got inputs.shape\\[-1\\]=4"
    ):
        rk.dynamic_rnn(cell, torch.zeros(B, T, D))
    with pytest.raises(TypeError, match="GRUCell: expected torch.float32 inputs"):
        rk.dynamic_rnn(rk.GRUCell(4, input_size=D), torch.zeros(B, T, D, dtype=torch.float64))
