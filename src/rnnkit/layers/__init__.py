"""Layers: modules called on a whole sequence.

* The PyTorch way in: ``RNN``, ``BidirectionalRNN`` (the unrolls as ``nn.Module``) and ``TrainableInitialState``
  (a learned initial state for any cell).
* TF's fused cells and cuDNN layers: ``LSTMBlockFusedCell`` (``tf.contrib.rnn``) and ``CudnnLSTM``, ``CudnnGRU``,
  ``CudnnRNNTanh``, ``CudnnRNNRelu`` (``tf.contrib.cudnn_rnn``), with TF 1.15's arguments, return structures and
  checkpoint names.
"""

from .cudnn_rnn import CudnnGRU, CudnnLSTM, CudnnRNNRelu, CudnnRNNTanh
from .initial_state import TrainableInitialState
from .lstm_block_fused import LSTMBlockFusedCell
from .rnn import RNN, BidirectionalRNN

__all__ = [
    "RNN",
    "BidirectionalRNN",
    "TrainableInitialState",
    "LSTMBlockFusedCell",
    "CudnnLSTM",
    "CudnnGRU",
    "CudnnRNNTanh",
    "CudnnRNNRelu",
]
