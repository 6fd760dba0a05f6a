"""Recomputed chunks: a sequence runner in chunks of time whose activations are rebuilt in backward.

``dynamic_rnn(..., swap_memory=True)`` on a fused stack (``fused/checkpointed.py``) or a cell with a sequence
kernel (``rnnkit.kernels``) runs here. Time is cut into chunks; each chunk is one ``_RecomputedChunk`` node. Its
forward runs the chunk with autograd off, so torch's kernels take their inference path (oneDNN's LSTM forward
without its training workspace) and a native kernel keeps no activations; its backward re-runs that one chunk
with autograd on and differentiates it (``torch.utils.checkpoint``'s non-reentrant mode records the first
forward too, which cost 1.4-1.5x the plain fused path where this costs about 1.2x; BENCHMARKS.md).

The last chunk runs recorded at once (its activations kept): backward needs it first, and one chunk's
activations is what every re-run holds anyway. Memory kept for backward: the chunks' starting states and inputs
(held by reference), plus one chunk's activations: with chunks of about ``sqrt(T)`` steps it grows like
``sqrt(T)`` (apart from the outputs). Time: one extra forward pass of all chunks but the last.

The ``sequence_length`` rule holds chunk by chunk: a row's lengths are shifted to the chunk's start and clipped
to ``[0, C]``, so a row that has ended runs a fully masked chunk (zero outputs, state unchanged).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from . import nest
from ._checks import autocast_enabled

__all__ = ["ChunkRunner", "run_in_recomputed_chunks"]

#: ``runner(chunk [B, C, D] or [C, B, D] (or a nested structure of them), initial_state, lengths [B] in [0, C]
#: or None, start)`` → ``(outputs, final_state)``; ``start`` is the chunk's first step (for slicing what the
#: runner holds per step).
ChunkRunner = Callable[[Any, Any, "torch.Tensor | None", int], tuple[torch.Tensor, Any]]

# ``run(x, *state_leaves)`` → ``(outputs, *final_state_leaves)`` for one chunk.
ChunkRun = Callable[..., tuple[torch.Tensor, ...]]


class _Call(nn.Module):
    """``run`` as a module holding ``owner``, so ``torch.func.functional_call`` can stand aliases in for the
    owner's parameters while ``run`` reads them."""

    def __init__(self, owner: nn.Module, run: ChunkRun) -> None:
        super().__init__()
        self.owner, self.run = owner, run

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.run(*tensors)


class _RecomputedChunk(torch.autograd.Function):
    """One chunk of a sequence runner whose activations are not kept: forward without autograd, backward re-runs it.

    Inputs: ``(run, owner, names, n_inputs, *chunk_inputs, *state_leaves, *params)``; ``params`` are ``owner``'s
    parameters that require grad (``names``: theirs in ``owner``), inputs so that autograd routes their gradients
    through this node (torch's reentrant checkpoint would instead need an input that requires grad). Inputs and
    parameters are held by reference, not saved: they are the caller's tensors (the chunk is a view of the
    inputs), so saving them would count memory that is not new; their version counters are checked in backward
    instead, which is what ``save_for_backward`` would have guarded.
    """

    @staticmethod
    def forward(
        ctx: Any,
        run: ChunkRun,
        owner: nn.Module,
        names: list[str],
        n_inputs: int,
        *tensors: torch.Tensor,
    ) -> tuple:
        ctx.run, ctx.owner, ctx.names = run, owner, names
        ctx.n_inputs, ctx.tensors = n_inputs, tensors
        ctx.versions = [t._version for t in tensors]
        return run(*tensors[:n_inputs])  # autograd is off inside a Function's forward

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple:
        tensors, n = ctx.tensors, ctx.n_inputs
        for t, version in zip(tensors, ctx.versions):
            if t._version != version:
                raise RuntimeError(
                    "dynamic_rnn(swap_memory=True): expected the inputs, initial state and parameters to be "
                    f"unchanged until backward, got a {tuple(t.shape)} tensor modified in place since the "
                    "forward pass (its gradient would be computed from the new values)"
                )
        if torch.is_grad_enabled():  # backward(create_graph=True)
            targets, results = _rerun_recorded(ctx, tensors, n)
        else:  # a fresh graph that ends at detached copies of the inputs (the parameters are leaves already)
            targets = [t.detach().requires_grad_(t.requires_grad) for t in tensors[:n]]
            targets += list(tensors[n:])
            with torch.enable_grad():
                results = ctx.run(*targets[:n])
        pairs = [(r, g) for r, g in zip(results, grads) if g is not None and r.requires_grad]
        wanted = [i for i, t in enumerate(targets) if t.requires_grad]
        found: list[torch.Tensor | None] = [None] * len(tensors)
        if pairs and wanted:
            got = torch.autograd.grad(
                [r for r, _ in pairs],
                [targets[i] for i in wanted],
                [g for _, g in pairs],
                allow_unused=True,
                create_graph=torch.is_grad_enabled(),
            )
            for i, g in zip(wanted, got):
                found[i] = g
        return (None, None, None, None, *found)


def _rerun_recorded(
    ctx: Any, tensors: tuple[torch.Tensor, ...], n: int
) -> tuple[list[torch.Tensor], tuple[torch.Tensor, ...]]:
    """The re-run for ``create_graph=True``: on aliases (``t.view_as(t)``) of the forward's own tensors, so that
    the gradients are differentiable functions of them (every second-order term kept) while
    ``autograd.grad`` of the aliases counts only this chunk's paths (a parameter reached again through the
    previous chunk's state would otherwise be counted here and in that chunk's node)."""
    aliases = [t.view_as(t) for t in tensors]
    named = dict(zip(ctx.names, aliases[n:]))
    with torch.enable_grad():
        results = torch.func.functional_call(_Call(ctx.owner, ctx.run), named, tuple(aliases[:n]))
    return aliases, results


def _flat_run(
    runner: ChunkRunner,
    inputs_template: Any,
    template: Any,
    lengths: torch.Tensor | None,
    start: int,
    *tensors: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """``runner`` on flat tensors (the inputs' leaves, then the state's), as the node calls it:
    ``(outputs, *final_state_leaves)``."""
    n_in = len(nest.flatten(inputs_template))
    x = nest.pack_sequence_as(inputs_template, list(tensors[:n_in]))
    out, final = runner(x, nest.pack_sequence_as(template, list(tensors[n_in:])), lengths, start)
    return (out, *nest.flatten(final))


def run_in_recomputed_chunks(
    runner: ChunkRunner,
    inputs: Any,
    state: Any,
    sequence_length: torch.Tensor | None,
    time_major: bool,
    chunk_size: int,
    owner: nn.Module,
) -> tuple[torch.Tensor, Any]:
    """``runner`` over all of ``inputs`` (same results, to float rounding) in recomputed chunks of ``chunk_size``
    steps. ``inputs``: one tensor or a nested structure of them (PhasedLSTMCell's ``(times, x)``), cut alike;
    ``state``: the initial state (nested, not None); ``owner``: the module whose parameters ``runner`` reads
    (the cell, built already: a parameter outside it would get no gradient). Under autocast ``torch.utils.checkpoint`` runs the chunks instead (it restores the
    forward's autocast state for the re-run)."""
    time_axis = 0 if time_major else 1
    flat_inputs = nest.flatten(inputs)
    time = flat_inputs[0].shape[time_axis]
    recompute = not autocast_enabled(flat_inputs[0].device.type)
    named = [(name, p) for name, p in owner.named_parameters() if p.requires_grad]
    names, grad_params = [f"owner.{name}" for name, _ in named], [p for _, p in named]
    outputs = []
    for start in range(0, time, chunk_size):
        steps = min(chunk_size, time - start)
        chunks = [x.narrow(time_axis, start, steps) for x in flat_inputs]
        lengths = None
        if sequence_length is not None:
            lengths = (sequence_length - start).clamp(0, steps)
        run = functools.partial(_flat_run, runner, inputs, state, lengths, start)
        leaves = nest.flatten(state)
        if not torch.is_grad_enabled() or start + steps == time:
            # the last chunk keeps its activations: backward needs them first, and holding one chunk's is what
            # every re-run costs anyway (the peak stays one chunk's activations), so re-running it gains nothing
            result = run(*chunks, *leaves)
        elif recompute:
            n = len(chunks) + len(leaves)
            result = _RecomputedChunk.apply(run, owner, names, n, *chunks, *leaves, *grad_params)
        else:
            result = checkpoint(
                run, *chunks, *leaves, use_reentrant=False, preserve_rng_state=False
            )
        outputs.append(result[0])
        state = nest.pack_sequence_as(state, list(result[1:]))
    return torch.cat(outputs, dim=time_axis), state
