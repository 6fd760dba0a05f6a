"""TF 1.15 contrib's ``OutputProjectionWrapper`` and ``InputProjectionWrapper`` (``tf.contrib.rnn``).

Unlike the other wrappers these own variables, and — being plain TF ``RNNCell``s called through a layer scope —
they open a scope named after the class, inside which the wrapped cell creates its own: for
``dynamic_rnn(OutputProjectionWrapper(BasicLSTMCell(H), P), ...)`` TF 1.15 named the variables
``rnn/output_projection_wrapper/basic_lstm_cell/kernel``, ``.../bias`` (the cell runs first, so its variables come
first), then ``rnn/output_projection_wrapper/kernel [H, P]`` (glorot-uniform) and ``.../bias [P]`` (zeros).
``InputProjectionWrapper`` creates its ``kernel [D, num_proj]`` and ``bias`` before calling the cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .._checks import check_positive_int, describe
from ..activations import Activation, resolve_activation
from .base import RNNCell, glorot_uniform_
from .lazy import adopt, placeholder, unbuilt
from .wrapper_base import CellWrapper

__all__ = ["OutputProjectionWrapper", "InputProjectionWrapper"]


def _activation(where: str, activation: str | Activation | None) -> Activation | None:
    # TF's default here is no activation at all (a linear projection), not tanh.
    if activation is None:
        return None
    return resolve_activation(where, activation)[0]


def _param_dtype_device(
    cell: RNNCell, like: torch.Tensor | None
) -> tuple[torch.dtype, torch.device]:
    if like is not None:
        return like.dtype, like.device
    param = next(cell.parameters(), None)
    if param is not None:
        return param.dtype, param.device
    return torch.get_default_dtype(), torch.device("cpu")


class _ProjectionWrapper(CellWrapper):
    """What both projection wrappers share: their ``kernel``/``bias`` (TF's contrib ``_Linear``), built lazily,
    the optional activation, and the TF names of the two variables."""

    kernel: nn.Parameter
    bias: nn.Parameter

    def _init_projection(
        self, size_name: str, size: Any, activation: str | Activation | None
    ) -> int:
        """Check the projection's width (argument ``size_name``) and activation; the parameters wait for the
        input depth (placeholders until built, then materialized in place, see cells/lazy.py)."""
        where = type(self).__name__
        width = check_positive_int(where, size_name, size)
        self._activation = _activation(where, activation)
        self.kernel = placeholder()
        self.bias = placeholder()
        return width

    def _create_linear(self, rows: int, cols: int, like: torch.Tensor | None) -> None:
        """``kernel [rows, cols]`` glorot-uniform and ``bias [cols]`` zeros, in ``like``'s dtype and device (else
        the cell's parameters')."""
        dtype, device = _param_dtype_device(self.cell, like)
        kernel = nn.Parameter(glorot_uniform_(torch.empty(rows, cols, dtype=dtype, device=device)))
        bias = nn.Parameter(torch.zeros(cols, dtype=dtype, device=device))
        self.kernel, self.bias = adopt(self.kernel, kernel), adopt(self.bias, bias)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        """``act(x @ kernel + bias)`` (no activation by default)."""
        projected = torch.addmm(self.bias, x, self.kernel)
        return projected if self._activation is None else self._activation(projected)

    def _own_variables(self, scope: str) -> Iterator[tuple[str, nn.Parameter | None]]:
        yield f"{scope}kernel", None if unbuilt(self.kernel) else self.kernel
        yield f"{scope}bias", None if unbuilt(self.bias) else self.bias


class OutputProjectionWrapper(_ProjectionWrapper):
    r"""Project the cell's output to ``output_size``::

        out, new_state = cell(x, state)
        out = act(out @ kernel + bias)        # act: none unless ``activation`` is given

    Args:
        cell: the rnnkit cell to wrap; its ``output_size`` must be an int ``H``.
        output_size: ``P``, a positive int.
        activation: optional callable or TF name; default none (linear).
        name: the TF scope (default ``output_projection_wrapper``). ``reuse`` is accepted and ignored.

    Parameters (TF names, in TF's order): the cell's under ``output_projection_wrapper/``, then
    ``output_projection_wrapper/kernel [H, P]`` (glorot-uniform) and ``bias [P]`` (zeros). They are built with
    the cell (``build(D)``, or the first call).

    Shape:
        inputs ``[B, D]``, state like ``cell.state_size`` → output ``[B, P]``, new state.
    """

    tf_name = "output_projection_wrapper"

    def __init__(
        self,
        cell: RNNCell,
        output_size: int,
        activation: str | Activation | None = None,
        reuse: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__(cell, name=name)
        self._output_size = self._init_projection("output_size", output_size, activation)
        if not isinstance(self.cell.output_size, int):
            raise ValueError(
                f"{type(self).__name__}: expected a cell whose output_size is an int, got "
                f"output_size={self.cell.output_size!r}"
            )
        if self.cell.built:
            self._create_projection(None)

    @property
    def output_size(self) -> int:
        return self._output_size

    @property
    def built(self) -> bool:
        return self.cell.built and not unbuilt(self.kernel)

    def _create_projection(self, like: torch.Tensor | None) -> None:
        self._create_linear(self.cell.output_size, self._output_size, like)

    def build(self, input_size: int) -> None:
        self.cell.build(input_size)
        if unbuilt(self.kernel):
            self._create_projection(None)

    def forward(self, inputs: Any, state: Any) -> tuple[torch.Tensor, Any]:
        """One step: the cell, then the projection of its output."""
        output, new_state = self.cell(inputs, state)
        if unbuilt(self.kernel):
            self._create_projection(output)
        return self._project(output), new_state

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        scope = f"{prefix}{self.tf_name}/"
        yield from self.cell.named_tf_variables(scope)
        yield from self._own_variables(scope)

    def extra_repr(self) -> str:
        return f"output_size={self._output_size}"


class InputProjectionWrapper(_ProjectionWrapper):
    r"""Project the inputs to ``num_proj`` before the cell::

        x' = act(x @ kernel + bias)           # act: none unless ``activation`` is given
        out, new_state = cell(x', state)

    Args:
        cell: the rnnkit cell to wrap (it sees inputs of depth ``num_proj``).
        num_proj: ``P``, a positive int.
        activation: optional callable or TF name; default none (linear).
        input_size: ``D``; builds the projection and the cell now (TF ignored this argument; here it plays the
            role it plays for every rnnkit cell). Otherwise the first call builds them.
        name: the TF scope (default ``input_projection_wrapper``). ``reuse`` is accepted and ignored.

    Parameters (TF names, in TF's order): ``input_projection_wrapper/kernel [D, P]`` (glorot-uniform),
    ``input_projection_wrapper/bias [P]`` (zeros), then the cell's under ``input_projection_wrapper/``.

    Shape:
        inputs ``[B, D]``, state like ``cell.state_size`` → output ``[B, cell.output_size]``, new state.
    """

    tf_name = "input_projection_wrapper"

    def __init__(
        self,
        cell: RNNCell,
        num_proj: int,
        activation: str | Activation | None = None,
        input_size: int | None = None,
        reuse: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__(cell, name=name)
        self.num_proj = self._init_projection("num_proj", num_proj, activation)
        self._input_size: int | None = None
        if input_size is not None:
            self.build(input_size)

    @property
    def input_size(self) -> int | None:
        return self._input_size

    @property
    def built(self) -> bool:
        return not unbuilt(self.kernel) and self.cell.built

    def _create_projection(self, input_size: int, like: torch.Tensor | None) -> None:
        self._create_linear(input_size, self.num_proj, like)
        self._input_size = input_size

    def build(self, input_size: int) -> None:
        where = f"{type(self).__name__}.build"
        check_positive_int(where, "input_size", input_size)
        if self._input_size is not None and self._input_size != input_size:
            raise ValueError(
                f"{type(self).__name__}: built for input_size={self._input_size}, got input_size={input_size}"
            )
        if unbuilt(self.kernel):
            self._create_projection(input_size, None)
        self.cell.build(self.num_proj)

    def forward(self, inputs: torch.Tensor, state: Any) -> tuple[Any, Any]:
        """One step: project the inputs, then the cell."""
        where = type(self).__name__
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2:
            raise ValueError(
                f"{where}: expected inputs to be a [B, D] tensor, got {describe(inputs)}"
            )
        if unbuilt(self.kernel):
            self._create_projection(inputs.shape[1], inputs)
        elif inputs.shape[1] != self._input_size:
            raise ValueError(
                f"{where}: built for input_size={self._input_size}, got inputs.shape[-1]={inputs.shape[1]}"
            )
        return self.cell(self._project(inputs), state)

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        scope = f"{prefix}{self.tf_name}/"
        yield from self._own_variables(scope)
        yield from self.cell.named_tf_variables(scope)

    def extra_repr(self) -> str:
        return f"num_proj={self.num_proj}, input_size={self._input_size}"
