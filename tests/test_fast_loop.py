"""The step loop's fast path (input matmul for all steps at once, checks done once) against plain per-step cell
calls (``static_rnn`` calls the cell itself each step): outputs, final states and gradients, float64; and cells
without a fast path (wrappers written elsewhere, hooked cells) still run through their own ``__call__``."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.cells import LayerCell
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


class _LeakyCell(LayerCell):
    """A new cell written to the contract alone: parameters, input_projection, recurrent_step (no forward)."""

    tf_name = "leaky_cell"
    _tf_params = (("kernel", "kernel"), ("bias", "bias"))

    def __init__(self, num_units, **kwargs):
        super().__init__(num_units, **kwargs)
        self._finish_init()

    @property
    def state_size(self):
        return self.num_units

    @property
    def output_size(self):
        return self.num_units

    def _create_parameters(self, input_size, dtype=None, device=None):
        h = self.num_units
        self.kernel = self._new_parameter(input_size + h, h, init=None, dtype=dtype, device=device)
        self.bias = self._new_parameter(h, init=torch.nn.init.ones_, dtype=dtype, device=device)

    def input_projection(self, inputs):
        return inputs @ self.kernel[: self.input_size] + self.bias

    def recurrent_step(self, projected, state):
        new_h = 0.5 * state + torch.tanh(projected + state @ self._recurrent_rows("kernel"))
        return new_h, new_h


def test_a_cell_written_to_the_contract_runs_everywhere():
    cell = _LeakyCell(4)  # lazy: the unroll's check_inputs builds it
    x = torch.randn(B, T, D, dtype=torch.float64)
    out, final = rk.dynamic_rnn(cell, x.float(), sequence_length=LENGTHS)
    assert cell.built and out.shape == (B, T, 4)
    cell = cell.double()
    fast_values, fast_grads = _grads(cell, x, LENGTHS, fast=True)
    plain_values, plain_grads = _grads(cell, x, LENGTHS, fast=False)
    for a, b in zip(fast_values + list(fast_grads), plain_values + list(plain_grads)):
        torch.testing.assert_close(a, b, **TOL)
    assert list(rk.tf_variables(cell)) == ["rnn/leaky_cell/kernel", "rnn/leaky_cell/bias"]
    assert rk.fused.explain(cell).startswith("step loop: _LeakyCell has no fused form")


def test_a_layer_cell_without_its_formula_says_what_is_missing():
    class Empty(_LeakyCell):
        input_projection = rk.RNNCell.input_projection
        recurrent_step = rk.RNNCell.recurrent_step

    with pytest.raises(
        NotImplementedError, match="implements input_projection and recurrent_step, or forward"
    ):
        Empty(3, input_size=D)(torch.zeros(B, D), torch.zeros(B, 3))
