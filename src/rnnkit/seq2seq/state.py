"""State leaves that are not ``[B, size]`` tensors: the step counter and TF's alignment ``TensorArray``."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["SCALAR", "AlignmentHistory", "ScalarSize"]


class ScalarSize:
    """The ``state_size`` entry of a scalar state leaf (TF's ``TensorShape([])``); unrolls pass it through."""

    def __repr__(self) -> str:
        return "TensorShape([])"


SCALAR = ScalarSize()


class _HistorySize:
    def __repr__(self) -> str:
        return "AlignmentHistory"


class AlignmentHistory:
    """TF's ``TensorArray`` of per-step alignments: immutable; ``write`` returns a longer history.

    ``stack()`` -> ``[steps, B, T]``; ``read(i)``, ``size()`` as on a TensorArray. Unrolls and decoders pass it
    through unchanged where they would mask a state row (as TF passes TensorArrays through).
    """

    SIZE = _HistorySize()

    def __init__(self, items: tuple[torch.Tensor, ...], like: torch.Tensor) -> None:
        self._items = items
        self._like = like  # an element-shaped tensor: the shape of an empty stack

    @classmethod
    def empty(cls, like: torch.Tensor) -> AlignmentHistory:
        return cls((), like)

    def write(self, index: Any, value: torch.Tensor) -> AlignmentHistory:
        """Append ``value`` (``index`` must be the current size, as in a dynamic TensorArray filled in order)."""
        if int(index) != len(self._items):
            raise ValueError(
                f"AlignmentHistory.write: expected index {len(self._items)} (the next free one), got {int(index)}"
            )
        return AlignmentHistory((*self._items, value), self._like)

    def read(self, index: int) -> torch.Tensor:
        return self._items[index]

    def size(self) -> int:
        return len(self._items)

    def stack(self) -> torch.Tensor:
        if not self._items:
            return self._like.new_zeros(0, *self._like.shape)
        return torch.stack(self._items, 0)

    def map_items(self, fn: Any) -> AlignmentHistory:
        """A history with ``fn`` applied to every element (used by beam search's beam reordering)."""
        return AlignmentHistory(tuple(fn(x) for x in self._items), fn(self._like))

    def __repr__(self) -> str:
        return f"AlignmentHistory(size={len(self._items)}, element_shape={tuple(self._like.shape)})"
