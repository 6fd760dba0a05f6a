"""contrib's single-state RNN cells (TF 1.15 ``tf.contrib.rnn``): ``UGRNNCell``, ``IntersectionRNNCell``
and ``SRUCell``. Each states its math once, as ``input_projection`` (all time steps
in one matmul) plus ``recurrent_step``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...activations import Activation, resolve_activation
from ..base import Initializer
from ..basic_rnn import ActivationCell
from ..sizes import SingleState
from ..tf_params import KernelBias, tf_params
from ._common import SplitCell, check_float, optional_init

__all__ = ["UGRNNCell", "IntersectionRNNCell", "SRUCell"]

_zeros = torch.nn.init.zeros_


class UGRNNCell(KernelBias, SingleState, SplitCell):
    r"""Update-gate RNN (Collins et al. 2017), one gate between keeping and replacing the state::

        g_act, c_act = split([x, h] @ kernel + bias, 2)
        g  = sigmoid(g_act + forget_bias)
        h' = g * h + (1 - g) * act(c_act)            # output = new state = h'

    Args:
        num_units: ``H``.
        initializer: in-place initialiser of the kernel; default glorot-uniform.
        forget_bias: added to the gate's pre-activation at call time, default 1.0.
        activation: callable or TF name; default tanh.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``ugrnn_cell``): ``kernel [D+H, 2H]``, ``bias [2H]`` (zeros).
    """

    tf_name = "ugrnn_cell"

    def __init__(
        self,
        num_units: int,
        initializer: Initializer | None = None,
        forget_bias: float = 1.0,
        activation: str | Activation | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, **kwargs)
        where = type(self).__name__
        self._initializer = optional_init(where, "initializer", initializer)
        self.forget_bias = check_float(where, "forget_bias", forget_bias)
        self._activation, self.activation_name = resolve_activation(where, activation)
        self._finish_init()

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new = self.num_units, self._new_parameter
        self.kernel = new(input_size + h, 2 * h, init=self._initializer, dtype=dtype, device=device)
        self.bias = new(2 * h, init=_zeros, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``x @ kernel[:D] + bias`` → ``[..., 2H]``."""
        return F.linear(inputs, self.kernel[: self.input_size].t(), self.bias)

    def recurrent_step(
        self, projected_t: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.addmm(projected_t, state, self.kernel[self.input_size :])
        g_act, c_act = z.chunk(2, dim=1)
        g = torch.sigmoid(g_act + self.forget_bias)
        new_h = g * state + (1.0 - g) * self._activation(c_act)
        return new_h, new_h


class IntersectionRNNCell(SingleState, SplitCell):
    r"""Intersection RNN "+RNN" (Collins et al. 2017): a gate through time and a gate through depth::

        x  = x @ in_projection/kernel + in_projection/bias      # only when D != H (needs num_in_proj)
        gh, hc, gy, yc = split([x, h] @ kernel + bias, 4)
        gh, gy = sigmoid(gh + forget_bias), sigmoid(gy + forget_bias)
        h' = gh * h + (1 - gh) * tanh(hc)                       # new state (through time)
        y  = gy * x + (1 - gy) * y_activation(yc)               # output (through depth)

    Args:
        num_units: ``H``; the output has the inputs' size, so inputs of depth ``D != H`` need ``num_in_proj``.
        num_in_proj: ``H`` to project inputs of another depth to ``H`` (TF used the value only as a flag: any
            other value than ``H`` is refused here rather than ignored); None: inputs must have depth ``H``.
        initializer: in-place initialiser of the kernels; default glorot-uniform.
        forget_bias: added to both gates' pre-activations, default 1.0.
        y_activation: callable or TF name for the depth candidate; default relu.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``intersection_rnn_cell``): ``in_projection/kernel [D, H]``,
    ``in_projection/bias [H]`` (only when ``D != H``), ``kernel [2H, 4H]``, ``bias [4H]`` (zeros).
    """

    tf_name = "intersection_rnn_cell"
    # The kernel first (the base reads the parameters' dtype/device from the first entry, which must always
    # exist); ``named_tf_variables`` yields them in TF's order, the input projection first.
    _tf_params = tf_params("kernel bias in_projection/kernel=in_kernel in_projection/bias=in_bias")
    kernel: torch.Tensor
    bias: torch.Tensor
    in_kernel: torch.Tensor | None
    in_bias: torch.Tensor | None

    def __init__(
        self,
        num_units: int,
        num_in_proj: int | None = None,
        initializer: Initializer | None = None,
        forget_bias: float = 1.0,
        y_activation: str | Activation | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, **kwargs)
        where = type(self).__name__
        if num_in_proj is not None and num_in_proj != self.num_units:
            raise ValueError(
                f"{where}: expected num_in_proj to be None or num_units={self.num_units} (the inputs are "
                f"projected to num_units), got {num_in_proj!r}"
            )
        self.num_in_proj = num_in_proj
        self._initializer = optional_init(where, "initializer", initializer)
        self.forget_bias = check_float(where, "forget_bias", forget_bias)
        try:
            self._y_activation, self.y_activation_name = resolve_activation(
                where, "relu" if y_activation is None else y_activation
            )
        except (TypeError, ValueError) as err:  # name the argument the caller used
            raise type(err)(str(err).replace("activation", "y_activation", 1)) from None
        self._finish_init()

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        names = list(super().named_tf_variables(prefix))
        return iter(names[2:] + names[:2])

    def _tf_param_used(self, attr: str) -> bool:
        if attr.startswith("in_"):
            return self.input_size is not None and self.input_size != self.num_units
        return True

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new, init = self.num_units, self._new_parameter, self._initializer
        if input_size != h:
            if self.num_in_proj is None:
                raise ValueError(
                    f"{type(self).__name__}: expected inputs of depth num_units={h} (the output is passed "
                    f"through depth), got depth {input_size}; pass num_in_proj={h} to project them"
                )
            self.in_kernel = new(input_size, h, init=init, dtype=dtype, device=device)
            self.in_bias = new(h, init=_zeros, dtype=dtype, device=device)
        self.kernel = new(2 * h, 4 * h, init=init, dtype=dtype, device=device)
        self.bias = new(4 * h, init=_zeros, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x' [..., H], x' @ kernel[:H] + bias [..., 4H])``, ``x'`` the (projected) inputs."""
        if self.in_kernel is not None:
            inputs = F.linear(inputs, self.in_kernel.t(), self.in_bias)
        return inputs, F.linear(inputs, self.kernel[: self.num_units].t(), self.bias)

    def recurrent_step(
        self, projected_t: tuple[torch.Tensor, torch.Tensor], state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, xw = projected_t
        z = torch.addmm(xw, state, self.kernel[self.num_units :])
        gh, hc, gy, yc = z.chunk(4, dim=1)
        gh = torch.sigmoid(gh + self.forget_bias)
        gy = torch.sigmoid(gy + self.forget_bias)
        new_state = gh * state + (1.0 - gh) * torch.tanh(hc)
        new_y = gy * x + (1.0 - gy) * self._y_activation(yc)
        return new_y, new_state


class SRUCell(KernelBias, ActivationCell):
    r"""Simple recurrent unit (Lei et al. 2017): no matrix acts on the state::

        x_bar, f, r, x_tx = split(x @ kernel, 4);  f, r = split(sigmoid([f, r] + bias), 2)
        c' = f * c + (1 - f) * x_bar                   # new state
        h  = r * act(c') + (1 - r) * x_tx              # output

    Every matmul depends on the inputs alone, so ``input_projection`` computes all gates of all steps at once.

    Args:
        num_units: ``H``.
        activation: callable or TF name; default tanh.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``sru_cell``): ``kernel [D, 4H]`` (glorot-uniform), ``bias [2H]`` (zeros).
    """

    tf_name = "sru_cell"

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h = self.num_units
        self.kernel = self._new_parameter(input_size, 4 * h, init=None, dtype=dtype, device=device)
        self.bias = self._new_parameter(2 * h, init=_zeros, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[x_bar, f, r, x_tx]`` with the gates already through their sigmoid → ``[..., 4H]``."""
        x_bar, f, r, x_tx = (inputs @ self.kernel).chunk(4, dim=-1)
        f_r = torch.sigmoid(torch.cat([f, r], -1) + self.bias)
        return torch.cat([x_bar, f_r, x_tx], -1)

    def recurrent_step(
        self, projected_t: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x_bar, f, r, x_tx = projected_t.chunk(4, dim=1)
        c = f * state + (1.0 - f) * x_bar
        h = r * self._activation(c) + (1.0 - r) * x_tx
        return h, c
