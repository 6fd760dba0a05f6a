"""Layers for the PyTorch way in: ``RNN``, ``BidirectionalRNN`` (the unrolls as ``nn.Module``) and
``TrainableInitialState`` (a learned initial state for any cell)."""

from .initial_state import TrainableInitialState
from .rnn import RNN, BidirectionalRNN

__all__ = ["RNN", "BidirectionalRNN", "TrainableInitialState"]
