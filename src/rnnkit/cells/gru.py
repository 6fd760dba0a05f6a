"""``GRUCell`` in TF1's formulation (``tf.nn.rnn_cell.GRUCell``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._checks import check_initializer
from ..activations import Activation, resolve_activation
from .base import Initializer, LayerCell
from .sizes import SingleState
from .tf_params import tf_params

__all__ = ["ActivationInitCell", "GRUCell"]


def _ones(t: torch.Tensor) -> torch.Tensor:
    return torch.nn.init.ones_(t)


def gru_blend(candidate: torch.Tensor, state: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
    """The GRU's new state ``u * h + (1 - u) * c`` (``[B, H]``), as ``lerp(c, h, u)`` where the three share a dtype.

    Why: one op and one backward node instead of four, which takes the GRU step loop from 1.05x to 1.12x a naive
    loop at the mnist shape (``benchmarks/bench_step_ceiling.py``); equal to float rounding. Under autocast the
    gates come in bf16 while the state stays float32, and ``lerp`` does not promote: there the four ops run.
    """
    if candidate.dtype == state.dtype == update.dtype:
        return torch.lerp(candidate, state, update)
    return update * state + (1 - update) * candidate


class ActivationInitCell(LayerCell):
    """A cell whose options are its activation (a callable or a TF name, default tanh) and two optional in-place
    initialisers, ``kernel_initializer`` and ``bias_initializer`` (None: the cell's TF defaults), checked and
    resolved once here: ``GRUCell`` and contrib's ``IndyGRUCell`` and ``IndyLSTMCell`` build on it."""

    def __init__(
        self,
        num_units: int,
        activation: str | Activation | None = None,
        kernel_initializer: Initializer | None = None,
        bias_initializer: Initializer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, **kwargs)
        where = type(self).__name__
        self._activation, self.activation_name = resolve_activation(where, activation)
        check_initializer(where, "kernel_initializer", kernel_initializer)
        check_initializer(where, "bias_initializer", bias_initializer)
        self._kernel_init = kernel_initializer
        self._bias_init = bias_initializer
        self._finish_init()


class GRUCell(SingleState, ActivationInitCell):
    r"""Gated recurrent unit, TF1 formulation (Cho et al. 2014)::

        r, u = split(sigmoid([x, h] @ gates/kernel + gates/bias), 2)
        c    = act([x, r * h] @ candidate/kernel + candidate/bias)
        h'   = u * h + (1 - u) * c          # output = new state = h'

    Note:
        The reset gate multiplies ``h`` *before* the candidate matmul. ``torch.nn.GRU`` applies it after
        (``c = tanh(W_x x + b + r * (W_h h + b_h))``), so the two are not interchangeable; rnnkit keeps TF's.
        The gate bias starts at 1.0 (TF's default), so the cell starts by mostly keeping its state.

    Args:
        num_units: ``H``.
        activation: callable or TF name; default tanh.
        kernel_initializer: in-place initialiser for both kernels (e.g. ``torch.nn.init.orthogonal_``);
            default glorot-uniform.
        bias_initializer: in-place initialiser for both biases; default: gates 1.0, candidate 0.0.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell (see ``BasicRNNCell``).

    Parameters (TF names): ``gates/kernel [D+H, 2H]``, ``gates/bias [2H]``, ``candidate/kernel [D+H, H]``,
    ``candidate/bias [H]``.

    Shape:
        inputs ``[B, D]``, state ``[B, H]`` → output ``[B, H]``, new state ``[B, H]``.
    """

    tf_name = "gru_cell"
    _tf_params = tf_params("gates/kernel gates/bias candidate/kernel candidate/bias")

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, rows = self.num_units, input_size + self.num_units
        new = self._new_parameter
        self.gates_kernel = new(rows, 2 * h, init=self._kernel_init, dtype=dtype, device=device)
        self.gates_bias = new(2 * h, init=self._bias_init or _ones, dtype=dtype, device=device)
        self.candidate_kernel = new(rows, h, init=self._kernel_init, dtype=dtype, device=device)
        self.candidate_bias = new(
            h, init=self._bias_init or torch.nn.init.zeros_, dtype=dtype, device=device
        )

    def input_projection(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The input halves of both matmuls: ``(x @ gates/kernel[:D] + gates/bias [..., 2H],
        x @ candidate/kernel[:D] + candidate/bias [..., H])``.

        Two matmuls, not one over the joined kernels: each half is then contiguous, and the backward has no
        cat of the joined gradient (measured: the joined form cost ~2 ms of a 25 ms training pass at the mnist
        shape, ``benchmarks/bench_step_ceiling.py``)."""
        d = self.input_size
        gates_x = F.linear(inputs, self.gates_kernel[:d].t(), self.gates_bias)
        candidate_x = F.linear(inputs, self.candidate_kernel[:d].t(), self.candidate_bias)
        return gates_x, candidate_x

    def recurrent_step(
        self, projected: tuple[torch.Tensor, torch.Tensor], state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Adds ``h @ gates/kernel[D:]`` and ``(r * h) @ candidate/kernel[D:]`` to ``input_projection``'s halves."""
        gates_x, candidate_x = projected
        w_gates, w_candidate = (
            self._recurrent_rows("gates_kernel"),
            self._recurrent_rows("candidate_kernel"),
        )
        r, u = torch.sigmoid(torch.addmm(gates_x, state, w_gates)).chunk(2, dim=1)
        c = self._activation(torch.addmm(candidate_x, r * state, w_candidate))
        new_h = gru_blend(c, state, u)
        return new_h, new_h

    def fused_spec(self) -> str:
        return "GRUCell has no fused form: torch's GRU kernel applies the reset gate after the matmul, TF's before"
