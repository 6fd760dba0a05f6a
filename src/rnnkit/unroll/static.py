"""``static_rnn`` (TF1 ``tf.nn.static_rnn``): unroll a cell over a Python list of per-step inputs."""

from __future__ import annotations

from typing import Any

import torch

from .. import nest
from .._checks import describe
from ..cells.base import RNNCell
from ..cells.hooks import begin_sequence
from ._arguments import (
    check_cell,
    check_input_leaf,
    check_sequence_length,
    initial_state_or_zeros,
)
from ._loop import run_steps, zero_padding_steps

__all__ = ["static_rnn"]


def check_step_list(
    where: str, inputs: Any, dynamic: str = "dynamic_rnn"
) -> tuple[int, torch.Tensor]:
    """Check a non-empty list of per-step structures of ``[B, D]`` tensors; return ``(B, first leaf)``.
    ``dynamic`` names the unroll a caller with one ``[B, T, D]`` tensor should use instead."""
    if isinstance(inputs, torch.Tensor):
        raise TypeError(
            f"{where}: expected inputs to be a list of [B, D] tensors, got a tensor of shape "
            f"{tuple(inputs.shape)}; use {dynamic} for one [B, T, D] tensor (or list(x.unbind(1)))"
        )
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(
            f"{where}: expected inputs to be a list of [B, D] tensors, got {describe(inputs)}"
        )
    if not inputs:
        raise ValueError(f"{where}: expected a non-empty list of inputs, got an empty list")
    first = nest.flatten(inputs[0])
    for t, step in enumerate(inputs):
        for x in nest.flatten(step):
            check_input_leaf(where, f"inputs[{t}]", x, "[B, D]", 2)
            if x.shape[0] != first[0].shape[0]:
                raise ValueError(
                    f"{where}: expected every step to have B={first[0].shape[0]}, got inputs[{t}] of "
                    f"shape {tuple(x.shape)}"
                )
    if first[0].shape[0] == 0:
        raise ValueError(
            f"{where}: expected at least one batch row (B >= 1), got inputs[0] of shape {tuple(first[0].shape)}"
        )
    return first[0].shape[0], first[0]


def static_rnn(
    cell: RNNCell,
    inputs: Any,
    initial_state: Any = None,
    dtype: Any = None,
    sequence_length: Any = None,
    scope: str | None = None,
) -> tuple[list[Any], Any]:
    r"""Run ``cell`` over a list of per-step inputs; TF1's ``tf.nn.static_rnn``.

    Same semantics as ``dynamic_rnn`` (including the ``sequence_length`` rule), with lists in and out::

        outputs, state = [], initial_state or cell.zero_state(B, dtype)
        for t, x in enumerate(inputs):          # x: [B, D]
            out, state = cell(x, state)         # masked by sequence_length as in dynamic_rnn
            outputs.append(out)

    Args:
        cell: any rnnkit cell.
        inputs: a non-empty list of ``[B, D]`` tensors (or of nested structures of them), one per step.
        initial_state: as for ``dynamic_rnn``.
        dtype: as for ``dynamic_rnn``.
        sequence_length: as for ``dynamic_rnn``.
        scope: as for ``dynamic_rnn``.

    Returns:
        ``(outputs, final_state)``: a list of T outputs ``[B, output_size]`` and the final state.
    """
    where = "static_rnn"
    check_cell(where, cell)
    begin_sequence(cell)  # NOTE [begin_sequence]: new variational dropout masks etc.
    batch, like = check_step_list(where, inputs)
    state = initial_state_or_zeros(where, cell, initial_state, dtype, batch, like)
    lengths = check_sequence_length(where, sequence_length, batch, len(inputs), like.device)
    steps = zero_padding_steps(list(inputs), lengths)  # NOTE [padding never reaches the gradient]
    outputs, final_state = run_steps(cell, steps, state, lengths, batch)
    return outputs, final_state
