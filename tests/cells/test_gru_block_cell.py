"""GRUBlockCell / GRUBlockCellV2: GRUCell's numbers under TF 1.15's block names (w_ru, b_ru, w_c, b_c; V2: GRUCell's)
and the deprecated ``cell_size`` spelling (TF's kernels: tests/test_tf_fixtures_block.py)."""

from __future__ import annotations

import torch

import rnnkit as rk


def test_same_numbers_as_gru_cell_under_block_names():
    torch.manual_seed(0)
    gru = rk.GRUCell(4, input_size=3)
    block = rk.GRUBlockCell(cell_size=4, input_size=3)
    v2 = rk.GRUBlockCellV2(4, input_size=3)
    assert list(rk.tf_variables(block)) == [
        "rnn/gru_cell/w_ru",
        "rnn/gru_cell/b_ru",
        "rnn/gru_cell/w_c",
        "rnn/gru_cell/b_c",
    ]
    assert list(rk.tf_variables(v2)) == list(rk.tf_variables(gru))
    assert torch.all(block.gates_bias == 1) and torch.all(block.candidate_bias == 0)
    values = [v.detach() for v in rk.tf_variables(gru).values()]
    for cell in (block, v2):
        rk.load_tf_variables(cell, dict(zip(rk.tf_variables(cell), values)))
    x = torch.randn(2, 5, 3)
    want, _ = rk.dynamic_rnn(gru, x)
    for cell in (block, v2):
        got, _ = rk.dynamic_rnn(cell, x)
        torch.testing.assert_close(got, want, rtol=0, atol=0)
