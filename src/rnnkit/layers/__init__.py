"""Sequence layers: modules called on a whole ``[T, B, D]`` sequence, as TF's fused cells and cuDNN layers were.

``LSTMBlockFusedCell`` (``tf.contrib.rnn``) and ``CudnnLSTM``, ``CudnnGRU``, ``CudnnRNNTanh``, ``CudnnRNNRelu``
(``tf.contrib.cudnn_rnn``), with TF 1.15's arguments, return structures and checkpoint names.
"""

from .cudnn_rnn import CudnnGRU, CudnnLSTM, CudnnRNNRelu, CudnnRNNTanh
from .lstm_block_fused import LSTMBlockFusedCell

__all__ = ["LSTMBlockFusedCell", "CudnnLSTM", "CudnnGRU", "CudnnRNNTanh", "CudnnRNNRelu"]
