"""contrib's LSTM-like cells with an ``LSTMStateTuple(c, h)`` state (TF 1.15 ``tf.contrib.rnn``): ``NASCell``
and ``GLSTMCell``."""

from __future__ import annotations

from typing import Any

import torch

from ..._checks import check_positive_int
from ...activations import Activation, resolve_activation
from ..base import Initializer
from ..sizes import ProjectedLSTMState
from ..state import LSTMStateTuple
from ..tf_params import tf_params
from ._common import SplitCell, check_bool, check_float, optional_init

__all__ = ["NASCell", "GLSTMCell"]

_zeros = torch.nn.init.zeros_


def _check_num_proj(where: str, num_proj: Any) -> int | None:
    return None if num_proj is None else check_positive_int(where, "num_proj", num_proj)


class NASCell(ProjectedLSTMState, SplitCell):
    r"""The recurrent cell found by neural architecture search (Zoph & Le 2017)::

        a = split(x @ kernel, 8);  b = split(m @ recurrent_kernel (+ bias), 8)
        l0, l1, l2 = sigmoid(a0 + b0), relu(a1 + b1), sigmoid(a2 + b2)
        l3, l4, l5 = relu(a3 * b3), tanh(a4 + b4), sigmoid(a5 + b5)      # l3: a product, as in TF
        l6, l7     = tanh(a6 + b6), sigmoid(a7 + b7)
        c' = tanh(tanh(l0 * l1) + c) * tanh(l2 + l3)
        m' = tanh(c' * tanh(tanh(l4 * l5) + sigmoid(l6 + l7)))
        m' = m' @ projection_weights                                    # num_proj
        # output m'; state LSTMStateTuple(c', m')

    Args:
        num_units: ``H``.
        num_proj: ``P``; project the output with ``projection_weights [H, P]`` when given.
        use_bias: add ``bias [8H]`` (zeros) to the recurrent matmul; default False, as TF.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``nas_cell``, in TF's order): ``recurrent_kernel [P, 8H]``, ``kernel [D, 8H]``
    (both glorot-uniform), ``bias [8H]`` (use_bias), ``projection_weights [H, P]`` (num_proj); ``P = H`` without
    projection.
    """

    tf_name = "nas_cell"
    _tf_params = tf_params("recurrent_kernel kernel bias projection_weights")
    _tf_param_options = {"bias": "use_bias", "projection_weights": "num_proj"}
    recurrent_kernel: torch.Tensor
    kernel: torch.Tensor
    bias: torch.Tensor | None
    projection_weights: torch.Tensor | None

    def __init__(
        self, num_units: int, num_proj: int | None = None, use_bias: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(num_units, **kwargs)
        where = type(self).__name__
        self.num_proj = _check_num_proj(where, num_proj)
        self.use_bias = check_bool(where, "use_bias", use_bias)
        self._finish_init()

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new = self.num_units, self._new_parameter
        self.recurrent_kernel = new(self._out, 8 * h, init=None, dtype=dtype, device=device)
        self.kernel = new(input_size, 8 * h, init=None, dtype=dtype, device=device)
        if self.use_bias:
            self.bias = new(8 * h, init=_zeros, dtype=dtype, device=device)
        if self.num_proj is not None:
            self.projection_weights = new(h, self.num_proj, init=None, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``x @ kernel`` → ``[..., 8H]``."""
        return inputs @ self.kernel

    def recurrent_step(self, projected_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        c, m = state
        rec = m @ self.recurrent_kernel
        if self.bias is not None:
            rec = rec + self.bias
        a, b = projected_t.chunk(8, dim=1), rec.chunk(8, dim=1)
        sig, tanh = torch.sigmoid, torch.tanh
        l0, l1 = sig(a[0] + b[0]), torch.relu(a[1] + b[1])
        l2, l3 = sig(a[2] + b[2]), torch.relu(a[3] * b[3])
        l4, l5 = tanh(a[4] + b[4]), sig(a[5] + b[5])
        l6, l7 = tanh(a[6] + b[6]), sig(a[7] + b[7])
        new_c = tanh(tanh(l0 * l1) + c) * tanh(l2 + l3)
        new_m = tanh(new_c * tanh(tanh(l4 * l5) + sig(l6 + l7)))
        if self.projection_weights is not None:
            new_m = new_m @ self.projection_weights
        return new_m, LSTMStateTuple(new_c, new_m)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, num_proj={self.num_proj}, use_bias={self.use_bias}"


class GLSTMCell(ProjectedLSTMState, SplitCell):
    r"""Group LSTM (Kuchaiev & Ginsburg 2017): ``G`` independent LSTMs on slices of the inputs and output::

        for g in 0..G-1:  i_g, j_g, f_g, o_g = split([x_g, m_g] @ group{g}/kernel, 4)
        i, j, f, o = concat_g(i_g) + bias_i, concat_g(j_g) + bias_j, ... + bias_f, ... + bias_o
        c' = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j)
        m' = sigmoid(o) * act(c');  m' = m' @ projection/kernel              # num_proj
        # output m'; state LSTMStateTuple(c', m')

    ``x_g`` is the g-th of G equal slices of the inputs, ``m_g`` of the previous output.

    Args:
        num_units: ``H``, divisible by ``number_of_groups``.
        initializer: in-place initialiser of the kernels; default glorot-uniform.
        num_proj: ``P`` (divisible by ``number_of_groups``); project with ``projection/kernel [H, P]``.
        number_of_groups: ``G``; the input depth must be divisible by it too.
        forget_bias: added to ``f`` at call time, default 1.0.
        activation: callable or TF name applied to ``c'``; default tanh (``j`` always goes through tanh).

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``glstm_cell``, in TF's order): ``group{g}/kernel [D/G + P/G, 4H/G]`` for each g,
    ``bias_i``, ``bias_j``, ``bias_f``, ``bias_o`` (each ``[H]``, zeros), ``projection/kernel [H, P]`` (num_proj).
    """

    tf_name = "glstm_cell"
    _BIASES = ("bias_i", "bias_j", "bias_f", "bias_o")
    _tf_param_options = {"projection_kernel": "num_proj"}
    bias_i: torch.Tensor
    bias_j: torch.Tensor
    bias_f: torch.Tensor
    bias_o: torch.Tensor
    projection_kernel: torch.Tensor | None

    def __init__(
        self,
        num_units: int,
        initializer: Initializer | None = None,
        num_proj: int | None = None,
        number_of_groups: int = 1,
        forget_bias: float = 1.0,
        activation: str | Activation | None = None,
        **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        groups = check_positive_int(where, "number_of_groups", number_of_groups)
        # Instance-level: the names depend on the number of groups.
        groups_kernels = " ".join(f"group{g}/kernel" for g in range(groups))
        self._tf_params = tf_params(f"{groups_kernels} {' '.join(self._BIASES)} projection/kernel")
        super().__init__(num_units, **kwargs)
        self.number_of_groups = groups
        self.num_proj = _check_num_proj(where, num_proj)
        for name, size in (("num_units", self.num_units), ("num_proj", self.num_proj)):
            if size is not None and size % groups:
                raise ValueError(
                    f"{where}: expected {name} divisible by number_of_groups={groups}, got {size}"
                )
        self._initializer = optional_init(where, "initializer", initializer)
        self.forget_bias = check_float(where, "forget_bias", forget_bias)
        self._activation, self.activation_name = resolve_activation(where, activation)
        self._finish_init()

    def _group_kernels(self) -> list[torch.Tensor]:
        return [getattr(self, f"group{g}_kernel") for g in range(self.number_of_groups)]

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        groups, new, init = self.number_of_groups, self._new_parameter, self._initializer
        if input_size % groups:
            raise ValueError(
                f"{type(self).__name__}: expected an input depth divisible by number_of_groups={groups}, "
                f"got {input_size}"
            )
        rows = input_size // groups + self._out // groups
        for g in range(groups):
            kernel = new(rows, 4 * self.num_units // groups, init=init, dtype=dtype, device=device)
            setattr(self, f"group{g}_kernel", kernel)
        for b in self._BIASES:
            setattr(self, b, new(self.num_units, init=_zeros, dtype=dtype, device=device))
        if self.num_proj is not None:
            self.projection_kernel = new(
                self.num_units, self.num_proj, init=init, dtype=dtype, device=device
            )

    def input_projection(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per group ``x_g @ group{g}/kernel[:D/G]`` → G tensors ``[..., 4H/G]``."""
        d_g = inputs.shape[-1] // self.number_of_groups
        x_parts = inputs.split(d_g, dim=-1)
        return tuple(x @ k[:d_g] for x, k in zip(x_parts, self._group_kernels()))

    def recurrent_step(
        self, projected_t: tuple[torch.Tensor, ...], state: Any
    ) -> tuple[torch.Tensor, Any]:
        c, m = state
        m_parts = m.split(self._out // self.number_of_groups, dim=1)
        gates: list[list[torch.Tensor]] = [[], [], [], []]
        for xw, m_g, kernel in zip(projected_t, m_parts, self._group_kernels()):
            for k, part in enumerate(torch.addmm(xw, m_g, kernel[-m_g.shape[1] :]).chunk(4, dim=1)):
                gates[k].append(part)
        i, j, f, o = (
            torch.cat(parts, 1) + getattr(self, b) for parts, b in zip(gates, self._BIASES)
        )
        new_c = torch.sigmoid(f + self.forget_bias) * c + torch.sigmoid(i) * torch.tanh(j)
        new_m = torch.sigmoid(o) * self._activation(new_c)
        if self.projection_kernel is not None:
            new_m = new_m @ self.projection_kernel
        return new_m, LSTMStateTuple(new_c, new_m)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, number_of_groups={self.number_of_groups}, num_proj={self.num_proj}"
