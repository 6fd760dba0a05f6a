"""CudnnCompatibleLSTMCell / CudnnCompatibleGRUCell: TF 1.15's names and defaults, cuDNN's GRU (reset gate after
the recurrent matmul: equal to torch.nn.GRUCell, not to GRUCell), and both on torch's fused kernels."""

from __future__ import annotations

import torch

import rnnkit as rk


def test_gru_is_cudnns_and_torchs_gru():
    torch.manual_seed(0)
    cell = rk.CudnnCompatibleGRUCell(4, input_size=3).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_(0, 0.5)
    torch_cell = torch.nn.GRUCell(3, 4, dtype=torch.float64)
    with torch.no_grad():
        torch_cell.weight_ih.copy_(torch.cat([cell.gates_kernel[:3], cell.input_kernel], 1).t())
        torch_cell.weight_hh.copy_(torch.cat([cell.gates_kernel[3:], cell.hidden_kernel], 1).t())
        torch_cell.bias_ih.copy_(torch.cat([cell.gates_bias, cell.input_bias]))
        torch_cell.bias_hh.copy_(torch.cat([torch.zeros(8, dtype=torch.float64), cell.hidden_bias]))
    x, h = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(cell(x, h)[0], torch_cell(x, h), rtol=1e-12, atol=1e-12)
    assert rk.fused.explain(cell) == "fused: torch._VF.gru(num_layers=1, hidden_size=4)"
    assert torch.all(rk.CudnnCompatibleGRUCell(4, input_size=3).gates_bias == 1)


def test_lstm_is_the_block_cell_without_forget_bias():
    cell = rk.CudnnCompatibleLSTMCell(4, input_size=3)
    assert cell.forget_bias == 0.0 and cell.cell_clip is None and not cell.use_peephole
    assert list(rk.tf_variables(cell, scope=None)) == [
        "cudnn_compatible_lstm_cell/kernel",
        "cudnn_compatible_lstm_cell/bias",
    ]
    assert rk.fused.explain(
        rk.MultiRNNCell([cell, rk.CudnnCompatibleLSTMCell(4, input_size=4)])
    ) == ("fused: torch._VF.lstm(num_layers=2, hidden_size=4)")
