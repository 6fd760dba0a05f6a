"""``swap_memory=True`` on a fusable stack: checkpointed chunks of fused kernel calls.

TF1's ``swap_memory`` traded speed for memory on long sequences; rnnkit's step loop does it with activation
checkpointing (``unroll/checkpointed.py``). A fusable stack keeps its kernels: time is cut into chunks of
``C = ceil(sqrt(T))`` steps, each chunk is one fused call inside ``torch.utils.checkpoint`` (backward re-runs
that one call to rebuild its activations), and the state is carried from chunk to chunk. Memory kept for
backward: the chunks' starting states and inputs, plus one chunk's activations while it is re-run, so it grows
like ``sqrt(T)`` (apart from the outputs); time: one extra forward pass of the kernels.

The ``sequence_length`` rule holds chunk by chunk: a row's lengths are shifted to the chunk's start and clipped
to ``[0, C]``; a row that has ended before the chunk runs a fully masked chunk (zero outputs, state unchanged),
which is what ``run_fused`` does for length 0.

Dropout between the kernel calls (``fused/dropout.py``) is drawn once for the whole sequence, before the first
chunk, and each chunk gets its slice of the masks: the backward's re-run uses the very masks of the forward
(with no random draw inside the checkpoint, a wrapper's own generator is not advanced twice either).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

from .. import nest
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
    """``run_fused`` (same arguments and results, to float rounding) in checkpointed chunks of ``chunk_size``
    steps; ``state`` is the checked initial state in the cell's form (not None)."""
    time_axis = 0 if time_major else 1
    time = inputs.shape[time_axis]
    masks: list[torch.Tensor] = []
    if fused_plan.has_dropout:
        masks = draw_masks(fused_plan.spec.layers, inputs, sequence_length, time_major)
    outputs = []
    for start in range(0, time, chunk_size):
        chunk = inputs.narrow(time_axis, start, min(chunk_size, time - start))
        lengths = None
        if sequence_length is not None:
            lengths = (sequence_length - start).clamp(0, chunk.shape[time_axis])

        chunk_masks = [m.narrow(time_axis, start, chunk.shape[time_axis]) for m in masks]

        def run(
            x: torch.Tensor, lens: Any, cut: list, *leaves: torch.Tensor, template: Any = state
        ) -> tuple:
            initial = nest.pack_sequence_as(template, list(leaves))
            out, final = run_fused(fused_plan, x, initial, lens, time_major, cut)
            return (out, *nest.flatten(final))

        leaves = nest.flatten(state)
        if torch.is_grad_enabled():
            result = checkpoint(
                run,
                chunk,
                lengths,
                chunk_masks,
                *leaves,
                use_reentrant=False,
                preserve_rng_state=False,
            )
        else:
            result = run(chunk, lengths, chunk_masks, *leaves)
        outputs.append(result[0])
        state = nest.pack_sequence_as(state, list(result[1:]))
    return torch.cat(outputs, dim=time_axis), state
