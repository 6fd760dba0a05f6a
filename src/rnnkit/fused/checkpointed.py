"""``swap_memory=True`` on a fusable stack: recomputed chunks of fused kernel calls (``rnnkit._recompute``).

Chunks are about ``3 * ceil(sqrt(T))`` steps (``unroll.dynamic._fused_chunk``): each fused call pays a fixed cost,
so fewer, longer chunks than the step loop's. Dropout between the kernel calls (``fused/dropout.py``) is drawn
once for the whole sequence, before the first chunk, and each chunk gets its slice of the masks: the backward's
re-run uses the very masks of the forward (with no random draw inside a chunk, a wrapper's own generator is not
advanced twice either).
"""

from __future__ import annotations

from typing import Any

import torch

from .._recompute import run_in_recomputed_chunks
from ..cells.fused_spec import weights_scope
from .dropout import draw_masks
from .plan import FusedPlan
from .run import run_fused

__all__ = ["run_fused_checkpointed"]


def run_fused_checkpointed(
    fused_plan: FusedPlan,
    inputs: torch.Tensor,
    state: Any,
    sequence_length: torch.Tensor | None,
    time_major: bool,
    chunk_size: int,
) -> tuple[torch.Tensor, Any]:
    """``run_fused`` (same arguments and results, to float rounding) in recomputed chunks of ``chunk_size``
    steps; ``state`` is the checked initial state in the cell's form (not None)."""
    time_axis = 0 if time_major else 1
    fused_plan.cell.check_inputs(
        inputs.select(time_axis, 0)
    )  # lazy build: every parameter exists below
    masks: list[torch.Tensor] = []
    if fused_plan.has_dropout:
        masks = draw_masks(fused_plan.spec.layers, inputs, sequence_length, time_major)

    weights: dict[
        Any, tuple[torch.Tensor, ...]
    ] = {}  # NOTE [one re-layout per scope]: shared by the chunks

    def runner(x: torch.Tensor, initial: Any, lengths: Any, start: int) -> tuple[torch.Tensor, Any]:
        cut = [m.narrow(time_axis, start, x.shape[time_axis]) for m in masks]
        with weights_scope(weights):
            return run_fused(fused_plan, x, initial, lengths, time_major, cut)

    return run_in_recomputed_chunks(
        runner, inputs, state, sequence_length, time_major, chunk_size, fused_plan.cell
    )
