"""BasicLSTMCell: the cell contract over its registry cases (tests/registry.py: default, forget_bias + relu,
``state_is_tuple=False``), plus what is its own: the output is ``h``, and the concatenated state is exactly
``[c, h]`` of the tuple state. TF's numbers: tests/tf_fixtures/test_tf_fixtures.py."""

from __future__ import annotations

import torch

import rnnkit as rk
from tests.contract import cases_of
from tests.contract.test_cell_contract import *  # noqa: F403  (the contract checks, over the cases below)

case = cases_of(rk.BasicLSTMCell)


def test_concatenated_state_is_c_then_h_of_the_tuple_state():
    torch.manual_seed(0)
    tuple_cell = rk.BasicLSTMCell(4, input_size=3)
    concat_cell = rk.BasicLSTMCell(4, state_is_tuple=False, input_size=3)
    concat_cell.load_state_dict(tuple_cell.state_dict())
    x = torch.randn(2, 5, 3)
    out_t, state_t = rk.dynamic_rnn(tuple_cell, x, sequence_length=[5, 2])
    out_c, state_c = rk.dynamic_rnn(concat_cell, x, sequence_length=[5, 2])
    assert isinstance(state_t, rk.LSTMStateTuple) and state_c.shape == (2, 8)
    torch.testing.assert_close(state_c, torch.cat([state_t.c, state_t.h], 1), rtol=0, atol=0)
    torch.testing.assert_close(out_c, out_t, rtol=0, atol=0)
    torch.testing.assert_close(out_t[0, -1], state_t.h[0], rtol=0, atol=0)  # the output is h
