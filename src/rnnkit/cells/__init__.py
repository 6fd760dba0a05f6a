"""TF1 RNN cells on PyTorch: the contract (``RNNCell``), the cells and ``MultiRNNCell``."""

from . import contrib, wrappers
from .base import LayerCell, RNNCell
from .basic_rnn import BasicRNNCell
from .block import GRUBlockCell, GRUBlockCellV2, LSTMBlockCell
from .contrib import *  # noqa: F403  (the contrib cells; their names live once, in contrib.__all__)
from .cudnn_compatible import CudnnCompatibleGRUCell, CudnnCompatibleLSTMCell
from .gru import GRUCell
from .hooks import begin_sequence
from .layer_norm_lstm import LayerNormBasicLSTMCell
from .lstm import BasicLSTMCell, LSTMCell
from .multi import MultiRNNCell
from .state import LSTMStateTuple
from .state_order import StateOrderWarning
from .wrappers import *  # noqa: F403  (the wrappers; their names live once, in wrappers.__all__)

__all__ = [
    "RNNCell",
    "LayerCell",
    "BasicRNNCell",
    "GRUCell",
    "BasicLSTMCell",
    "LSTMCell",
    "MultiRNNCell",
    "LSTMStateTuple",
    "StateOrderWarning",
    "LayerNormBasicLSTMCell",
    "LSTMBlockCell",
    "GRUBlockCell",
    "GRUBlockCellV2",
    "CudnnCompatibleLSTMCell",
    "CudnnCompatibleGRUCell",
    "begin_sequence",
    *wrappers.__all__,
    *contrib.__all__,
]
