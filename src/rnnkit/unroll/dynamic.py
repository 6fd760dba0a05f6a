"""``dynamic_rnn`` (TF1 ``tf.nn.dynamic_rnn``): unroll a cell over a ``[B, T, D]`` (or ``[T, B, D]``) tensor."""

from __future__ import annotations

from typing import Any

import torch

from .. import nest
from .._checks import autocast_enabled, describe
from ..cells.base import RNNCell
from ..cells.hooks import begin_sequence
from ..fused import decide, run_fused
from ..fused.checkpointed import run_fused_checkpointed
from ..kernels import kernel_for
from ._checks import check_cell, check_sequence_length, initial_state_or_zeros
from ._loop import run_steps, zero_padding
from .checkpointed import default_chunk_size, run_steps_checkpointed

__all__ = ["check_time_inputs", "dynamic_rnn", "split_time"]


def check_time_inputs(where: str, inputs: Any, time_major: bool) -> tuple[int, int, torch.Tensor]:
    """Check nested ``[B, T, ...]`` (or ``[T, B, ...]``) inputs; return ``(B, T, first_leaf)``."""
    if (
        isinstance(inputs, list)
        and inputs
        and all(isinstance(x, torch.Tensor) and x.dim() == 2 for x in inputs)
    ):
        raise TypeError(
            f"{where}: expected inputs as one [B, T, D] tensor (or a nested structure of them), got a list of "
            f"{len(inputs)} rank-2 tensors; use static_rnn for a list of per-step tensors"
        )
    flat = nest.flatten(inputs)
    if not flat:
        raise ValueError(f"{where}: expected at least one input tensor, got an empty structure")
    layout = "[T, B, D]" if time_major else "[B, T, D]"
    for x in flat:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{where}: expected inputs to be tensors {layout}, got {describe(x)}")
        if x.dim() < 3:
            raise ValueError(
                f"{where}: expected inputs of rank 3 {layout}, got shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise TypeError(f"{where}: expected floating-point inputs, got {x.dtype}")
    time_axis, batch_axis = (0, 1) if time_major else (1, 0)
    time, batch = flat[0].shape[time_axis], flat[0].shape[batch_axis]
    for x in flat[1:]:
        if x.shape[time_axis] != time or x.shape[batch_axis] != batch:
            raise ValueError(
                f"{where}: expected every input to share B={batch} and T={time}, got shape {tuple(x.shape)}"
            )
        if x.dtype != flat[0].dtype:
            raise TypeError(
                f"{where}: expected every input of dtype {flat[0].dtype}, got {x.dtype}"
            )
    if time == 0:
        raise ValueError(
            f"{where}: expected at least one time step, got shape {tuple(flat[0].shape)}"
        )
    if batch == 0:
        # Refused as zero_state(0) is: an empty batch is almost always a data-pipeline bug.
        raise ValueError(
            f"{where}: expected at least one batch row (B >= 1), got shape {tuple(flat[0].shape)}"
        )
    return batch, time, flat[0]


def split_time(
    where: str, inputs: Any, time_major: bool
) -> tuple[list[Any], int, int, torch.Tensor]:
    """Check nested ``[B, T, ...]`` (or ``[T, B, ...]``) inputs and split them into per-step structures.

    Returns ``(steps, B, T, first_leaf)``; ``steps[t]`` has the inputs' structure with ``[B, ...]`` leaves.
    """
    batch, time, first = check_time_inputs(where, inputs, time_major)
    time_axis = 0 if time_major else 1
    flat = nest.flatten(inputs)
    # unbind, not x[:, t]: indexing in a loop makes backward build a full-size zero gradient per step.
    per_leaf = [x.unbind(time_axis) for x in flat]
    steps = [nest.pack_sequence_as(inputs, [leaf[t] for leaf in per_leaf]) for t in range(time)]
    return steps, batch, time, first


def dynamic_rnn(
    cell: RNNCell,
    inputs: Any,
    sequence_length: Any = None,
    initial_state: Any = None,
    dtype: Any = None,
    parallel_iterations: int | None = None,
    swap_memory: bool = False,
    time_major: bool = False,
    scope: str | None = None,
    fused: bool | None = None,
) -> tuple[Any, Any]:
    r"""Run ``cell`` over every time step of ``inputs``; TF1's ``tf.nn.dynamic_rnn``.

    Equivalent loop (see NOTE [sequence_length rule] in ``unroll/_loop.py``)::

        state = initial_state or cell.zero_state(B, inputs.dtype)
        for t in range(T):
            out, new = cell(inputs[:, t], state)
            outputs[:, t] = out if t < sequence_length else 0
            state = new if t < sequence_length else state

    Args:
        cell: any rnnkit cell.
        inputs: ``[B, T, D]`` (``[T, B, D]`` when ``time_major``), or a nested structure of such tensors.
        sequence_length: optional ``[B]`` integers in ``[0, T]`` (tensor, list or array).
        initial_state: optional, nested like ``cell.state_size`` with ``[B, size]`` leaves.
        dtype: accepted for TF compatibility; must match the inputs' dtype when given.
        parallel_iterations: accepted for TF compatibility; no effect.
        swap_memory: trade compute for memory on long sequences: activation checkpointing over chunks of
            ``ceil(sqrt(T))`` steps (``unroll/checkpointed.py``); same results, about one extra forward pass.
            A fusable stack keeps its fused kernels, one checkpointed call per chunk (``fused/checkpointed.py``).
        time_major: whether inputs and outputs are ``[T, B, ...]``.
        scope: accepted for TF compatibility; TF names are chosen in ``rk.tf_variables(cell, scope=...)``.
        fused: None (auto): run stacks that torch's fused RNN kernels compute exactly on them (see
            ``rnnkit.fused``; ``rk.fused.explain(cell)`` says which path runs and why); True: the same, but raise
            ValueError with the reason when the stack is not fusable; False: always the step loop.

    Returns:
        ``(outputs, final_state)``: outputs ``[B, T, output_size]`` (``[T, B, ...]`` when time-major, nested like
        ``cell.output_size``), final_state nested like ``cell.state_size``.
    """
    where = "dynamic_rnn"
    check_cell(where, cell)
    batch, time, like = check_time_inputs(where, inputs, time_major)
    mixed = autocast_enabled(like.device.type)
    if mixed and fused is None:
        # autocast: the fused kernels would return the state in bf16/fp16, where the cells keep it in float32.
        fused = False
    fused_plan = decide(where, cell, inputs, fused)
    begin_sequence(cell)  # NOTE [begin_sequence]: new variational dropout masks etc.
    lengths = check_sequence_length(where, sequence_length, batch, time, like.device)
    if fused_plan is not None and swap_memory:
        # Checkpointed chunks of fused calls (fused/checkpointed.py): memory sub-linear in T, kernels kept.
        state = initial_state_or_zeros(where, cell, initial_state, dtype, batch, like)
        # 3 * ceil(sqrt(T)): still O(sqrt(T)) memory, and a third as many kernel calls as the loop's chunking
        # (each fused call pays a fixed cost, ~2 ms at H=256 on CPU; BENCHMARKS.md).
        widest = min(time, 3 * default_chunk_size(time))
        chunk = -(-time // -(-time // widest))  # the same number of chunks, of equal lengths
        return run_fused_checkpointed(fused_plan, inputs, state, lengths, time_major, chunk)
    if fused_plan is not None:
        state = None  # zeros, made by run_fused straight in the kernels' layout
        if initial_state is not None or dtype is not None:
            state = initial_state_or_zeros(where, cell, initial_state, dtype, batch, like)
        return run_fused(fused_plan, inputs, state, lengths, time_major)
    state = initial_state_or_zeros(where, cell, initial_state, dtype, batch, like)
    padded = zero_padding(inputs, lengths, time_major)  # NOTE [padding never reaches the gradient]
    time_axis = 0 if time_major else 1
    # The precomputed-input fast path is skipped (1) under autocast: the cell's own call keeps the state in the
    # parameters' dtype (cells.base.keep_state_dtype), the fast step does not; (2) with swap_memory: the
    # all-steps input matmul would be held outside the checkpointed chunks, linear in T.
    fast = isinstance(padded, torch.Tensor) and not mixed and not swap_memory
    kernel = (
        kernel_for(cell)[0] if fast else None
    )  # one autograd node for the whole unroll (rnnkit.kernels)
    if kernel is not None:
        cell._prepare_unroll(padded)  # checks the inputs' depth and dtype, builds a lazy cell
        return kernel(padded, state, lengths, time_major)
    prepared = cell._prepare_unroll(padded) if fast else None
    # swap_memory: activation checkpointing over chunks of time steps (unroll/checkpointed.py)
    run = run_steps_checkpointed if swap_memory else run_steps
    if prepared is None:
        steps = split_time(where, padded, time_major)[0]
        outputs, final_state = run(cell, steps, state, lengths, batch, like)
    else:
        # The cell computed its input matmul for all steps at once; slice it per step (unbind, see split_time).
        per_time, step = prepared
        if isinstance(per_time, tuple):
            steps = list(zip(*(t.unbind(time_axis) for t in per_time)))
        else:
            steps = per_time.unbind(time_axis)
        outputs, final_state = run(cell, steps, state, lengths, batch, like, step=step)
    stacked = nest.map_structure(lambda *xs: torch.stack(xs, dim=time_axis), *outputs)
    return stacked, final_state
