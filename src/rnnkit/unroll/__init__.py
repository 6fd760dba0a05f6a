"""Unrolls: run a cell over time (TF1's ``static_rnn`` / ``dynamic_rnn`` and their bidirectional and raw forms)."""

from .bidirectional import (
    bidirectional_dynamic_rnn,
    reverse_sequence,
    stack_bidirectional_dynamic_rnn,
    stack_bidirectional_rnn,
    static_bidirectional_rnn,
)
from .dynamic import dynamic_rnn
from .numerics import check_numerics
from .raw_rnn import raw_rnn
from .static import static_rnn

#: TF 0.x's names (``tf.nn.rnn``, ``tf.nn.bidirectional_rnn``) of the static unrolls, so old code ports by rename.
rnn = static_rnn
bidirectional_rnn = static_bidirectional_rnn

__all__ = [
    "rnn",
    "bidirectional_rnn",
    "dynamic_rnn",
    "static_rnn",
    "bidirectional_dynamic_rnn",
    "static_bidirectional_rnn",
    "stack_bidirectional_dynamic_rnn",
    "stack_bidirectional_rnn",
    "reverse_sequence",
    "raw_rnn",
    "check_numerics",
]
