"""The masked step loop shared by every unroll.

NOTE [sequence_length rule]: TF's ``_rnn_step``: for ``t >= sequence_length[b]`` row ``b`` of the output is zero
and its state is copied through unchanged, so the final state is each row's state at its own last step (the
initial state for length 0). Past ``max(sequence_length)`` no cell call is made at all (TF's ``dynamic_rnn`` stops
its while-loop there too) and the outputs are zeros.

NOTE [padding never reaches the gradient]: the rows past their length are still fed to the cell (one batched call
per step) and their results dropped by ``torch.where``. ``where``'s backward sends them a zero gradient, but
``0 * nan = nan``: a NaN or inf in the *padding* of the inputs would turn every parameter gradient into NaN (TF
1.x behaves so; checked with TF 2.x's compat.v1 dynamic_rnn). rnnkit zeroes the padded input rows before the cell
call. For finite inputs this changes no value and no gradient (the dropped rows get a zero gradient either way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .. import nest
from ..cells.base import RNNCell

__all__ = ["run_steps"]


def _where_rows(keep: torch.Tensor, new: torch.Tensor, old: Any) -> torch.Tensor:
    """``new`` where ``keep[b]``, else ``old`` (a tensor or 0); ``keep`` is ``[B, 1]`` bool, ``new`` ``[B, ...]``."""
    if new.dim() != 2:
        keep = keep.view(keep.shape[0], *([1] * (new.dim() - 1)))
    return torch.where(keep, new, old)


def _zero_outputs(cell: RNNCell, batch: int, like: torch.Tensor) -> Any:
    return nest.map_structure(lambda size: like.new_zeros(batch, size), cell.output_size)


def run_steps(
    cell: RNNCell,
    step_inputs: Sequence[Any],
    state: Any,
    sequence_length: torch.Tensor | None,
    batch: int,
    like: torch.Tensor,
    step: Callable[[Any, Any], tuple[Any, Any]] | None = None,
    mask_inputs: bool = True,
) -> tuple[list[Any], Any]:
    """Run ``step`` (default: ``cell``) over ``step_inputs`` (one item per time step) from ``state``.

    Returns the per-step outputs (a list of length T) and the final state, applying the
    sequence_length rule (see NOTE above) when ``sequence_length`` (``[B]`` int64) is given.
    ``like`` is any input tensor: the dtype/device of zero outputs written past every row's length.
    Everything is checked before the loop; the loop itself only steps and masks. ``mask_inputs=False``: the
    caller already zeroed the padded input rows (``step_inputs`` are then derived values, not inputs).
    """
    step = cell if step is None else step
    outputs: list[Any] = []
    if sequence_length is None:
        for x in step_inputs:
            out, state = step(x, state)
            outputs.append(out)
        return outputs, state

    n_steps = len(step_inputs)
    lengths = sequence_length.tolist() if batch else [0]
    n_run = min(n_steps, max(lengths))
    # Until the shortest row ends every row is live: no masking needed there.
    n_free = min(n_run, min(lengths))
    for x in step_inputs[:n_free]:
        out, state = step(x, state)
        outputs.append(out)
    if n_run > n_free:
        steps = torch.arange(n_free, n_run, device=sequence_length.device)
        keeps = (steps[:, None] < sequence_length[None, :]).unsqueeze(-1).unbind(0)  # each [B, 1]
        for x, keep in zip(step_inputs[n_free:n_run], keeps):
            if mask_inputs:  # NOTE [padding never reaches the gradient]
                x = nest.map_structure(lambda v, k=keep: _where_rows(k, v, 0.0), x)
            out, new_state = step(x, state)
            outputs.append(nest.map_structure(lambda o, k=keep: _where_rows(k, o, 0.0), out))
            state = nest.map_structure(lambda n, o, k=keep: _where_rows(k, n, o), new_state, state)
    if n_run < n_steps:
        zeros = (
            nest.map_structure(torch.zeros_like, outputs[0])
            if outputs
            else _zero_outputs(cell, batch, like)
        )
        outputs.extend([zeros] * (n_steps - n_run))
    return outputs, state
