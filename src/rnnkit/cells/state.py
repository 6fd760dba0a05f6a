"""Named state tuples.

NOTE [LSTM state order]: ``LSTMStateTuple`` is ``(c, h)`` as in TF1; ``torch.nn.LSTM`` uses ``(h, c)``.
Only the fused path (``rnnkit.fused``) converts between the two.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["LSTMStateTuple"]


class LSTMStateTuple(NamedTuple):
    """The state of an LSTM cell: ``c`` is the memory cell ``[B, H]``, ``h`` the output ``[B, H]`` (or ``[B, P]``
    with a projection)."""

    c: torch.Tensor
    h: torch.Tensor

    @property
    def dtype(self) -> torch.dtype:
        """The common dtype of ``c`` and ``h`` (TF's LSTMStateTuple.dtype); TypeError if they differ."""
        if self.c.dtype != self.h.dtype:
            raise TypeError(
                f"LSTMStateTuple.dtype: expected c and h of one dtype, got {self.c.dtype} and {self.h.dtype}"
            )
        return self.c.dtype
