"""``CellWrapper``: the one place where a wrapper forwards the cell contract to the cell it wraps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .base import RNNCell, check_cell

__all__ = ["CellWrapper", "check_wrapped_cell"]


def check_wrapped_cell(where: str, cell: Any) -> RNNCell:
    """``check_cell`` for the cell a wrapper wraps."""
    return check_cell(where, cell)


def _from_cell(name: str) -> Any:
    """A read-only property that reads the wrapped cell's ``name``."""
    return property(lambda self: getattr(self.cell, name), doc=f"The wrapped cell's ``{name}``.")


class CellWrapper(RNNCell):
    """Base of the wrappers: ``state_size``, ``output_size``, ``zero_state``, ``build``, ``built``,
    ``input_size`` and the TF variable names all come from the wrapped ``cell`` unless a subclass overrides them.

    Subclasses implement ``forward(inputs, state)``; the wrapped cell is ``self.cell`` (TF: ``wrapped_cell``).
    """

    def __init__(self, cell: RNNCell, name: str | None = None) -> None:
        super().__init__(name=name)
        self.cell = check_wrapped_cell(type(self).__name__, cell)

    @property
    def wrapped_cell(self) -> RNNCell:
        return self.cell

    state_size = _from_cell("state_size")
    output_size = _from_cell("output_size")
    built = _from_cell("built")

    @property
    def input_size(self) -> int | None:
        return getattr(self.cell, "input_size", None)

    def build(self, input_size: int) -> None:
        self.cell.build(input_size)

    def zero_state(
        self, batch_size: int, dtype: Any = None, device: torch.device | str | None = None
    ) -> Any:
        return self.cell.zero_state(batch_size, dtype, device=device)

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        # TF1's wrappers call the wrapped cell without opening a variable scope: names pass through.
        return self.cell.named_tf_variables(prefix)

    def extra_repr(self) -> str:
        return ""
