"""Bidirectional unrolls (TF1 ``tf.nn.bidirectional_dynamic_rnn``, ``static_bidirectional_rnn`` and contrib's
``stack_bidirectional_dynamic_rnn`` / ``stack_bidirectional_rnn``), built on the public ``dynamic_rnn`` /
``static_rnn`` so that every speed-up of those applies here too.

NOTE [length-aware reversal]: the backward direction reads each row reversed over its *own* length only (TF's
``reverse_sequence``): with ``sequence_length[b] = n`` row ``b``'s steps ``0..n-1`` are read as ``n-1..0`` and the
padding after ``n`` stays where it is. The backward outputs are reversed back the same way, so ``out_bw[b, t]``
belongs to input step ``t``, and past ``n`` they are zeros (the sequence_length rule).

TF names: ``bidirectional_rnn/fw/<cell>/...`` and ``bidirectional_rnn/bw/<cell>/...`` (the static one too);
stacks: ``stack_bidirectional_rnn/cell_{i}/bidirectional_rnn/fw/...`` (dynamic) but
``stack_bidirectional_rnn/cell_{i}/fw/...`` (static: contrib passed the layer scope down as the bidirectional
scope). ``rk.tf_variables_bidirectional`` / ``rk.tf_variables_stack_bidirectional`` spell them out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from .. import nest
from .._checks import describe, sequence_items, to_torch_dtype
from .._sequence import reverse_sequence_unchecked
from ..cells.base import RNNCell, check_cell, check_state
from ..fused.plan import decide
from ..fused.run import one_call_bidirectional, run_fused_bidirectional
from ._arguments import check_dtype_matches, check_sequence_length, initial_state_or_zeros
from .dynamic import check_time_inputs, dynamic_rnn
from .static import check_step_list, static_rnn

__all__ = [
    "reverse_sequence",
    "bidirectional_dynamic_rnn",
    "static_bidirectional_rnn",
    "stack_bidirectional_dynamic_rnn",
    "stack_bidirectional_rnn",
]


def reverse_sequence(
    input: torch.Tensor, seq_lengths: torch.Tensor | None, seq_axis: int = 1, batch_axis: int = 0
) -> torch.Tensor:
    """TF's ``reverse_sequence``: reverse each row ``b`` of ``input`` over its first ``seq_lengths[b]`` steps
    along ``seq_axis`` (the rest unchanged); ``seq_lengths=None`` reverses the whole axis.

    Shape: ``input [B, T, ...]`` (``seq_axis=1, batch_axis=0``) or ``[T, B, ...]`` (``0, 1``); ``seq_lengths [B]``.
    """
    where = "reverse_sequence"
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{where}: expected input to be a tensor, got {describe(input)}")
    if (seq_axis, batch_axis) not in ((1, 0), (0, 1)) or input.dim() < 2:
        raise ValueError(
            f"{where}: expected (seq_axis, batch_axis) (1, 0) or (0, 1) on an input of rank >= 2, got "
            f"({seq_axis}, {batch_axis}) on shape {tuple(input.shape)}"
        )
    if seq_lengths is None:
        return input.flip(seq_axis)
    time = input.shape[seq_axis]
    checked = check_sequence_length(
        where, seq_lengths, input.shape[batch_axis], time, input.device, name="seq_lengths"
    )
    return reverse_sequence_unchecked(input, checked, seq_axis, batch_axis)


# The dynamic counterpart of each unroll over a list of steps, named when a caller passes one [B, T, D] tensor.
_DYNAMIC = {
    "static_bidirectional_rnn": "bidirectional_dynamic_rnn",
    "stack_bidirectional_rnn": "stack_bidirectional_dynamic_rnn",
}


def _check_inputs(
    where: str, inputs: Any, sequence_length: Any, dtype: Any, time_major: bool | None
) -> tuple[int, torch.Tensor | None, torch.Tensor]:
    """Check ``inputs`` as the unroll they feed checks them (but under this function's name), ``dtype=`` (if
    given) against theirs and ``sequence_length`` against their ``B`` and ``T``.

    ``time_major=None``: a non-empty list of per-step ``[B, D]`` structures (``static_rnn``'s inputs); otherwise
    nested ``[B, T, ...]`` tensors (``[T, B, ...]`` when time-major; ``dynamic_rnn``'s).

    Returns ``(B, lengths, first leaf)``: ``lengths`` an int64 ``[B]`` tensor, or None.
    """
    if time_major is None:
        batch, like = check_step_list(where, inputs, _DYNAMIC[where])
        time = len(inputs)
    else:
        batch, time, like = check_time_inputs(where, inputs, time_major)
    check_dtype_matches(where, to_torch_dtype(where, dtype), like)
    return batch, check_sequence_length(where, sequence_length, batch, time, like.device), like


def _check_pair(
    where: str,
    cells: tuple[RNNCell, RNNCell],
    initial_states: tuple[Any, Any],
    inputs: Any,
    sequence_length: Any,
    dtype: Any,
    time_major: bool | None,
) -> tuple[int, torch.Tensor | None, torch.Tensor]:
    """The checks of a bidirectional unroll, in this order: the cells, the inputs, ``dtype`` and
    ``sequence_length`` (``_check_inputs``, which returns what this returns), each direction's initial state.

    The states are checked here, not only by each direction's unroll, so that the message names the argument
    (``initial_state_fw`` / ``initial_state_bw``)."""
    for name, cell in zip(("cell_fw", "cell_bw"), cells):
        check_cell(where, cell, name)
    batch, lengths, like = _check_inputs(where, inputs, sequence_length, dtype, time_major)
    for name, cell, state in zip(("initial_state_fw", "initial_state_bw"), cells, initial_states):
        if state is not None:
            check_state(f"{where} ({name})", cell.state_size, state, batch, like.dtype, like.device)
    return batch, lengths, like


def bidirectional_dynamic_rnn(
    cell_fw: RNNCell,
    cell_bw: RNNCell,
    inputs: Any,
    sequence_length: Any = None,
    initial_state_fw: Any = None,
    initial_state_bw: Any = None,
    dtype: Any = None,
    parallel_iterations: int | None = None,
    swap_memory: bool = False,
    time_major: bool = False,
    scope: str | None = None,
    fused: bool | None = None,
    return_all_states: bool = False,
) -> Any:
    r"""A forward and a backward ``dynamic_rnn`` over the same inputs; TF1's ``tf.nn.bidirectional_dynamic_rnn``::

        out_fw, state_fw = dynamic_rnn(cell_fw, x, sequence_length, initial_state_fw)
        x_rev            = reverse_sequence(x, sequence_length)            # NOTE [length-aware reversal]
        out_bw, state_bw = dynamic_rnn(cell_bw, x_rev, sequence_length, initial_state_bw)
        out_bw           = reverse_sequence(out_bw, sequence_length)

    Args:
        cell_fw, cell_bw: rnnkit cells (distinct objects, unless sharing parameters is meant).
        inputs: ``[B, T, D]`` (``[T, B, D]`` when ``time_major``) or a nested structure of such tensors.
        sequence_length: optional ``[B]`` integers in ``[0, T]``.
        initial_state_fw, initial_state_bw: optional states like each cell's ``state_size``.
        dtype, parallel_iterations, swap_memory, time_major, scope: as for ``dynamic_rnn`` (scope only names
            variables in TF: see ``rk.tf_variables_bidirectional``).
        fused: as for ``dynamic_rnn``, for each direction; when both cells are one fusable layer of the same kind
            and size, one bidirectional kernel call runs both directions (torch's packed reverse direction is
            TF's length-aware reversal).
        return_all_states: also return every step's state of each direction (step loop; the backward
            direction's states are reversed back like its outputs, so step t holds the state after input t).

    Returns:
        ``((out_fw, out_bw), (state_fw, state_bw))``: outputs ``[B, T, output_size]`` of each direction (not
        concatenated, as TF), and each direction's final state; with ``return_all_states`` a third item
        ``(all_states_fw, all_states_bw)`` as ``dynamic_rnn`` returns them.
    """
    where = "bidirectional_dynamic_rnn"
    cells, states = (cell_fw, cell_bw), (initial_state_fw, initial_state_bw)
    batch, lengths, like = _check_pair(
        where, cells, states, inputs, sequence_length, dtype, time_major
    )
    if (swap_memory or return_all_states) and fused is None:
        fused = False  # as dynamic_rnn: see its _fused_choice
    plan_fw = decide(f"{where} (cell_fw)", cell_fw, inputs, fused)
    plan_bw = decide(f"{where} (cell_bw)", cell_bw, inputs, fused)
    if plan_fw is not None and plan_bw is not None and one_call_bidirectional(plan_fw, plan_bw):
        state_fw = initial_state_or_zeros(where, cell_fw, initial_state_fw, dtype, batch, like)
        state_bw = initial_state_or_zeros(where, cell_bw, initial_state_bw, dtype, batch, like)
        return run_fused_bidirectional(
            plan_fw, plan_bw, inputs, state_fw, state_bw, lengths, time_major
        )
    options = {
        "sequence_length": lengths,
        "dtype": dtype,
        "swap_memory": swap_memory,
        "time_major": time_major,
        "fused": fused,
        "return_all_states": return_all_states,
    }
    fw = dynamic_rnn(cell_fw, inputs, initial_state=initial_state_fw, **options)
    seq_axis, batch_axis = (0, 1) if time_major else (1, 0)

    def reverse(x: torch.Tensor) -> torch.Tensor:
        return reverse_sequence_unchecked(x, lengths, seq_axis, batch_axis)

    reversed_inputs = nest.map_structure(reverse, inputs)
    bw = dynamic_rnn(cell_bw, reversed_inputs, initial_state=initial_state_bw, **options)
    result = (fw[0], nest.map_structure(reverse, bw[0])), (fw[1], bw[1])
    if return_all_states:
        return (*result, (fw[2], nest.map_structure(reverse, bw[2])))
    return result


def _reverse_steps(steps: list[Any], lengths: torch.Tensor | None) -> list[Any]:
    """Reverse a list of per-step structures per row over each row's length (NOTE [length-aware reversal])."""
    if lengths is None:
        return list(reversed(steps))

    def reverse_leaf(*xs: torch.Tensor) -> torch.Tensor:
        return reverse_sequence_unchecked(torch.stack(xs, 0), lengths, seq_axis=0, batch_axis=1)

    stacked = nest.map_structure(reverse_leaf, *steps)  # leaves [T, B, ...]
    flat = [leaf.unbind(0) for leaf in nest.flatten(stacked)]
    return [nest.pack_sequence_as(steps[0], [leaf[t] for leaf in flat]) for t in range(len(steps))]


def static_bidirectional_rnn(
    cell_fw: RNNCell,
    cell_bw: RNNCell,
    inputs: Any,
    initial_state_fw: Any = None,
    initial_state_bw: Any = None,
    dtype: Any = None,
    sequence_length: Any = None,
    scope: str | None = None,
) -> tuple[list[Any], Any, Any]:
    r"""``bidirectional_dynamic_rnn`` over a Python list of steps; TF1's ``tf.nn.static_bidirectional_rnn``.

    Unlike the dynamic version (and as TF), the outputs are the per-step concatenation
    ``concat([out_fw[t], out_bw[t]], -1)`` (leaf by leaf for nested outputs).

    Args:
        cell_fw, cell_bw: rnnkit cells.
        inputs: a non-empty list of ``[B, D]`` tensors (or nested structures of them), one per step.
        initial_state_fw, initial_state_bw, dtype, sequence_length, scope: as for ``bidirectional_dynamic_rnn``.

    Returns:
        ``(outputs, state_fw, state_bw)``: a list of T ``[B, fw.output_size + bw.output_size]`` tensors and the
        final states.
    """
    where = "static_bidirectional_rnn"
    cells, states = (cell_fw, cell_bw), (initial_state_fw, initial_state_bw)
    _, lengths, _ = _check_pair(where, cells, states, inputs, sequence_length, dtype, None)
    out_fw, state_fw = static_rnn(cell_fw, list(inputs), initial_state_fw, dtype, lengths)
    out_bw, state_bw = static_rnn(
        cell_bw, _reverse_steps(list(inputs), lengths), initial_state_bw, dtype, lengths
    )
    out_bw = _reverse_steps(out_bw, lengths)
    outputs = [
        nest.map_structure(lambda f, b: torch.cat([f, b], -1), fw, bw)
        for fw, bw in zip(out_fw, out_bw)
    ]
    return outputs, state_fw, state_bw


def _check_stack(
    where: str, cells_fw: Any, cells_bw: Any, initial_states_fw: Any, initial_states_bw: Any
) -> None:
    for name, cells in (("cells_fw", cells_fw), ("cells_bw", cells_bw)):
        if isinstance(cells, RNNCell) or sequence_items(cells) is None:  # a ModuleList too
            raise TypeError(
                f"{where}: expected {name} to be a list of cells (one per layer), got {describe(cells)}"
            )
        if not cells:
            raise ValueError(f"{where}: expected at least one cell in {name}, got an empty list")
        for i, cell in enumerate(cells):
            check_cell(where, cell, f"{name}[{i}]")
    if len(cells_fw) != len(cells_bw):
        raise ValueError(
            f"{where}: expected cells_fw and cells_bw of the same depth, got {len(cells_fw)} and {len(cells_bw)}"
        )
    for name, states in (
        ("initial_states_fw", initial_states_fw),
        ("initial_states_bw", initial_states_bw),
    ):
        if states is not None and (
            not isinstance(states, (list, tuple)) or len(states) != len(cells_fw)
        ):
            raise ValueError(
                f"{where}: expected {name} to be a list of {len(cells_fw)} states (one per layer), "
                f"got {describe(states)}"
            )


# One layer of a stack: (outputs, state_fw, state_bw), the outputs being the next layer's inputs.
_Layer = tuple[Any, Any, Any]


def _stack(
    run_layer: Callable[[RNNCell, RNNCell, Any, Any, Any], _Layer],
    cells_fw: list[RNNCell],
    cells_bw: list[RNNCell],
    inputs: Any,
    initial_states_fw: list[Any] | None,
    initial_states_bw: list[Any] | None,
) -> tuple[Any, tuple[Any, ...], tuple[Any, ...]]:
    """The layer loop of both stacks (checked by ``_check_stack``): ``x = inputs``, then for each layer ``i``
    ``x, state_fw[i], state_bw[i] = run_layer(cells_fw[i], cells_bw[i], x, initial_states_fw[i],
    initial_states_bw[i])`` (None for a state list not given); returns ``(x, states_fw, states_bw)``."""
    states_fw, states_bw = [], []
    layer = inputs
    for i, (cell_fw, cell_bw) in enumerate(zip(cells_fw, cells_bw)):
        layer, state_fw, state_bw = run_layer(
            cell_fw,
            cell_bw,
            layer,
            initial_states_fw[i] if initial_states_fw else None,
            initial_states_bw[i] if initial_states_bw else None,
        )
        states_fw.append(state_fw)
        states_bw.append(state_bw)
    return layer, tuple(states_fw), tuple(states_bw)


def stack_bidirectional_dynamic_rnn(
    cells_fw: list[RNNCell],
    cells_bw: list[RNNCell],
    inputs: Any,
    initial_states_fw: list[Any] | None = None,
    initial_states_bw: list[Any] | None = None,
    dtype: Any = None,
    sequence_length: Any = None,
    parallel_iterations: int | None = None,
    time_major: bool = False,
    scope: str | None = None,
    fused: bool | None = None,
) -> tuple[torch.Tensor, tuple[Any, ...], tuple[Any, ...]]:
    r"""Layers of ``bidirectional_dynamic_rnn``, each reading the previous layer's ``concat([out_fw, out_bw], -1)``
    (Graves et al. 2013); TF 1.15 contrib's ``stack_bidirectional_dynamic_rnn``::

        x = inputs
        for i: (out_fw, out_bw), (s_fw[i], s_bw[i]) = bidirectional_dynamic_rnn(cells_fw[i], cells_bw[i], x, ...)
               x = concat([out_fw, out_bw], -1)

    Returns:
        ``(outputs, states_fw, states_bw)``: the last layer's ``[B, T, fw + bw output sizes]`` (``[T, B, ...]``
        when time-major) and tuples of each layer's final states.
    """
    where = "stack_bidirectional_dynamic_rnn"
    _check_stack(where, cells_fw, cells_bw, initial_states_fw, initial_states_bw)
    _, lengths, _ = _check_inputs(where, inputs, sequence_length, dtype, time_major)

    def layer(cell_fw: RNNCell, cell_bw: RNNCell, x: Any, state_fw: Any, state_bw: Any) -> _Layer:
        (out_fw, out_bw), (state_fw, state_bw) = bidirectional_dynamic_rnn(
            cell_fw,
            cell_bw,
            x,
            lengths,
            state_fw,
            state_bw,
            dtype,
            time_major=time_major,
            fused=fused,
        )
        return torch.cat([out_fw, out_bw], -1), state_fw, state_bw

    return _stack(layer, cells_fw, cells_bw, inputs, initial_states_fw, initial_states_bw)


def stack_bidirectional_rnn(
    cells_fw: list[RNNCell],
    cells_bw: list[RNNCell],
    inputs: Any,
    initial_states_fw: list[Any] | None = None,
    initial_states_bw: list[Any] | None = None,
    dtype: Any = None,
    sequence_length: Any = None,
    scope: str | None = None,
) -> tuple[list[Any], tuple[Any, ...], tuple[Any, ...]]:
    r"""Layers of ``static_bidirectional_rnn`` over a list of steps; TF 1.15 contrib's ``stack_bidirectional_rnn``.

    Returns:
        ``(outputs, states_fw, states_bw)``: the last layer's list of T concatenated outputs and tuples of each
        layer's final states.
    """
    where = "stack_bidirectional_rnn"
    _check_stack(where, cells_fw, cells_bw, initial_states_fw, initial_states_bw)
    _, lengths, _ = _check_inputs(where, inputs, sequence_length, dtype, None)
    layer = functools.partial(static_bidirectional_rnn, dtype=dtype, sequence_length=lengths)
    return _stack(layer, cells_fw, cells_bw, list(inputs), initial_states_fw, initial_states_bw)
