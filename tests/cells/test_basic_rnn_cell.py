"""BasicRNNCell: the cell contract over its registry cases (tests/registry.py: tanh and relu), plus what is its
own: the output is the new state (TF returns ``output, output``). TF's numbers:
tests/tf_fixtures/test_tf_fixtures.py."""

from __future__ import annotations

import torch

import rnnkit as rk
from tests.contract import cases_of
from tests.contract.test_cell_contract import *  # noqa: F403  (the contract checks, over the cases below)

case = cases_of(rk.BasicRNNCell)


def test_output_is_the_new_state():
    torch.manual_seed(0)
    cell = rk.BasicRNNCell(4, input_size=3)
    out, state = cell(torch.randn(2, 3), torch.randn(2, 4))
    assert cell.state_size == cell.output_size == 4
    torch.testing.assert_close(out, state, rtol=0, atol=0)
