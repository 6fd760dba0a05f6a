"""contrib's ``HighwayWrapper`` (TF 1.15 ``tf.contrib.rnn``) and the helpers of the contrib wrappers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from ..._checks import check_positive_int, describe
from ..base import RNNCell, glorot_uniform_
from ..lazy import adopt, placeholder, unbuilt
from ..wrapper_base import CellWrapper
from ._common import check_bool, check_float

__all__ = ["HighwayWrapper"]


def _new(
    shape: tuple[int, ...], init: Any, like: torch.Tensor | None, cell: RNNCell
) -> nn.Parameter:
    """A parameter in the dtype/device of ``like`` (the inputs of a lazy build) or else of the cell."""
    if like is not None:
        dtype, device = like.dtype, like.device
    else:
        param = next(cell.parameters(), None)
        dtype = param.dtype if param is not None else torch.get_default_dtype()
        device = param.device if param is not None else torch.device("cpu")
    tensor = torch.empty(shape, dtype=dtype, device=device)
    with torch.no_grad():
        if init is None:
            glorot_uniform_(tensor)
        else:
            tensor.fill_(init)
    return nn.Parameter(tensor)


def _check_step_inputs(where: str, inputs: Any) -> torch.Tensor:
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2:
        raise TypeError(f"{where}: expected inputs to be a [B, D] tensor, got {describe(inputs)}")
    return inputs


class HighwayWrapper(CellWrapper):
    r"""A highway connection around the cell (Srivastava et al. 2015)::

        out, new_state = cell(x, state)
        carry = sigmoid(x @ carry_w + carry_b)
        transform = 1 - carry                      # or sigmoid(x @ transform_w + transform_b) when not coupled
        out = x * carry + out * transform

    Args:
        cell: the rnnkit cell to wrap; its output must have the inputs' shape (``output_size == D``).
        couple_carry_transform_gates: True: ``transform = 1 - carry``; False: its own weights.
        carry_bias_init: initial ``carry_b`` (and ``-carry_bias_init`` for ``transform_b``), default 1.0.

    Parameters (TF names): TF's wrapper opened no scope, so they sit beside the cell's scope, after its
    variables: ``carry_w [D, D]`` (glorot-uniform), ``carry_b [D]``, then ``transform_w``, ``transform_b``
    (uncoupled only); e.g. ``rnn/gru_cell/...``, ``rnn/carry_w``.
    """

    carry_w: nn.Parameter | None
    carry_b: nn.Parameter | None
    transform_w: nn.Parameter | None
    transform_b: nn.Parameter | None

    def __init__(
        self,
        cell: RNNCell,
        couple_carry_transform_gates: bool = True,
        carry_bias_init: float = 1.0,
    ) -> None:
        super().__init__(cell)
        where = type(self).__name__
        self.couple_carry_transform_gates = check_bool(
            where, "couple_carry_transform_gates", couple_carry_transform_gates
        )
        self.carry_bias_init = check_float(where, "carry_bias_init", carry_bias_init)
        # placeholders until the input depth is known (cells/lazy.py): an early optimizer still holds them
        self.carry_w, self.carry_b = placeholder(), placeholder()
        self.transform_w = self.transform_b = None
        if not self.couple_carry_transform_gates:
            self.transform_w, self.transform_b = placeholder(), placeholder()
        depth = getattr(self.cell, "input_size", None)
        if self.cell.built and depth is not None:
            self._create(depth, None)

    @property
    def built(self) -> bool:
        return self.cell.built and not unbuilt(self.carry_w)

    def _create(self, depth: int, like: torch.Tensor | None) -> None:
        self.carry_w = adopt(self.carry_w, _new((depth, depth), None, like, self.cell))
        self.carry_b = adopt(self.carry_b, _new((depth,), self.carry_bias_init, like, self.cell))
        if not self.couple_carry_transform_gates:
            w = _new((depth, depth), None, like, self.cell)
            self.transform_w = adopt(self.transform_w, w)
            b = _new((depth,), -self.carry_bias_init, like, self.cell)
            self.transform_b = adopt(self.transform_b, b)

    def build(self, input_size: int) -> None:
        self.cell.build(input_size)
        if unbuilt(self.carry_w):
            self._create(
                check_positive_int(f"{type(self).__name__}.build", "input_size", input_size), None
            )

    def forward(self, inputs: Any, state: Any) -> tuple[torch.Tensor, Any]:
        """One step: the cell, then the highway mix of its inputs and output."""
        where = type(self).__name__
        output, new_state = self.cell(inputs, state)
        x = _check_step_inputs(where, inputs)
        if output.shape != x.shape:
            raise ValueError(
                f"{where}: expected the cell's output to have the inputs' shape {tuple(x.shape)}, got "
                f"{tuple(output.shape)}"
            )
        if unbuilt(self.carry_w):
            self._create(x.shape[1], x)
        carry = torch.sigmoid(torch.addmm(self.carry_b, x, self.carry_w))  # type: ignore[arg-type]
        if self.transform_w is None:
            transform = 1 - carry
        else:
            transform = torch.sigmoid(torch.addmm(self.transform_b, x, self.transform_w))  # type: ignore[arg-type]
        return x * carry + output * transform, new_state

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        yield from self.cell.named_tf_variables(prefix)
        for name in ("carry_w", "carry_b", "transform_w", "transform_b")[
            : 2 if self.couple_carry_transform_gates else 4
        ]:
            param = getattr(self, name)
            yield f"{prefix}{name}", None if unbuilt(param) else param

    def extra_repr(self) -> str:
        return f"couple_carry_transform_gates={self.couple_carry_transform_gates}"
