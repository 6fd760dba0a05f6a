"""Row masking and length-aware reversal of ``[B, T, ...]`` / ``[T, B, ...]`` tensors, shared by the step loop,
the fused path and the bidirectional unrolls (no checks: callers pass checked int64 lengths on the data's device).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["where_rows", "reverse_sequence_unchecked"]


def where_rows(
    keep: torch.Tensor, new: torch.Tensor, old: Any, batch_axis: int = 0
) -> torch.Tensor:
    """``new`` in the rows ``b`` where ``keep[b]``, else ``old`` (a tensor broadcastable to ``new``, or a number).

    ``keep``: ``[B]`` bool (or ``[B, 1]``); ``new`` and ``old`` broadcast to one tensor whose batch axis is
    ``batch_axis``. ``torch.where``, so the rows not kept get a zero gradient through ``new``.
    """
    dim = max(new.dim(), old.dim() if isinstance(old, torch.Tensor) else 0)
    if keep.dim() != dim or batch_axis != 0:
        shape = [1] * dim
        shape[batch_axis] = -1
        keep = keep.reshape(shape)
    return torch.where(keep, new, old)


def reverse_sequence_unchecked(
    x: torch.Tensor, lengths: torch.Tensor | None, seq_axis: int, batch_axis: int
) -> torch.Tensor:
    """TF's ``reverse_sequence``: reverse each row ``b`` over its first ``lengths[b]`` steps along ``seq_axis``
    (the rest unchanged); ``lengths=None`` reverses the whole axis. ``(seq_axis, batch_axis)`` is ``(1, 0)`` or
    ``(0, 1)``; trailing axes of any number ride along."""
    if lengths is None:
        return x.flip(seq_axis)
    time = x.shape[seq_axis]
    steps = torch.arange(time, device=x.device)
    n = lengths[:, None]
    index = torch.where(steps[None, :] < n, n - 1 - steps[None, :], steps[None, :])  # [B, T]
    if (batch_axis, seq_axis) == (1, 0):
        index = index.t()  # [T, B]
    index = index.reshape(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, seq_axis, index)
