"""TF 1.15 ``tf.contrib.rnn`` cells and wrappers beyond the core ones, with TF's math, variable names and defaults.

Grouped by family: ``simple`` (single-state RNNs), ``lstm_like`` (NAS, G-LSTM), ``ind`` (IndRNN, IndyGRU, IndyLSTM), ``norm_lstm`` (the
layer-normalised LSTMs), ``phased``, ``conv_lstm``, ``attention`` and ``wrappers``. ``__all__`` names the cells and
wrappers only (the one list that ``rnnkit.cells``, ``rk.contrib.rnn`` and ``rk`` re-export); ``SpatialShape``, the type
of ``ConvLSTMCell``'s state-size leaves, is ``rnnkit.cells.contrib.SpatialShape``.
"""

from .attention import AttentionCellWrapper
from .conv_lstm import Conv1DLSTMCell, Conv2DLSTMCell, Conv3DLSTMCell, ConvLSTMCell
from .conv_lstm import SpatialShape as SpatialShape  # a type, not a cell: outside __all__
from .ind import IndRNNCell, IndyGRUCell, IndyLSTMCell
from .lstm_like import GLSTMCell, NASCell
from .norm_lstm import CoupledInputForgetGateLSTMCell, LayerNormLSTMCell
from .phased import PhasedLSTMCell
from .simple import IntersectionRNNCell, SRUCell, UGRNNCell
from .wrappers import HighwayWrapper

__all__ = [
    "NASCell",
    "UGRNNCell",
    "IntersectionRNNCell",
    "CoupledInputForgetGateLSTMCell",
    "GLSTMCell",
    "LayerNormLSTMCell",
    "IndRNNCell",
    "IndyGRUCell",
    "IndyLSTMCell",
    "SRUCell",
    "PhasedLSTMCell",
    "ConvLSTMCell",
    "Conv1DLSTMCell",
    "Conv2DLSTMCell",
    "Conv3DLSTMCell",
    "AttentionCellWrapper",
    "HighwayWrapper",
]
