"""``raw_rnn`` (TF1 ``tf.nn.raw_rnn``): an unroll whose every next input comes from a user function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import nest
from .._checks import describe
from ..cells.base import RNNCell, check_state
from ..cells.hooks import begin_sequence
from ._arguments import check_cell

__all__ = ["raw_rnn"]

LoopFn = Callable[[int, Any, Any, Any], tuple[Any, Any, Any, Any, Any]]


def _check_finished(where: str, time: int, finished: Any, batch: int | None) -> torch.Tensor:
    if (
        not isinstance(finished, torch.Tensor)
        or finished.dtype != torch.bool
        or finished.dim() != 1
    ):
        raise TypeError(
            f"{where}: expected loop_fn to return finished as a bool tensor [B] at time {time}, got {describe(finished)}"
        )
    if batch is not None and finished.shape[0] != batch:
        raise ValueError(
            f"{where}: expected loop_fn's finished of shape [B] = ({batch},) at time {time}, "
            f"got shape {tuple(finished.shape)}"
        )
    return finished


def _zero_emit(
    where: str, cell: RNNCell, emit_structure: Any, state: Any, batch: int, device: Any
) -> Any:
    """The zeros written for finished rows: ``[B, ...]`` leaves shaped like the emit structure."""
    dtype = nest.flatten(state)[0].dtype
    if emit_structure is None:
        return nest.map_structure(
            lambda size: torch.zeros(batch, size, dtype=dtype, device=device), cell.output_size
        )

    def leaf(x: Any) -> torch.Tensor:
        if isinstance(x, torch.Tensor):  # as TF: the template's shape has no batch axis
            return torch.zeros((batch, *x.shape), dtype=x.dtype, device=device)
        if isinstance(x, int) and not isinstance(x, bool):
            return torch.zeros(batch, x, dtype=dtype, device=device)
        raise TypeError(
            f"{where}: expected loop_fn's emit_output at time 0 to be None, ints or tensors, got {describe(x)}"
        )

    return nest.map_structure(leaf, emit_structure)


def _select(finished: torch.Tensor, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """``old`` for finished rows, ``new`` for the others (TF's ``_copy_some_through``)."""
    return torch.where(finished.view(-1, *([1] * (new.dim() - 1))), old, new)


def raw_rnn(
    cell: RNNCell,
    loop_fn: LoopFn,
    parallel_iterations: int | None = None,
    swap_memory: bool = False,
    scope: str | None = None,
) -> tuple[Any, Any, Any]:
    r"""Run ``cell`` while ``loop_fn`` supplies each next input; TF1's ``tf.nn.raw_rnn``.

    ``loop_fn(time, cell_output, cell_state, loop_state) -> (finished, next_input, next_cell_state, emit_output,
    next_loop_state)``. At ``time=0`` it is called with ``cell_output = cell_state = loop_state = None`` and
    returns the initial input, the initial state, ``emit_output`` = the emitted structure's template (None → like
    ``cell.output_size``; else ints or tensors whose shape, without the batch axis, and dtype give the zeros) and
    the initial loop state (None → the final loop state is None). Then::

        time, finished, x, state, loop_state = 0, *loop_fn(0, None, None, None)
        while not all(finished):
            out, cell_state = cell(x, state)
            next_finished, x, next_state, emit, next_loop = loop_fn(time + 1, out, cell_state, loop_state)
            emits[time] = where(finished, zeros, emit)          # rows already finished emit zeros
            state = where(finished, state, next_state)          # ...and keep their state
            loop_state = loop_state if next_loop is None else next_loop
            finished |= next_finished;  time += 1

    Args:
        cell: any rnnkit cell.
        loop_fn: the callable above (inputs ``[B, D]``; ``finished`` a bool ``[B]`` tensor).
        parallel_iterations, swap_memory, scope: accepted for TF compatibility; no effect (scope: see
            ``rk.tf_variables``, default ``rnn``).

    Returns:
        ``(emit, final_state, final_loop_state)``: ``emit`` stacked over time, leaves ``[T, B, ...]`` (TF's
        ``emit_ta.stack()``; ``T`` = number of steps run, possibly 0), the final state and the final loop state.
    """
    where = "raw_rnn"
    check_cell(where, cell)
    if not callable(loop_fn):
        raise TypeError(f"{where}: expected loop_fn to be callable, got {describe(loop_fn)}")
    begin_sequence(cell)  # NOTE [begin_sequence]
    first = _call(where, loop_fn, 0, None, None, None)
    finished, next_input, state, emit_structure, init_loop_state = first
    flat_input = nest.flatten(next_input)
    if not flat_input or not all(isinstance(x, torch.Tensor) for x in flat_input):
        raise TypeError(
            f"{where}: expected loop_fn's next_input at time 0 to be tensors, got {describe(next_input)}"
        )
    batch = flat_input[0].shape[0]
    finished = _check_finished(where, 0, finished, batch)
    if state is None:
        raise ValueError(
            f"{where}: expected loop_fn to return the initial cell state at time 0, got None"
        )
    check_state(f"{where} (initial state from loop_fn)", cell.state_size, state, batch)
    zeros = _zero_emit(where, cell, emit_structure, state, batch, flat_input[0].device)
    loop_state = init_loop_state
    emits: list[Any] = []
    time = 0
    while not bool(finished.all()):
        output, cell_state = cell(next_input, state)
        result = _call(where, loop_fn, time + 1, output, cell_state, loop_state)
        next_finished, new_input, next_state, emit, next_loop_state = result
        next_finished = _check_finished(where, time + 1, next_finished, batch)
        _same(where, time + 1, "next_input", next_input, new_input)
        _same(where, time + 1, "next_cell_state", state, next_state)
        _same(where, time + 1, "emit_output", zeros, emit)
        emits.append(nest.map_structure(lambda z, e, f=finished: _select(f, z, e), zeros, emit))
        state = nest.map_structure(lambda s, n, f=finished: _select(f, s, n), state, next_state)
        loop_state = loop_state if next_loop_state is None else next_loop_state
        next_input = new_input
        finished = finished | next_finished
        time += 1
    if emits:
        stacked = nest.map_structure(lambda *xs: torch.stack(xs, 0), *emits)
    else:
        stacked = nest.map_structure(lambda z: z.new_zeros((0, *z.shape)), zeros)
    return stacked, state, (None if init_loop_state is None else loop_state)


def _call(
    where: str, loop_fn: LoopFn, time: int, output: Any, state: Any, loop_state: Any
) -> tuple:
    result = loop_fn(time, output, state, loop_state)
    if not isinstance(result, (tuple, list)) or len(result) != 5:
        raise TypeError(
            f"{where}: expected loop_fn to return (finished, next_input, next_cell_state, emit_output, "
            f"next_loop_state) at time {time}, got {describe(result)}"
        )
    return tuple(result)


def _same(where: str, time: int, name: str, expected: Any, received: Any) -> None:
    nest.assert_same_structure(
        expected, received, where=f"{where}: loop_fn's {name} at time {time}"
    )
    for want, got in zip(nest.flatten(expected), nest.flatten(received)):
        if not isinstance(got, torch.Tensor):
            raise TypeError(
                f"{where}: expected loop_fn's {name} at time {time} to hold tensors, got {describe(got)}"
            )
        if got.shape != want.shape:
            raise ValueError(
                f"{where}: expected loop_fn's {name} at time {time} of shape {tuple(want.shape)}, "
                f"got {tuple(got.shape)}"
            )
