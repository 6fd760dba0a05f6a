"""MultiRNNCell: the cell contract over its registry cases (tests/registry.py, registry_block.py and
registry_contrib.py: mixed, concatenated and wrapped stacks), plus what is its own: each layer feeds the next, the
state is one entry per layer, and the names nest under ``multi_rnn_cell/cell_<i>``."""

from __future__ import annotations

import torch

import rnnkit as rk
from tests.contract import cases_of
from tests.contract.test_cell_contract import *  # noqa: F403  (the contract checks, over the cases below)

case = cases_of(rk.MultiRNNCell)


def test_a_stack_is_its_layers_called_in_turn():
    torch.manual_seed(0)
    lower, upper = rk.GRUCell(4, input_size=3), rk.BasicLSTMCell(2, input_size=4)
    stack = rk.MultiRNNCell([lower, upper])
    assert list(rk.tf_variables(stack)) == [
        "rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel",
        "rnn/multi_rnn_cell/cell_0/gru_cell/gates/bias",
        "rnn/multi_rnn_cell/cell_0/gru_cell/candidate/kernel",
        "rnn/multi_rnn_cell/cell_0/gru_cell/candidate/bias",
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel",
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias",
    ]
    x = torch.randn(2, 3)
    state = stack.zero_state(2, torch.float32)
    assert isinstance(state, tuple) and len(state) == 2
    out, (s0, s1) = stack(x, state)
    mid, want0 = lower(x, state[0])
    want_out, want1 = upper(mid, state[1])
    torch.testing.assert_close(out, want_out, rtol=0, atol=0)
    torch.testing.assert_close(s0, want0, rtol=0, atol=0)
    torch.testing.assert_close(s1.c, want1.c, rtol=0, atol=0)
