"""Named state tuples.

NOTE [LSTM state order]: ``LSTMStateTuple`` is ``(c, h)`` as in TF1; ``torch.nn.LSTM`` uses ``(h, c)``.
Only the fused path (``rnnkit.fused``) converts between the two.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

__all__ = ["LSTMStateTuple"]


class LSTMStateTuple(NamedTuple):
    """The state of an LSTM cell: ``c`` is the memory cell ``[B, H]``, ``h`` the output ``[B, H]`` (or ``[B, P]``
    with a projection)."""

    # Tensors in a state; the same tuple holds the sizes of ``state_size`` (ints) and the flags of a dropout
    # state filter (bools), as TF's LSTMStateTuple does, so the fields are typed Any.
    c: Any
    h: Any

    @property
    def dtype(self) -> torch.dtype:
        """The common dtype of ``c`` and ``h`` (TF's LSTMStateTuple.dtype); TypeError if they differ."""
        if self.c.dtype != self.h.dtype:
            raise TypeError(
                f"LSTMStateTuple.dtype: expected c and h of one dtype, got {self.c.dtype} and {self.h.dtype}"
            )
        return self.c.dtype
