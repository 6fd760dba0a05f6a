"""``swap_memory=True`` on a fusable stack: checkpointed chunks of fused kernel calls.

TF1's ``swap_memory`` traded speed for memory on long sequences; rnnkit's step loop does it with activation
checkpointing (``unroll/checkpointed.py``). A fusable stack keeps its kernels: time is cut into chunks of
about ``3 * ceil(sqrt(T))`` steps, and each chunk is one ``_RecomputedChunk`` node. Its forward runs the fused
call with autograd off, so torch's kernels take their inference path (oneDNN's LSTM forward without its
training workspace: the whole recomputation then costs about 1.3x the plain path instead of 1.4-1.5x with
``torch.utils.checkpoint``'s non-reentrant mode, which records the first forward too); its backward re-runs that
one call with autograd on and differentiates it. Memory kept for backward: the chunks' starting states and
inputs (held by reference), plus one chunk's activations while it is re-run, so it grows like ``sqrt(T)``
(apart from the outputs); time: one extra forward pass of the kernels.

The ``sequence_length`` rule holds chunk by chunk: a row's lengths are shifted to the chunk's start and clipped
to ``[0, C]``; a row that has ended before the chunk runs a fully masked chunk (zero outputs, state unchanged),
which is what ``run_fused`` does for length 0.

Dropout between the kernel calls (``fused/dropout.py``) is drawn once for the whole sequence, before the first
chunk, and each chunk gets its slice of the masks: the backward's re-run uses the very masks of the forward
(with no random draw inside a chunk, a wrapper's own generator is not advanced twice either).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

from .. import nest
from .._checks import autocast_enabled
from .dropout import draw_masks
from .plan import FusedPlan
from .run import run_fused

__all__ = ["run_fused_checkpointed"]

# ``run(x, *state_leaves)`` → ``(outputs, *final_state_leaves)`` for one chunk.
ChunkRun = Callable[..., tuple[torch.Tensor, ...]]


class _RecomputedChunk(torch.autograd.Function):
    """One chunk of fused calls whose activations are not kept: forward without autograd, backward re-runs it.

    Inputs: ``(run, n_inputs, x, *state_leaves, *params)``. The parameters are inputs so that autograd routes
    their gradients through this node (torch's reentrant checkpoint would instead need an input that requires
    grad). Inputs and parameters are held by reference, not saved: they are the caller's tensors (the chunk is
    a view of the inputs), so saving them would count memory that is not new; their version counters are
    checked in backward instead, which is what ``save_for_backward`` would have guarded.
    """

    @staticmethod
    def forward(ctx: Any, run: ChunkRun, n_inputs: int, *tensors: torch.Tensor) -> tuple:
        ctx.run, ctx.n_inputs, ctx.tensors = run, n_inputs, tensors
        ctx.versions = [t._version for t in tensors]
        return run(*tensors[:n_inputs])  # autograd is off inside a Function's forward

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple:
        tensors = ctx.tensors
        for t, version in zip(tensors, ctx.versions):
            if t._version != version:
                raise RuntimeError(
                    "dynamic_rnn(swap_memory=True): expected the inputs, initial state and parameters to be "
                    f"unchanged until backward, got a {tuple(t.shape)} tensor modified in place since the "
                    "forward pass (its gradient would be computed from the new values)"
                )
        create_graph = (
            torch.is_grad_enabled()
        )  # backward(create_graph=True): keep the re-run's graph
        n = ctx.n_inputs
        inputs = list(tensors[:n])
        if not create_graph:  # a fresh graph that ends at these inputs
            inputs = [t.detach().requires_grad_(t.requires_grad) for t in inputs]
        with torch.enable_grad():
            results = ctx.run(*inputs)
        pairs = [(r, g) for r, g in zip(results, grads) if g is not None and r.requires_grad]
        wanted = [i for i, t in enumerate(inputs + list(tensors[n:])) if t.requires_grad]
        found: tuple = (None,) * len(tensors)
        if pairs and wanted:
            targets = inputs + list(tensors[n:])
            got = torch.autograd.grad(
                [r for r, _ in pairs],
                [targets[i] for i in wanted],
                [g for _, g in pairs],
                allow_unused=True,
                create_graph=create_graph,
            )
            found = tuple(dict(zip(wanted, got)).get(i) for i in range(len(tensors)))
        return (None, None, *found)


def _run_chunk(
    fused_plan: FusedPlan,
    time_major: bool,
    template: Any,
    lengths: torch.Tensor | None,
    masks: list[torch.Tensor],
    x: torch.Tensor,
    *leaves: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """One chunk's fused call: ``(outputs, *final_state_leaves)`` from the chunk and its initial state's leaves
    (``template``: any state of the cell's structure)."""
    initial = nest.pack_sequence_as(template, list(leaves))
    out, final = run_fused(fused_plan, x, initial, lengths, time_major, masks)
    return (out, *nest.flatten(final))


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
    fused_plan.cell.check_inputs(
        inputs.select(time_axis, 0)
    )  # lazy build: every parameter exists below
    params = [p for p in fused_plan.cell.parameters() if p.requires_grad]
    # Under autocast the re-run must see the forward's autocast state: torch's checkpoint restores it.
    recompute = not autocast_enabled(inputs.device.type)
    masks: list[torch.Tensor] = []
    if fused_plan.has_dropout:
        masks = draw_masks(fused_plan.spec.layers, inputs, sequence_length, time_major)
    outputs = []
    for start in range(0, time, chunk_size):
        chunk = inputs.narrow(time_axis, start, min(chunk_size, time - start))
        lengths = None
        if sequence_length is not None:
            lengths = (sequence_length - start).clamp(0, chunk.shape[time_axis])

        cut = [m.narrow(time_axis, start, chunk.shape[time_axis]) for m in masks]
        run = functools.partial(_run_chunk, fused_plan, time_major, state, lengths, cut)
        leaves = nest.flatten(state)
        if not torch.is_grad_enabled():
            result = run(chunk, *leaves)
        elif recompute:
            result = _RecomputedChunk.apply(run, 1 + len(leaves), chunk, *leaves, *params)
        else:
            result = checkpoint(run, chunk, *leaves, use_reentrant=False, preserve_rng_state=False)
        outputs.append(result[0])
        state = nest.pack_sequence_as(state, list(result[1:]))
    return torch.cat(outputs, dim=time_axis), state
