"""Beam search's array helpers: ``tile_batch`` and ``gather_tree`` (TF 1.15's ``GatherTree`` kernel)."""

from __future__ import annotations

from typing import Any

import torch

from .. import nest
from .._checks import check_positive_int, describe

__all__ = ["tile_batch", "gather_tree", "gather_tree_from_array"]


def tile_batch(t: Any, multiplier: int, name: Any = None) -> Any:
    """Repeat every batch row ``multiplier`` times in place: ``[B, ...] -> [B * multiplier, ...]`` with rows
    ``t[0], t[0], ..., t[1], t[1], ...`` (not ``torch.tile``'s ``t[0], t[1], ..., t[0]``). Nested structures
    are tiled leaf by leaf; what beam search needs for the memory, its lengths and the encoder state."""
    check_positive_int("tile_batch", "multiplier", multiplier)

    def tile(x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 1:
            raise ValueError(
                f"tile_batch: expected tensors of rank >= 1 [B, ...], got {describe(x)}"
            )
        return x.repeat_interleave(multiplier, dim=0)

    return nest.map_structure(tile, t)


def _as_int_tensor(where: str, name: str, x: Any, rank: int) -> torch.Tensor:
    tensor = torch.as_tensor(x)
    if tensor.dim() != rank or tensor.is_floating_point() or tensor.dtype == torch.bool:
        raise ValueError(
            f"{where}: expected {name} to be a rank-{rank} int tensor, got {describe(x)}"
        )
    return tensor.long()


def gather_tree(
    step_ids: Any, parent_ids: Any, max_sequence_lengths: Any, end_token: Any
) -> torch.Tensor:
    """Follow the parent pointers back from the last step: the full beams ``[T, B, beam]``.

    ``step_ids``, ``parent_ids``: ``[T, B, beam]``; ``max_sequence_lengths [B]``. For batch row ``b`` only the
    first ``L = min(T, max_sequence_lengths[b])`` steps are traced (the rest is ``end_token``); after the first
    ``end_token`` of a beam everything is ``end_token``. Raises if a parent id is outside ``[0, beam)``.
    """
    where = "gather_tree"
    ids = _as_int_tensor(where, "step_ids", step_ids, 3)
    parents = _as_int_tensor(where, "parent_ids", parent_ids, 3).to(ids.device)
    if parents.shape != ids.shape:
        raise ValueError(
            f"{where}: expected parent_ids of step_ids' shape {tuple(ids.shape)}, got {tuple(parents.shape)}"
        )
    time, batch, beam = ids.shape
    lengths = _as_int_tensor(where, "max_sequence_lengths", max_sequence_lengths, 1).to(ids.device)
    if lengths.shape != (batch,):
        raise ValueError(
            f"{where}: expected max_sequence_lengths of shape [B] = ({batch},), got {tuple(lengths.shape)}"
        )
    end = int(torch.as_tensor(end_token))
    lengths = lengths.clamp(min=0, max=time)
    live = torch.arange(time, device=ids.device)[:, None] < lengths[None, :]  # [T, B]
    parents = torch.where(live[..., None], parents, torch.zeros_like(parents))
    if bool(((parents < 0) | (parents >= beam)).any()):
        raise ValueError(f"{where}: expected every parent id in [0, {beam}), got values outside")
    out = torch.full_like(ids, end)
    if time == 0:
        return out
    # Trace all rows together from t = T-1 down; a row b joins at its own last step L_b - 1.
    pointer = torch.arange(beam, device=ids.device).expand(batch, beam).clone()  # [B, beam]
    for t in range(time - 1, -1, -1):
        joining = (lengths == t + 1)[
            :, None
        ]  # rows whose last traced step is t restart from identity
        pointer = torch.where(joining, torch.arange(beam, device=ids.device), pointer)
        picked = ids[t].gather(1, pointer)
        out[t] = torch.where(live[t][:, None], picked, out[t])
        pointer = parents[t].gather(1, pointer)
    # After the first end_token of a beam everything is end_token.
    ended = (out == end).to(torch.int64).cumsum(0) > 0
    before = torch.cat([torch.zeros_like(ended[:1]), ended[:-1]], 0)
    return torch.where(before, torch.full_like(out, end), out)


def gather_tree_from_array(
    t: torch.Tensor, parent_ids: torch.Tensor, sequence_length: torch.Tensor
) -> torch.Tensor:
    """Reorder a stacked per-step array ``[T, B * beam, ...]`` (or ``[T, B, beam, ...]``) along the beams that
    survived (TF's ``gather_tree_from_array``); steps past a beam's ``sequence_length [B, beam]`` keep their own
    beam index."""
    time, batch, beam = parent_ids.shape
    beam_ids = torch.arange(beam, device=parent_ids.device).expand(time, batch, beam)
    max_lengths = sequence_length.max(dim=1).values
    sorted_ids = gather_tree(beam_ids, parent_ids, max_lengths, beam + 1)
    in_bound = torch.arange(time, device=parent_ids.device)[:, None, None] < sequence_length[None]
    sorted_ids = torch.where(in_bound, sorted_ids, beam_ids)
    flat = t.reshape(time, batch, beam, -1)
    index = sorted_ids.unsqueeze(-1).expand(-1, -1, -1, flat.shape[-1])
    return flat.gather(2, index).reshape(t.shape)
