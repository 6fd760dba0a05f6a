"""The masked step loop shared by every unroll.

NOTE [sequence_length rule]: TF's ``_rnn_step``: for ``t >= sequence_length[b]`` row ``b`` of the output is zero
and its state is copied through unchanged, so the final state is each row's state at its own last step (the
initial state for length 0). Past ``max(sequence_length)`` no cell call is made at all (TF's ``dynamic_rnn`` stops
its while-loop there too) and the outputs are zeros (but see NOTE [every row empty] in ``run_steps``).

NOTE [padding never reaches the gradient]: the rows past their length are still fed to the cell (one batched call
per step) and their results dropped by ``torch.where``. ``where``'s backward sends them a zero gradient, but
``0 * nan = nan``: a NaN or inf in the *padding* of the inputs would turn every parameter gradient into NaN (TF
1.x behaves so; checked with TF 2.x's compat.v1 dynamic_rnn). So the unrolls zero the padding of their inputs once,
on entry (``zero_padding``), before any cell, precomputed input matmul or fused kernel sees them. For finite inputs
this changes no value and no gradient (the dropped rows get a zero gradient either way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .. import nest
from .._sequence import where_rows
from ..cells.base import RNNCell, shared_weight_views

__all__ = ["run_steps", "zero_padding", "zero_padding_steps"]


def _mask_rows(keep: torch.Tensor, new: Any, old: Any) -> Any:
    """``where_rows`` for one leaf of a step's output or state. Scalars and non-tensor leaves (a step counter, an
    alignment history) pass through as ``new``, as TF's ``_rnn_step`` passes scalars and TensorArrays through."""
    if not isinstance(new, torch.Tensor) or new.dim() == 0:
        return new
    return where_rows(keep, new, old)


def zero_padding(inputs: Any, sequence_length: torch.Tensor | None, time_major: bool) -> Any:
    """Nested ``[B, T, ...]`` (``[T, B, ...]``) inputs with every position ``t >= sequence_length[b]`` set to 0.

    See NOTE [padding never reaches the gradient]. Returns ``inputs`` itself when there is no padding.
    """
    if sequence_length is None:
        return inputs
    flat = nest.flatten(inputs)
    time = flat[0].shape[0 if time_major else 1]
    if int(sequence_length.min()) >= time:
        return inputs
    keep = (
        torch.arange(time, device=sequence_length.device)[None, :] < sequence_length[:, None]
    )  # [B, T]
    if time_major:
        keep = keep.t()  # [T, B]
    return nest.map_structure(
        lambda x: torch.where(keep.view(*keep.shape, *([1] * (x.dim() - 2))), x, 0.0), inputs
    )


def zero_padding_steps(step_inputs: list[Any], sequence_length: torch.Tensor | None) -> list[Any]:
    """``zero_padding`` for a list of per-step ``[B, ...]`` structures (``static_rnn``'s inputs)."""
    if sequence_length is None or int(sequence_length.min()) >= len(step_inputs):
        return step_inputs
    return [
        nest.map_structure(lambda x, t=t: where_rows(t < sequence_length, x, 0.0), step)
        for t, step in enumerate(step_inputs)
    ]


def run_steps(
    cell: RNNCell,
    step_inputs: Sequence[Any],
    state: Any,
    sequence_length: torch.Tensor | None,
    batch: int,
    step: Callable[[Any, Any], tuple[Any, Any]] | None = None,
) -> tuple[list[Any], Any]:
    """Run ``step`` (default: ``cell``) over ``step_inputs`` (one item per time step) from ``state``.

    Returns the per-step outputs (a list of length T) and the final state, applying the
    sequence_length rule (see NOTE above) when ``sequence_length`` (``[B]`` int64) is given.
    Everything is checked before the loop; the loop itself only steps and masks. The cells' recurrent weight
    slices are made once for the loop (NOTE [one weight view per unroll] in ``cells/base.py``).
    """
    with shared_weight_views():
        return _run(cell if step is None else step, step_inputs, state, sequence_length, batch)


def _run(
    step: Callable[[Any, Any], tuple[Any, Any]],
    step_inputs: Sequence[Any],
    state: Any,
    sequence_length: torch.Tensor | None,
    batch: int,
) -> tuple[list[Any], Any]:
    outputs: list[Any] = []
    if sequence_length is None:
        for x in step_inputs:
            out, state = step(x, state)
            outputs.append(out)
        return outputs, state

    n_steps = len(step_inputs)
    lengths = sequence_length.tolist() if batch else [0]
    # NOTE [every row empty]: with all lengths 0 no step is needed, but TF still builds the cell's variables and
    # gives their gradients (zeros): one step runs with every row masked, which builds a lazy cell and ties
    # outputs and state to the parameters with zero gradient (torch.where), as the fused path does per row.
    n_run = min(n_steps, max(max(lengths), 1))
    # Until the shortest row ends every row is live: no masking needed there.
    n_free = min(n_run, min(lengths))
    for x in step_inputs[:n_free]:
        out, state = step(x, state)
        outputs.append(out)
    if n_run > n_free:
        steps = torch.arange(n_free, n_run, device=sequence_length.device)
        keeps = (steps[:, None] < sequence_length[None, :]).unsqueeze(-1).unbind(0)  # each [B, 1]
        for x, keep in zip(step_inputs[n_free:n_run], keeps):
            out, new_state = step(x, state)
            outputs.append(nest.map_structure(lambda o, k=keep: _mask_rows(k, o, 0.0), out))
            state = nest.map_structure(lambda n, o, k=keep: _mask_rows(k, n, o), new_state, state)
    if n_run < n_steps:
        zeros = nest.map_structure(torch.zeros_like, outputs[0])
        outputs.extend([zeros] * (n_steps - n_run))
    return outputs, state
