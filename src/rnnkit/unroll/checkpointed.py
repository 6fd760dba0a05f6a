"""The masked step loop with activation checkpointing over chunks of time: ``dynamic_rnn(..., swap_memory=True)``.

TF1's ``swap_memory=True`` moved the while-loop's saved activations from GPU to host memory. rnnkit keeps the
intent — trade compute for memory on long sequences — with activation checkpointing: time is cut into chunks of
``C`` steps; the forward pass keeps only each chunk's starting state (and the outputs it returns), and the
backward pass re-runs one chunk at a time to rebuild its activations. Saved activations then take about
``T / C`` states plus one chunk's worth of activations instead of ``T`` steps' worth, for about one extra forward
pass of compute. ``C = ceil(sqrt(T))`` (the default) balances the two terms, so that memory grows like
``sqrt(T)`` apart from the outputs themselves (``[B, T, output_size]``, which every unroll returns).

Outputs, final state and gradients are those of the plain loop (the same operations run in the same order);
the ``sequence_length`` rule (NOTE in ``unroll/_loop.py``) is applied chunk by chunk with lengths shifted to
the chunk's start. Random operations inside the cell (dropout) see the same random numbers on recomputation
(``torch.utils.checkpoint`` restores the RNG state), so they stay consistent too.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

from .. import nest
from ..cells.base import RNNCell
from ._loop import run_steps

__all__ = ["default_chunk_size", "run_steps_checkpointed"]


def default_chunk_size(time: int) -> int:
    """``ceil(sqrt(T))``: the chunk length that minimises (kept chunk-start states + one chunk's activations)."""
    return max(1, math.ceil(math.sqrt(time)))


def run_steps_checkpointed(
    cell: RNNCell,
    step_inputs: list[Any],
    state: Any,
    sequence_length: torch.Tensor | None,
    batch: int,
    chunk_size: int | None = None,
    **loop_kwargs: Any,
) -> tuple[list[Any], Any]:
    """``run_steps`` (same arguments, same results) with each chunk of ``chunk_size`` steps checkpointed.

    Args:
        cell, step_inputs, state, sequence_length, batch: as for ``unroll._loop.run_steps``.
        chunk_size: steps per checkpointed chunk ``C``; default ``ceil(sqrt(T))``.
        loop_kwargs: passed on to ``run_steps`` for every chunk.

    Returns:
        ``(outputs, final_state)``: a list of T per-step outputs and the final state, as ``run_steps``.
    """
    time = len(step_inputs)
    if chunk_size is None:
        chunk_size = default_chunk_size(time)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(
            f"run_steps_checkpointed: expected chunk_size to be a positive int, got {chunk_size!r}"
        )
    if not torch.is_grad_enabled() or chunk_size >= time:
        # Nothing to save memory on (no graph is recorded, or a single chunk would keep everything anyway).
        return run_steps(cell, step_inputs, state, sequence_length, batch, **loop_kwargs)

    outputs: list[Any] = []
    for start in range(0, time, chunk_size):
        chunk = step_inputs[start : start + chunk_size]
        lengths = None
        if sequence_length is not None:
            # Row b runs local step t of this chunk iff start + t < sequence_length[b].
            lengths = (sequence_length - start).clamp(0, len(chunk))
        if start and lengths is not None and batch and int(lengths.max()) == 0:
            # Every row has ended: no cell call, no graph to checkpoint; the outputs are zeros.
            zeros = nest.map_structure(torch.zeros_like, outputs[-1])
            chunk_out = [zeros] * len(chunk)
        else:
            chunk_out, state = _checkpointed_chunk(cell, chunk, state, lengths, batch, loop_kwargs)
        outputs.extend(chunk_out)
    return outputs, state


def _checkpointed_chunk(
    cell: RNNCell,
    chunk: list[Any],
    state: Any,
    lengths: torch.Tensor | None,
    batch: int,
    loop_kwargs: dict[str, Any],
) -> tuple[list[Any], Any]:
    """Run one chunk under ``torch.utils.checkpoint`` with flat tensor arguments and results.

    Flat tensors in and out keep the checkpoint boundary explicit: the chunk's inputs and starting state are
    what the chunk keeps; every activation inside is dropped after the forward pass and rebuilt in backward.
    """
    n_state = len(nest.flatten(state))
    flat_in = [leaf for x in chunk for leaf in nest.flatten(x)]
    per_step = len(flat_in) // len(chunk)
    structure: dict[
        str, Any
    ] = {}  # the output / state structures, recorded by the forward run of body

    def body(*flat: torch.Tensor) -> tuple[torch.Tensor, ...]:
        chunk_state = nest.pack_sequence_as(state, list(flat[:n_state]))
        xs = [
            nest.pack_sequence_as(
                chunk[t], list(flat[n_state + t * per_step : n_state + (t + 1) * per_step])
            )
            for t in range(len(chunk))
        ]
        outs, final = run_steps(cell, xs, chunk_state, lengths, batch, **loop_kwargs)
        structure["output"], structure["state"] = outs[0], final
        return (*[leaf for o in outs for leaf in nest.flatten(o)], *nest.flatten(final))

    flat_out = checkpoint(body, *nest.flatten(state), *flat_in, use_reentrant=False)
    n_out = (len(flat_out) - n_state) // len(chunk)
    outs = [
        nest.pack_sequence_as(structure["output"], list(flat_out[t * n_out : (t + 1) * n_out]))
        for t in range(len(chunk))
    ]
    return outs, nest.pack_sequence_as(
        structure["state"], list(flat_out[len(flat_out) - n_state :])
    )
