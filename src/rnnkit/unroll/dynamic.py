"""``dynamic_rnn`` (TF1 ``tf.nn.dynamic_rnn``): unroll a cell over a ``[B, T, D]`` (or ``[T, B, D]``) tensor."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import torch

from .. import nest
from .._checks import autocast_enabled
from .._recompute import run_in_recomputed_chunks
from ..cells.base import RNNCell, unroll_parts
from ..cells.hooks import begin_sequence
from ..fused.checkpointed import run_fused_checkpointed
from ..fused.fast import remember, remember_kernel, run_remembered
from ..fused.plan import decide
from ..fused.run import run_fused
from ..kernels import kernel_for
from ..kernels.dispatch import SequenceRunner
from ._arguments import (
    check_cell,
    check_input_leaf,
    check_sequence_length,
    initial_state_or_zeros,
)
from ._loop import run_steps, zero_padding
from ._step_extras import check_reset, recording_step, resetting_step
from .checkpointed import default_chunk_size, run_steps_checkpointed

__all__ = ["check_time_inputs", "dynamic_rnn", "split_time", "unbind_time"]


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
    for (
        x
    ) in flat:  # rank 3 or more: a cell may take [B, H, W, C] steps, and checks their rank itself
        check_input_leaf(where, "inputs", x, layout, 3, exact=False)
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
    return unbind_time(inputs, time_axis), batch, time, first


def unbind_time(structure: Any, time_axis: int) -> list[Any]:
    """A nested structure of ``[.., T, ..]`` tensors → a list of T structures of per-step slices."""
    if isinstance(structure, torch.Tensor):
        # unbind, not x[:, t]: indexing in a loop makes backward build a full-size zero gradient per step.
        return list(structure.unbind(time_axis))
    per_leaf = [x.unbind(time_axis) for x in nest.flatten(structure)]
    return [nest.pack_sequence_as(structure, list(leaves)) for leaves in zip(*per_leaf)]


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
    reset: Any = None,
    return_all_states: bool = False,
    reset_to: Any = None,
) -> Any:
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
        swap_memory: trade compute for memory on long sequences: activations are rebuilt in backward, chunk by
            chunk; same results, about one extra forward pass. A fusable stack keeps its fused kernels and a cell
            with a sequence kernel its kernel, one recomputed call per chunk of about ``3 * ceil(sqrt(T))`` steps
            (``rnnkit._recompute``); other cells run the step loop checkpointed over ``ceil(sqrt(T))``-step chunks
            (``unroll/checkpointed.py``).
        time_major: whether inputs and outputs are ``[T, B, ...]``.
        scope: accepted for TF compatibility; TF names are chosen in ``rk.tf_variables(cell, scope=...)``.
        fused: None (auto): run stacks that torch's fused RNN kernels compute exactly on them (see
            ``rnnkit.fused``; ``rk.fused.explain(cell)`` says which path runs and why); True: the same, but raise
            ValueError with the reason when the stack is not fusable; False: always the step loop.
        reset: optional bool ``[B, T]`` (``[T, B]`` time-major): where True, that row's state is set back to its
            initial state (``initial_state``, or zeros) before step t runs -- episodes or documents packed back to
            back in one row. Equal to running the pieces separately. Runs the step loop.
        reset_to: the state that ``reset`` rows restart from, if not the initial state (e.g. a stream that
            starts from a carried state but restarts episodes from zeros); nested like ``cell.state_size``.
        return_all_states: also return the state after every step (runs the step loop).

    Returns:
        ``(outputs, final_state)``: outputs ``[B, T, output_size]`` (``[T, B, ...]`` when time-major, nested like
        ``cell.output_size``), final_state nested like ``cell.state_size``. With ``return_all_states``:
        ``(outputs, final_state, all_states)``, all_states nested like ``cell.state_size`` with a time axis where
        the outputs have theirs, zeros past each row's length (as the outputs).
    """
    where = "dynamic_rnn"
    plain = (
        isinstance(cell, RNNCell) and isinstance(inputs, torch.Tensor)
        and (fused is None or fused is True or fused is False)
        and sequence_length is None and initial_state is None and dtype is None and not swap_memory
        and reset is None and not return_all_states and reset_to is None
    )  # fmt: skip
    if plain:  # NOTE [fast fused call]: a plan made by an earlier call, still exact
        done = run_remembered(cell, inputs, time_major, fused)
        if done is not None:
            return done
    check_cell(where, cell)
    batch, time, like = check_time_inputs(where, inputs, time_major)
    mixed = autocast_enabled(like.device.type)
    fused = _fused_choice(where, fused, swap_memory, mixed, reset is not None or return_all_states)
    fused_plan = decide(where, cell, inputs, fused)
    begin_sequence(cell)  # NOTE [begin_sequence]: new variational dropout masks etc.
    lengths = check_sequence_length(where, sequence_length, batch, time, like.device)
    if reset is not None:
        reset = check_reset(where, reset, batch, time, time_major, like.device)
    if fused_plan is not None and swap_memory:
        # Checkpointed chunks of fused calls (fused/checkpointed.py): memory O(sqrt(T)), kernels kept.
        state = initial_state_or_zeros(where, cell, initial_state, dtype, batch, like)
        return run_fused_checkpointed(
            fused_plan, inputs, state, lengths, time_major, _fused_chunk(time)
        )
    if fused_plan is not None:
        if plain:
            remember(cell, fused_plan, inputs)
        state = None  # zeros, made by run_fused straight in the kernels' layout
        if initial_state is not None or dtype is not None:
            state = initial_state_or_zeros(where, cell, initial_state, dtype, batch, like)
        return run_fused(fused_plan, inputs, state, lengths, time_major)
    state = initial_state_or_zeros(where, cell, initial_state, dtype, batch, like)
    restart = state
    if reset_to is not None:
        restart = initial_state_or_zeros(f"{where} (reset_to)", cell, reset_to, dtype, batch, like)
    loop = _Loop(
        time_major, mixed, swap_memory, reset, restart, return_all_states, plain, fused is False
    )
    return loop.run(cell, inputs, state, lengths, batch)


class _Loop(NamedTuple):
    """How ``dynamic_rnn`` runs the step loop (when no fused kernel runs the cell)."""

    time_major: bool
    mixed: bool  # autocast is on
    swap_memory: bool
    reset: torch.Tensor | None  # checked bool [B, T] / [T, B]
    restart: Any  # the state that reset rows restart from
    return_all_states: bool
    plain: bool  # NOTE [fast fused call]: a sequence kernel chosen for this call may be remembered
    unfused: bool  # fused is False for this call (passed, or made so by _fused_choice)

    def run(
        self, cell: RNNCell, inputs: Any, state: Any, lengths: torch.Tensor | None, batch: int
    ) -> Any:
        padded = zero_padding(
            inputs, lengths, self.time_major
        )  # NOTE [padding never reaches the gradient]
        time_axis = 0 if self.time_major else 1
        kernel = None
        if not (self.mixed or self.reset is not None or self.return_all_states):
            kernel = kernel_for(cell, padded)[0]
        if kernel is not None:  # one autograd node for the whole unroll (rnnkit.kernels)
            # depth and dtype (PhasedLSTMCell: of its (time, x) pair); builds a lazy cell
            cell.check_inputs(nest.map_structure(lambda t: t.select(time_axis, 0), padded))
            if self.plain:
                remember_kernel(cell, kernel, padded, self.unfused)
            if self.swap_memory:  # one node per chunk, re-run in backward (rnnkit._recompute)
                runner = functools.partial(_kernel_chunk, kernel, self.time_major)
                chunk = _fused_chunk(nest.flatten(padded)[0].shape[time_axis])
                return run_in_recomputed_chunks(
                    runner, padded, state, lengths, self.time_major, chunk, cell
                )
            return kernel(padded, state, lengths, self.time_major)
        project, step = _step_parts(cell, padded, time_axis, self.mixed or self.swap_memory)
        steps = unbind_time(project(padded), time_axis)
        if self.reset is not None:
            steps = list(zip(steps, self.reset.unsqueeze(-1).unbind(time_axis)))
            step = resetting_step(step, self.restart)
        if self.return_all_states:
            step = recording_step(step)
        # swap_memory: activation checkpointing over chunks of time steps (unroll/checkpointed.py)
        run = run_steps_checkpointed if self.swap_memory else run_steps
        outputs, final_state = run(cell, steps, state, lengths, batch, step=step)
        stacked = nest.map_structure(lambda *xs: torch.stack(xs, dim=time_axis), *outputs)
        if self.return_all_states:
            outputs_only, all_states = stacked
            return outputs_only, final_state, all_states
        return stacked, final_state


def _kernel_chunk(
    kernel: SequenceRunner, time_major: bool, x: Any, state: Any, lengths: Any, start: int
) -> tuple[torch.Tensor, Any]:
    """One chunk of a sequence kernel (``run_in_recomputed_chunks``' runner)."""
    return kernel(x, state, lengths, time_major)


def _fused_chunk(time: int) -> int:
    """Chunk length for swap_memory on fused kernels: about ``3 * ceil(sqrt(T))`` steps, in equal chunks. Still
    O(sqrt(T)) memory, with a third of the step loop's number of chunks: each fused call pays a fixed cost
    (~2 ms at H=256 on CPU, BENCHMARKS.md)."""
    widest = min(time, 3 * default_chunk_size(time))
    return -(-time // -(-time // widest))  # the same number of chunks, of equal lengths


def _fused_choice(where: str, fused: Any, swap_memory: bool, mixed: bool, extras: bool) -> Any:
    """``fused`` after the rules that make auto mean the step loop: autocast (the kernels would return the state
    in bf16/fp16, where the cells keep it in float32), and reset / return_all_states (the kernels neither restart
    rows nor return every step's state). swap_memory keeps a fusable stack fused, in checkpointed chunks."""
    if extras and fused is True:
        raise ValueError(
            f"{where}: fused=True, but reset= and return_all_states=True run the step loop (torch's fused "
            "kernels neither restart rows nor return every step's state); pass fused=None or False"
        )
    if (mixed or extras) and fused is None:
        return False
    return fused


def _step_parts(
    cell: RNNCell, inputs: Any, time_axis: int, per_call: bool
) -> tuple[Callable[[Any], Any], Callable[[Any, Any], tuple[Any, Any]]]:
    """How the loop runs ``cell``: ``(project, step)`` with ``project`` applied to all steps' inputs at once.

    The split form (``input_projection`` for all T steps in one matmul, then ``recurrent_step``, inputs checked
    once here) for one input tensor; the cell's own call at every step (``per_call``) (1) under autocast: the
    cell's call keeps the state in the parameters' dtype (``cells.base.keep_state_dtype``), and (2) with
    swap_memory: the all-steps projection would be held outside the checkpointed chunks, linear in T.
    """
    if per_call or not isinstance(inputs, torch.Tensor):
        return _identity, cell
    cell.check_inputs(inputs.select(time_axis, 0))
    return unroll_parts(cell)


def _identity(inputs: Any) -> Any:
    return inputs
