"""contrib's independently recurrent cells (TF 1.15 ``tf.contrib.rnn``; Li et al. 2018, Gonnet & Deselaers
2019): ``IndRNNCell``, ``IndyGRUCell``, ``IndyLSTMCell``, whose recurrent weights are diagonal (each unit sees only
its own previous state)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ...activations import Activation
from ..base import Initializer
from ..basic_rnn import ActivationCell
from ..gru import ActivationInitCell, gru_blend
from ..sizes import LSTMState, SingleState
from ..state import LSTMStateTuple
from ..tf_params import tf_params
from ._common import SplitCell, check_float, constant_, uniform_

__all__ = ["IndRNNCell", "IndyGRUCell", "IndyLSTMCell"]

_zeros = torch.nn.init.zeros_


class IndRNNCell(ActivationCell):
    r"""Independently recurrent cell (Li et al. 2018): each unit sees only its own previous value::

        h' = act(x @ kernel_w + h * kernel_u + bias)          # output = new state = h'

    Args:
        num_units: ``H``.
        activation: callable or TF name; default tanh.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``ind_rnn_cell``): ``kernel_w [D, H]`` (glorot-uniform), ``kernel_u [1, H]``
    (uniform in [-1, 1]), ``bias [H]`` (zeros).
    """

    tf_name = "ind_rnn_cell"
    _tf_params = (("kernel_w", "kernel_w"), ("kernel_u", "kernel_u"), ("bias", "bias"))
    kernel_w: torch.Tensor
    kernel_u: torch.Tensor
    bias: torch.Tensor

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new = self.num_units, self._new_parameter
        self.kernel_w = new(input_size, h, init=None, dtype=dtype, device=device)
        self.kernel_u = new(1, h, init=uniform_(-1.0, 1.0), dtype=dtype, device=device)
        self.bias = new(h, init=_zeros, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``x @ kernel_w + bias`` → ``[..., H]``."""
        return F.linear(inputs, self.kernel_w.t(), self.bias)

    def recurrent_step(
        self, projected_t: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self._activation(projected_t + state * self.kernel_u)
        return h, h


class _IndyCell(SplitCell, ActivationInitCell):
    """What IndyGRU and IndyLSTM share: the activation and the two optional initialisers (``GRUCell``'s)."""


class IndyGRUCell(SingleState, _IndyCell):
    r"""GRU with diagonal recurrent weights (IndyGRU; TF's reset-before form)::

        r, u = split(sigmoid(x @ gates/kernel_w + [h, h] * gates/kernel_u + gates/bias), 2)
        c  = act(x @ candidate/kernel + (r * h) * candidate/kernel_u + candidate/bias)
        h' = u * h + (1 - u) * c                       # output = new state = h'

    Args:
        num_units: ``H``.
        activation: callable or TF name; default tanh.
        kernel_initializer: in-place initialiser of the two input kernels; default glorot-uniform.
        bias_initializer: in-place initialiser of both biases; default: gates 1.0, candidate 0.0.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``indy_gru_cell``, in TF's order): ``gates/kernel_w [D, 2H]``,
    ``gates/kernel_u [1, 2H]`` (uniform in [-1, 1]), ``gates/bias [2H]``, ``candidate/kernel [D, H]`` (TF's name:
    no ``_w``), ``candidate/kernel_u [1, H]``, ``candidate/bias [H]``.
    """

    tf_name = "indy_gru_cell"
    _tf_params = tf_params(
        "gates/kernel_w gates/kernel_u gates/bias "
        "candidate/kernel=candidate_kernel_w candidate/kernel_u candidate/bias"
    )
    gates_kernel_w: torch.Tensor
    gates_kernel_u: torch.Tensor
    gates_bias: torch.Tensor
    candidate_kernel_w: torch.Tensor
    candidate_kernel_u: torch.Tensor
    candidate_bias: torch.Tensor

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new, k_init = self.num_units, self._new_parameter, self._kernel_init
        u_init = uniform_(-1.0, 1.0)
        self.gates_kernel_w = new(input_size, 2 * h, init=k_init, dtype=dtype, device=device)
        self.gates_kernel_u = new(1, 2 * h, init=u_init, dtype=dtype, device=device)
        self.gates_bias = new(
            2 * h, init=self._bias_init or constant_(1.0), dtype=dtype, device=device
        )
        self.candidate_kernel_w = new(input_size, h, init=k_init, dtype=dtype, device=device)
        self.candidate_kernel_u = new(1, h, init=u_init, dtype=dtype, device=device)
        self.candidate_bias = new(h, init=self._bias_init or _zeros, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x @ gates/kernel_w + gates/bias [..., 2H], x @ candidate/kernel + candidate/bias [..., H])``."""
        gates = F.linear(inputs, self.gates_kernel_w.t(), self.gates_bias)
        return gates, F.linear(inputs, self.candidate_kernel_w.t(), self.candidate_bias)

    def recurrent_step(
        self, projected_t: tuple[torch.Tensor, torch.Tensor], state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        xg, xc = projected_t
        gates = torch.sigmoid(xg + state.repeat(1, 2) * self.gates_kernel_u)
        r, u = gates.chunk(2, dim=1)
        c = self._activation(xc + (r * state) * self.candidate_kernel_u)
        new_h = gru_blend(c, state, u)
        return new_h, new_h


class IndyLSTMCell(LSTMState, _IndyCell):
    r"""Basic LSTM with diagonal recurrent weights (IndyLSTM, Gonnet & Deselaers 2019)::

        i, j, f, o = split(x @ kernel_w + [h, h, h, h] * kernel_u + bias, 4)
        c' = c * sigmoid(f + forget_bias) + sigmoid(i) * act(j)
        h' = act(c') * sigmoid(o)                     # output h'; state LSTMStateTuple(c', h')

    Args:
        num_units: ``H``.
        forget_bias: added to ``f`` at call time, default 1.0.
        activation: callable or TF name; default tanh.
        kernel_initializer: in-place initialiser of ``kernel_w``; default glorot-uniform.
        bias_initializer: in-place initialiser of ``bias``; default zeros.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``indy_lstm_cell``): ``kernel_w [D, 4H]``, ``kernel_u [1, 4H]`` (uniform in
    [-1, 1]), ``bias [4H]``.
    """

    tf_name = "indy_lstm_cell"
    _tf_params = (("kernel_w", "kernel_w"), ("kernel_u", "kernel_u"), ("bias", "bias"))
    kernel_w: torch.Tensor
    kernel_u: torch.Tensor
    bias: torch.Tensor

    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        activation: str | Activation | None = None,
        kernel_initializer: Initializer | None = None,
        bias_initializer: Initializer | None = None,
        **kwargs: Any,
    ) -> None:
        # Checked first, in TF's argument order: a bad forget_bias is reported before the other options.
        forget_bias = check_float(type(self).__name__, "forget_bias", forget_bias)
        super().__init__(num_units, activation, kernel_initializer, bias_initializer, **kwargs)
        self.forget_bias = forget_bias

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new = self.num_units, self._new_parameter
        self.kernel_w = new(input_size, 4 * h, init=self._kernel_init, dtype=dtype, device=device)
        self.kernel_u = new(1, 4 * h, init=uniform_(-1.0, 1.0), dtype=dtype, device=device)
        self.bias = new(4 * h, init=self._bias_init or _zeros, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``x @ kernel_w + bias`` → ``[..., 4H]``."""
        return F.linear(inputs, self.kernel_w.t(), self.bias)

    def recurrent_step(self, projected_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        c, h = state
        i, j, f, o = (projected_t + h.repeat(1, 4) * self.kernel_u).chunk(4, dim=1)
        act = self._activation
        new_c = c * torch.sigmoid(f + self.forget_bias) + torch.sigmoid(i) * act(j)
        new_h = act(new_c) * torch.sigmoid(o)
        return new_h, LSTMStateTuple(new_c, new_h)
