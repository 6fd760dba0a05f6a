"""``rk.nn``: the RNN part of ``tf.nn`` under TF's spelling, so ``tf.nn.X`` ports as ``rk.nn.X`` (re-exports only).

``rk.nn.rnn_cell`` is ``tf.nn.rnn_cell``; ``rk.nn.rnn`` / ``rk.nn.bidirectional_rnn`` are TF 0.x's names of
``static_rnn`` / ``static_bidirectional_rnn``.
"""

from ..unroll import (
    bidirectional_dynamic_rnn,
    bidirectional_rnn,
    dynamic_rnn,
    raw_rnn,
    rnn,
    static_bidirectional_rnn,
    static_rnn,
)
from . import rnn_cell

__all__ = [
    "rnn_cell",
    "dynamic_rnn",
    "static_rnn",
    "bidirectional_dynamic_rnn",
    "static_bidirectional_rnn",
    "raw_rnn",
    "rnn",
    "bidirectional_rnn",
]
