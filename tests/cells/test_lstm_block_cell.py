"""LSTMBlockCell: TF 1.15's defaults and initialisers, the clip rule (no clip for None or <= 0; the gradient
passes through the clip, as TF's gradient kernel) and the fused path (numbers:
tests/tf_fixtures/test_tf_fixtures_block.py)."""

from __future__ import annotations

import math

import torch

import rnnkit as rk
from rnnkit.kernels import native
from tests.contract import cases_of
from tests.contract.test_cell_contract import *  # noqa: F403  (the contract checks, over `case` below)

# the registry cases of this file's cells, for the contract checks imported above
case = cases_of(rk.LSTMBlockCell)


def test_defaults_initialisers_and_names():
    torch.manual_seed(0)
    cell = rk.LSTMBlockCell(40, use_peephole=True, input_size=10)
    assert cell.forget_bias == 1.0 and cell.cell_clip is None and cell.tf_name == "lstm_cell"
    assert cell.kernel.abs().max() <= math.sqrt(6 / (50 + 160)) and torch.all(cell.bias == 0)
    assert cell.w_i_diag.abs().max() <= math.sqrt(6 / 80) and cell.w_i_diag.abs().max() > 0
    assert list(rk.tf_variables(cell))[2:] == [
        "rnn/lstm_cell/w_i_diag",
        "rnn/lstm_cell/w_f_diag",
        "rnn/lstm_cell/w_o_diag",
    ]
    assert rk.LSTMBlockCell(3, cell_clip=-1.0).cell_clip is None  # TF's "-1: no clip"
    assert rk.LSTMBlockCell(3, cell_clip=0).cell_clip is None


def test_clip_gradient_passes_through_unchanged():
    cell = rk.LSTMBlockCell(3, cell_clip=0.01, input_size=2).double()
    x = torch.randn(4, 2, dtype=torch.float64)
    c = torch.full((4, 3), 5.0, dtype=torch.float64, requires_grad=True)
    h = torch.zeros(4, 3, dtype=torch.float64)
    _, (new_c, _) = cell(x, rk.LSTMStateTuple(c, h))
    assert new_c.abs().max() <= 0.01
    (grad,) = torch.autograd.grad(new_c.sum(), c)
    f = torch.sigmoid(cell.input_projection(x)[:, 6:9] + h @ cell.kernel[2:, 6:9])
    torch.testing.assert_close(grad, f)  # d c'/d c = f, as if unclipped (a clamp would give 0)


def test_fused_path_when_exact_and_why_not_otherwise():
    torch.manual_seed(1)
    cell = rk.LSTMBlockCell(5, forget_bias=0.3, input_size=3).double()
    assert rk.fused.explain(cell) == "fused: torch._VF.lstm(num_layers=1, hidden_size=5)"
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    fused, fs = rk.dynamic_rnn(cell, x, sequence_length=[6, 2], fused=True)
    loop, ls = rk.dynamic_rnn(cell, x, sequence_length=[6, 2], fused=False)
    torch.testing.assert_close(fused, loop, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fs.c, ls.c, rtol=1e-12, atol=1e-12)
    why = rk.fused.explain(rk.LSTMBlockCell(5, cell_clip=1.0))
    assert "LSTMBlockCell uses cell_clip, which torch's fused LSTM lacks" in why
    # not torch's fused kernel: the native sequence kernel (rnnkit.kernels) where it can run
    if native.library() is not None:
        assert why.startswith("step loop as one sequence kernel, kernels.peephole_lstm_sequence")
    else:  # (RNNKIT_NATIVE=0, no compiler): the step loop, and why
        assert "no sequence kernel: the native loops are not available" in why
