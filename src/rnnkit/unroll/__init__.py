"""Unrolls: run a cell over time (TF1's ``static_rnn`` / ``dynamic_rnn``)."""

from .dynamic import dynamic_rnn
from .static import static_rnn

__all__ = ["dynamic_rnn", "static_rnn"]
