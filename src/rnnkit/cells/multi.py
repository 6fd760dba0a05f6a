"""``MultiRNNCell`` (TF1 ``tf.nn.rnn_cell.MultiRNNCell``): cells stacked in depth."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from .. import nest
from .._checks import describe, sequence_items
from .base import RNNCell, check_cell, check_state, unroll_parts
from .fused_spec import FusedSpec, hooks_reason, stack_specs

__all__ = ["MultiRNNCell"]


def _check_distinct(where: str, cells: list[RNNCell]) -> None:
    """Refuse one cell object in two layers, also inside wrappers and nested stacks (``[cell] * 2``, an old
    char-rnn idiom): it would silently share one set of weights listed under two TF names, and a checkpoint whose
    layers differ would load one layer over the other."""
    seen: dict[int, int] = {}
    for i, layer in enumerate(cells):
        for module in layer.modules():  # the layer itself, what it wraps, a nested stack's cells
            if not isinstance(module, RNNCell):
                continue
            j = seen.setdefault(id(module), i)
            if j != i:
                kind = type(module).__name__
                raise ValueError(
                    f"{where}: expected a distinct cell object per layer, got the same {kind} object in "
                    f"cells[{j}] and cells[{i}]; make one cell per layer, e.g. "
                    f"[rk.{kind}(...) for _ in range({len(cells)})] instead of [cell] * {len(cells)}"
                )


class MultiRNNCell(RNNCell):
    r"""Stack cells: cell ``i`` reads the output of cell ``i-1``; the output is the last cell's::

        x_0 = inputs
        x_{i+1}, state'_i = cells[i](x_i, state_i)
        output = x_n;  new state = (state'_0, ..., state'_{n-1})

    Args:
        cells: a non-empty list, tuple or ``nn.ModuleList`` of cells, one distinct object per layer (the same
            object twice, e.g. ``[cell] * 2``, is refused: it would share one set of weights between layers).
        state_is_tuple: True → the state is a tuple of the cells' states; False → the concatenation of their
            (non-nested) states on the last axis, as old TF code used.

    TF names: cell ``i``'s variables live under ``multi_rnn_cell/cell_{i}/`` (e.g.
    ``rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel``).
    """

    tf_name = "multi_rnn_cell"

    def __init__(
        self, cells: Sequence[RNNCell], state_is_tuple: bool = True, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        where = type(self).__name__
        items = None if isinstance(cells, RNNCell) else sequence_items(cells)
        if items is None:
            raise TypeError(f"{where}: expected cells to be a list of cells, got {describe(cells)}")
        if not items:
            raise ValueError(f"{where}: expected at least one cell, got an empty list")
        for i, cell in enumerate(items):
            check_cell(where, cell, f"cells[{i}]")
        _check_distinct(where, items)
        cells = items
        if not isinstance(state_is_tuple, bool):
            raise TypeError(
                f"{where}: expected state_is_tuple to be a bool, got {state_is_tuple!r}"
            )
        if not state_is_tuple and any(nest.is_nested(c.state_size) for c in cells):
            raise ValueError(
                f"{where}: expected cells with non-nested state_size when state_is_tuple=False, got "
                f"{[c.state_size for c in cells]} (pass state_is_tuple=True to each cell's constructor)"
            )
        # A ModuleList of the cells checked above; typed as the sequence of cells it behaves as.
        self.cells: Sequence[RNNCell] = nn.ModuleList(cells)  # type: ignore[assignment]
        self.state_is_tuple = bool(state_is_tuple)

    @property
    def state_size(self) -> Any:
        sizes = tuple(cell.state_size for cell in self.cells)
        return sizes if self.state_is_tuple else sum(sizes)

    @property
    def output_size(self) -> Any:
        return self.cells[-1].output_size

    @property
    def built(self) -> bool:
        return all(cell.built for cell in self.cells)

    def build(self, input_size: int) -> None:
        """Build each cell in turn on the previous cell's output size."""
        for i, cell in enumerate(self.cells):
            cell.build(input_size)
            input_size = cell.output_size
            if not isinstance(input_size, int) and i + 1 < len(self.cells):
                raise ValueError(
                    f"MultiRNNCell.build: expected cells[{i}].output_size to be an int, got {input_size!r}"
                )

    def _split_state(self, state: Any) -> list[Any]:
        if self.state_is_tuple:
            return list(state)
        sizes = [cell.state_size for cell in self.cells]
        return list(torch.split(state, sizes, dim=-1))

    def _join_states(self, states: list[Any]) -> Any:
        return tuple(states) if self.state_is_tuple else torch.cat(states, dim=-1)

    def _stack(
        self, inputs: Any, state: Any, steps: Sequence[Callable[[Any, Any], tuple[Any, Any]]]
    ) -> tuple[Any, Any]:
        """The stack's formula, once: ``steps[i]`` runs cell ``i`` on the previous cell's output."""
        new_states = []
        x = inputs
        for step, cell_state in zip(steps, self._split_state(state)):
            x, new_state = step(x, cell_state)
            new_states.append(new_state)
        return x, self._join_states(new_states)

    def forward(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        """One step of the stack: ``inputs [B, D]``, ``state`` like ``state_size`` → ``(output, new_state)``."""
        flat_inputs = nest.flatten(inputs)
        if flat_inputs and isinstance(flat_inputs[0], torch.Tensor) and flat_inputs[0].dim() > 0:
            check_state(type(self).__name__, self.state_size, state, flat_inputs[0].shape[0])
        return self._stack(inputs, state, list(self.cells))

    def check_inputs(self, inputs: Any) -> Any:
        """Check (and build) each cell in turn on inputs of its depth: the first on ``inputs``, the others on
        zeros of the previous cell's ``output_size`` (like ``inputs`` in dtype and device)."""
        self.cells[0].check_inputs(inputs)
        depth = self.cells[0].output_size
        for cell in self.cells[1:]:
            if not isinstance(inputs, torch.Tensor) or not isinstance(depth, int):
                break  # such cells check their own inputs at every call
            cell.check_inputs(inputs.new_zeros(1, depth))
            depth = cell.output_size
        return inputs

    def input_projection(self, inputs: Any) -> Any:
        """The first cell's ``input_projection``: the only one whose inputs are known before the loop."""
        return unroll_parts(self.cells[0])[0](inputs)

    def recurrent_step(self, projected: Any, state: Any) -> tuple[Any, Any]:
        """The first cell's ``recurrent_step``; each deeper cell's ``input_projection`` + ``recurrent_step``."""
        steps = [unroll_parts(self.cells[0])[1]]
        steps.extend(_unchecked_call(cell) for cell in self.cells[1:])
        return self._stack(projected, state, steps)

    def fused_spec(self) -> FusedSpec | str:
        """The layers' specs, stacked (consecutive layers of one kind and size run in one kernel call)."""
        specs = []
        for i, cell in enumerate(self.cells):
            spec = hooks_reason(cell) or cell.fused_spec()
            if isinstance(spec, str):
                return f"cells[{i}]: {spec}"
            specs.append(spec)
        return stack_specs(specs, self._split_state, self._join_states)

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        for i, cell in enumerate(self.cells):
            yield from cell.named_tf_variables(f"{prefix}{self.tf_name}/cell_{i}/")

    def extra_repr(self) -> str:
        return f"state_is_tuple={self.state_is_tuple}"


def _unchecked_call(cell: RNNCell) -> Callable[[Any, Any], tuple[Any, Any]]:
    """``cell``'s step from raw inputs, without per-step checks: ``recurrent_step(input_projection(x), s)``."""
    project, step = unroll_parts(cell)
    return lambda x, s: step(project(x), s)
