"""Bad input → one clear error, for the block cells, LSTMBlockFusedCell, the cuDNN layers and their compatible
cells (issue 16). ``docs/errors.md`` carries the table (``tools/errors_table.py``)."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from tests._errors import Case, assert_in_doc, check, table

C = Case
H, D, T, B = 4, 3, 5, 2


def fused_cell():
    return rk.LSTMBlockFusedCell(H, input_size=D)


def cudnn(**kw):
    return rk.CudnnLSTM(2, H, input_size=D, **kw)


X = torch.zeros(T, B, D)

# fmt: off
CASES = [
    C("block-forget_bias-str", "LSTMBlockCell", "forget_bias", "not a number",
      lambda: rk.LSTMBlockCell(H, forget_bias="1"), TypeError,
      "LSTMBlockCell: expected forget_bias to be a float, got '1'"),
    C("block-cell_clip-nan", "LSTMBlockCell", "cell_clip", "NaN or not a number",
      lambda: rk.LSTMBlockCell(H, cell_clip=float("nan")), TypeError,
      "LSTMBlockCell: expected cell_clip to be a number or None, got nan"),
    C("block-use_peephole-int", "LSTMBlockCell", "use_peephole", "not a bool",
      lambda: rk.LSTMBlockCell(H, use_peephole=1), TypeError,
      "LSTMBlockCell: expected use_peephole to be a bool, got 1"),
    C("block-inputs-rank3", "LSTMBlockCell", "inputs", "rank 3 (a sequence)",
      lambda: rk.LSTMBlockCell(H, input_size=D)(X, rk.LSTMBlockCell(H).zero_state(B)), ValueError,
      "LSTMBlockCell: expected inputs of rank 2 [B, D], got shape (5, 2, 3)"),
    C("gru-block-both-sizes", "GRUBlockCell / GRUBlockCellV2", "num_units, cell_size", "both or neither given",
      lambda: rk.GRUBlockCell(H, cell_size=H), ValueError,
      "GRUBlockCell: expected exactly one of num_units or cell_size, got num_units=4, cell_size=4"),
    C("gru-block-v2-neither", "GRUBlockCell / GRUBlockCellV2", "num_units, cell_size", "both or neither given",
      lambda: rk.GRUBlockCellV2(), ValueError,
      "GRUBlockCellV2: expected exactly one of num_units or cell_size, got num_units=None, cell_size=None"),
    C("cudnn-compatible-gru-units", "CudnnCompatibleGRUCell / CudnnCompatibleLSTMCell", "num_units", "0",
      lambda: rk.CudnnCompatibleGRUCell(0), ValueError,
      "CudnnCompatibleGRUCell: expected num_units to be a positive int, got 0"),
    C("cudnn-compatible-lstm-depth", "CudnnCompatibleGRUCell / CudnnCompatibleLSTMCell", "inputs",
      "depth != input_size",
      lambda: rk.CudnnCompatibleLSTMCell(H, input_size=D)(torch.zeros(B, 7), rk.LSTMStateTuple(
          torch.zeros(B, H), torch.zeros(B, H))), ValueError,
      "CudnnCompatibleLSTMCell: built for input_size=3, got inputs.shape[-1]=7"),
    C("fused-num_units", "LSTMBlockFusedCell", "num_units", "0",
      lambda: rk.LSTMBlockFusedCell(0), ValueError,
      "LSTMBlockFusedCell: expected num_units to be a positive int, got 0"),
    C("fused-inputs-rank2", "LSTMBlockFusedCell", "inputs", "not rank 3",
      lambda: fused_cell()(torch.zeros(B, D)), ValueError,
      "LSTMBlockFusedCell: expected time-major inputs of rank 3 [T, B, D], got shape (2, 3)"),
    C("fused-inputs-type", "LSTMBlockFusedCell", "inputs", "not a tensor",
      lambda: fused_cell()("x"), TypeError,
      "LSTMBlockFusedCell: expected inputs to be a [T, B, D] tensor, got str 'x'"),
    C("fused-initial_state-len", "LSTMBlockFusedCell", "initial_state", "not a pair (c, h)",
      lambda: fused_cell()(X, initial_state=(torch.zeros(B, H),)), ValueError,
      "LSTMBlockFusedCell: expected initial_state to be a tuple (c, h), got a tuple of length 1"),
    C("fused-dtype-mismatch", "LSTMBlockFusedCell", "dtype", "not the inputs' dtype",
      lambda: fused_cell()(X, dtype=torch.float64), TypeError,
      "LSTMBlockFusedCell: expected dtype to match the inputs' dtype torch.float32, got torch.float64"),
    C("cudnn-layers-zero", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "num_layers", "0",
      lambda: rk.CudnnGRU(0, H), ValueError, "CudnnGRU: expected num_layers to be a positive int, got 0"),
    C("cudnn-direction", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "direction", "unknown",
      lambda: rk.CudnnRNNTanh(1, H, direction="both"), ValueError,
      "CudnnRNNTanh: expected direction 'unidirectional' or 'bidirectional', got 'both'"),
    C("cudnn-input_mode", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "input_mode", "not linear_input",
      lambda: rk.CudnnRNNRelu(1, H, input_mode="skip_input"), ValueError,
      "CudnnRNNRelu: expected input_mode 'linear_input' (the only mode provided), got 'skip_input'"),
    C("cudnn-dropout", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "dropout", "outside [0, 1]",
      lambda: rk.CudnnLSTM(1, H, dropout=1.5), ValueError,
      "CudnnLSTM: expected dropout to be a number in [0, 1], got 1.5"),
    C("cudnn-inputs-rank", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "inputs", "not rank 3",
      lambda: cudnn()(torch.zeros(B, D)), ValueError,
      "CudnnLSTM: expected inputs of rank 3 [T, B, D], got shape (2, 3)"),
    C("cudnn-inputs-depth", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "inputs", "depth != input_size",
      lambda: cudnn()(torch.zeros(T, B, 7)), ValueError,
      "CudnnLSTM: built for input_size=3, got inputs.shape[-1]=7"),
    C("cudnn-inputs-dtype", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "inputs", "not the parameters' dtype",
      lambda: cudnn()(X.double()), TypeError,
      "CudnnLSTM: expected torch.float32 inputs on cpu (the layer's parameters), got torch.float64 on cpu"),
    C("cudnn-initial_state-list", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "initial_state",
      "not a tuple of the right length",
      lambda: cudnn()(X, initial_state=[torch.zeros(4, B, H)]), TypeError,
      "CudnnLSTM: expected initial_state to be a tuple of 2 tensor(s), got a list of length 1"),
    C("cudnn-initial_state-shape", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "initial_state",
      "wrong shape",
      lambda: cudnn()(X, initial_state=(torch.zeros(1, B, H), torch.zeros(1, B, H))), ValueError,
      "CudnnLSTM: expected initial_state tensors of shape [2, 2, 4] (time-major layout), got [1, 2, 4]"),
    C("cudnn-initial_state-dtype", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "initial_state",
      "not the inputs' dtype",
      lambda: cudnn()(X, initial_state=(torch.zeros(2, B, H, dtype=torch.float64), torch.zeros(2, B, H))),
      TypeError, "CudnnLSTM: expected initial_state tensors of the inputs' dtype and device (torch.float32 on cpu), "
      "got torch.float64 on cpu"),
    C("cudnn-lengths-long", "CudnnLSTM / CudnnGRU / CudnnRNNTanh / CudnnRNNRelu", "sequence_lengths", "> T",
      lambda: cudnn()(X, sequence_lengths=[9, 1]), ValueError,
      "CudnnLSTM: expected sequence_lengths <= the number of time steps (5), got 9"),
    C("cudnn-torch-module", "CudnnLSTM.load_torch_module", "module", "another configuration",
      lambda: rk.CudnnGRU(1, H, input_size=D).load_torch_module(torch.nn.GRU(D, 5)), ValueError,
      "CudnnGRU.load_torch_module: expected a torch.nn.GRU of this layer's configuration, got GRU(3, 5)"),
    C("cudnn-unbuilt-export", "CudnnLSTM.to_torch_module", "self", "not built yet",
      lambda: rk.CudnnLSTM(1, H).to_torch_module(), ValueError,
      "to_torch_module: expected a built layer; pass input_size= or call it once"),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def block_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_block.py")


def test_errors_doc_is_in_sync():
    assert_in_doc(block_table())
