"""The one guard on LSTM state order: TF's ``(c, h)`` rule is kept, but a plain tuple is never read silently.

TF1 reads any 2-tuple given as an LSTM state as ``(c, h)``; ``torch.nn.LSTM`` uses ``(h, c)``. rnnkit keeps TF's
rule (TF code ports unchanged) and warns -- a :class:`StateOrderWarning`, once per calling line (Python's
default warning filter) -- whenever a plain ``tuple`` (not an ``LSTMStateTuple``) stands where an LSTM state
belongs. ``LSTMStateTuple(c=..., h=...)`` says which is which and never warns; ``warnings.simplefilter("error",
rk.StateOrderWarning)`` turns the warning into an error.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import torch

__all__ = ["StateOrderWarning", "warn_plain_lstm_tuples"]


class StateOrderWarning(UserWarning):
    """A plain tuple was given as an LSTM state and read as ``(c, h)`` (TF's order, not torch's ``(h, c)``)."""


# Frames in these directories are rnnkit's or torch's: the warning names the first line outside them (the
# user's call), so that Python's default filter shows it once per calling line.
_INSIDE = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.path.dirname(os.path.abspath(torch.__file__)),
)


def _caller_level() -> int:
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_INSIDE):
        frame, level = frame.f_back, level + 1
    return level


def warn_plain_lstm_tuples(where: str, state_size: Any, state: Any) -> None:
    """Warn for each plain tuple in ``state`` that sits where ``state_size`` has an ``LSTMStateTuple``."""
    from .state import (
        LSTMStateTuple,  # here, not at the top: cells/state.py imports this module
    )

    if isinstance(state_size, LSTMStateTuple):
        if type(state) is tuple:
            warnings.warn(
                f"{where}: a plain tuple given as an LSTM state is read as (c, h), TF's order "
                "(torch.nn.LSTM's is (h, c)); pass rk.LSTMStateTuple(c=..., h=...) to say which is which",
                StateOrderWarning,
                stacklevel=_caller_level(),
            )
        return
    if isinstance(state_size, (tuple, list)) and isinstance(state, (tuple, list)):
        for size, part in zip(state_size, state):
            warn_plain_lstm_tuples(where, size, part)
