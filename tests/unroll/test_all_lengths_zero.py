"""Every row of the batch has ``sequence_length`` 0 (issue 14 item 1): TF still creates the cell's variables and
gives their gradients (zeros); the outputs are zeros and the final state is the initial state."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk

B, T, D, H = 3, 4, 2, 5
ZEROS = [0, 0, 0]

CELLS = {
    "lstm": lambda: rk.LSTMCell(H),
    "basic_lstm": lambda: rk.BasicLSTMCell(H),
    "gru": lambda: rk.GRUCell(H),
    "peephole_lstm": lambda: rk.LSTMCell(H, use_peepholes=True),
    "stack": lambda: rk.MultiRNNCell([rk.GRUCell(H), rk.BasicLSTMCell(H)]),
    "wrapped": lambda: rk.DropoutWrapper(rk.LSTMCell(H), output_keep_prob=0.5),
}


def _inputs():
    return torch.randn(B, T, D, generator=torch.Generator().manual_seed(0)).requires_grad_(True)


def _check_zero_run(cells, outputs, state, x):
    assert all(cell.built for cell in cells)
    for leaf in rk.nest.flatten(outputs):
        assert not leaf.any()
    for leaf in rk.nest.flatten(state):
        assert not leaf.any()  # the (zero) initial state, unchanged
    loss = sum(o.sum() for o in rk.nest.flatten(outputs)) + sum(
        s.square().sum() for s in rk.nest.flatten(state)
    )
    loss.backward()  # TF: zero gradients, not an error
    for cell in cells:
        for name, param in rk.tf_variables(cell).items():
            assert param.grad is not None and not param.grad.any(), name
    assert x.grad is None or not x.grad.any()


@pytest.mark.parametrize("fused", [None, False], ids=["auto", "loop"])
@pytest.mark.parametrize("name", list(CELLS))
def test_dynamic_rnn(name, fused):
    cell, x = CELLS[name](), _inputs()
    out, state = rk.dynamic_rnn(cell, x, sequence_length=ZEROS, fused=fused)
    _check_zero_run([cell], out, state, x)


@pytest.mark.parametrize("name", list(CELLS))
def test_static_rnn_builds_the_cell(name):
    cell, x = CELLS[name](), _inputs()
    outs, state = rk.static_rnn(cell, list(x.unbind(1)), sequence_length=ZEROS)
    _check_zero_run([cell], outs, state, x)


@pytest.mark.parametrize("swap_memory", [False, True], ids=["plain", "swap_memory"])
@pytest.mark.parametrize("name", list(CELLS))
def test_bidirectional_dynamic_rnn(name, swap_memory):
    fw, bw, x = CELLS[name](), CELLS[name](), _inputs()
    (out_fw, out_bw), (s_fw, s_bw) = rk.bidirectional_dynamic_rnn(
        fw, bw, x, sequence_length=ZEROS, swap_memory=swap_memory
    )
    _check_zero_run([fw, bw], (out_fw, out_bw), (s_fw, s_bw), x)


def test_a_later_chunk_of_ended_rows_makes_no_cell_call():
    """Only a sequence with no step at all runs the masked step; rows ending early cost nothing more."""
    calls = []
    cell = rk.GRUCell(H, input_size=D)
    cell.register_forward_pre_hook(lambda *args: calls.append(1))
    rk.dynamic_rnn(cell, torch.randn(B, 9, D), sequence_length=[2, 1, 0], swap_memory=True)
    assert len(calls) == 2
