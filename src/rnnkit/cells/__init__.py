"""TF1 RNN cells on PyTorch: the contract (``RNNCell``), the cells and ``MultiRNNCell``."""

from .base import LayerCell, RNNCell
from .basic_rnn import BasicRNNCell
from .gru import GRUCell
from .lstm import BasicLSTMCell, LSTMCell
from .multi import MultiRNNCell
from .state import LSTMStateTuple

__all__ = [
    "RNNCell",
    "LayerCell",
    "BasicRNNCell",
    "GRUCell",
    "BasicLSTMCell",
    "LSTMCell",
    "MultiRNNCell",
    "LSTMStateTuple",
]
