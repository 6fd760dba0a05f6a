"""contrib's ``PhasedLSTMCell`` (TF 1.15 ``tf.contrib.rnn``; Neil et al. 2016): an LSTM whose updates are gated by
a per-unit oscillation of the input's timestamps."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..._checks import describe
from ..base import LayerCell, check_state, state_dtype
from ..sizes import LSTMState
from ..state import LSTMStateTuple
from ..tf_params import tf_params
from ._common import check_bool, check_float, constant_

__all__ = ["PhasedLSTMCell"]

_zeros = torch.nn.init.zeros_


def _log_uniform_(low: float, high: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """TF's ``_random_exp_initializer``: ``exp(U(log low, log high))``."""
    return lambda t: t.uniform_(math.log(low), math.log(high)).exp_()


def _mod(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Floor modulo whose gradient is that of ``x`` alone (TF's ``stop_gradient(mod(x, y) - x) + x``)."""
    return (torch.remainder(x, y) - x).detach() + x


def cycle_ratio(
    time: torch.Tensor, phase: torch.Tensor, period: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """``r = mod(time - phase, period) / period`` in ``time``'s dtype, then cast to ``dtype``: ``time [..., 1]``,
    ``phase``, ``period [H]`` → ``[..., H]``. The gradient reaches ``period`` only through the division (the
    modulo's jumps are TF's ``stop_gradient``). Shared by the step and the sequence kernel (``kernels/phased.py``)."""
    period = period.to(time.dtype)
    return (_mod(time - phase.to(time.dtype), period) / period).to(dtype)


class PhasedLSTMCell(LSTMState, LayerCell):
    r"""Phased LSTM: an LSTM step, then an openness ``k`` from each unit's phase in its period::

        i, f = split(sigmoid([x, h (, c)] @ mask_gates/kernel + mask_gates/bias), 2)     # c: use_peepholes
        c~ = c * f + i * tanh([x, h] @ new_input/kernel + new_input/bias)
        o  = sigmoid([x, h (, c~)] @ output_gate/kernel + output_gate/bias)
        h~ = tanh(c~) * o
        r  = mod(time - phase, period) / period                                           # cycle ratio
        k  = 2 r / ratio_on        if r < ratio_on / 2
             2 - 2 r / ratio_on    if r < ratio_on
             leak * r              otherwise
        c' = k * c~ + (1 - k) * c;  h' = k * h~ + (1 - k) * h    # output h'; state LSTMStateTuple(c', h')

    The modulo passes the gradient of ``time - phase`` straight through (as TF's ``stop_gradient`` trick). The
    leak applies in training and evaluation alike, as in TF.

    Args:
        num_units: ``H``.
        use_peepholes: feed ``c`` to the mask gates and ``c~`` to the output gate.
        leak: the slope of ``k`` while closed, default 0.001.
        ratio_on: initial fraction of the period during which the gate is open, default 0.1.
        trainable_ratio_on: whether ``ratio_on`` receives gradients (a parameter with ``requires_grad`` False
            otherwise; TF made it a non-trainable variable).
        period_init_min, period_init_max: periods start as ``exp(U(log min, log max))``; phases as
            ``U(0, period)`` per unit.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell (``input_size`` is the depth ``D`` of ``x``).

    Parameters (TF names, scope ``phased_lstm_cell``, in TF's order): ``mask_gates/kernel [D+H(+H), 2H]``,
    ``mask_gates/bias [2H]``, ``new_input/kernel [D+H, H]``, ``new_input/bias [H]``,
    ``output_gate/kernel [D+H(+H), H]``, ``output_gate/bias [H]`` (kernels glorot-uniform, biases zeros),
    ``period [H]``, ``phase [H]``, ``ratio_on [H]``.

    Shape:
        inputs: the tuple ``(time [B, 1], x [B, D])`` (``dynamic_rnn`` takes ``(times [B, T, 1], x [B, T, D])``);
        ``time`` may have its own floating dtype (the cycle ratio is computed in it, then cast to ``x``'s).
    """

    tf_name = "phased_lstm_cell"
    _tf_params = tf_params(
        "mask_gates/kernel=mask_kernel mask_gates/bias=mask_bias new_input/kernel=input_kernel "
        "new_input/bias=input_bias output_gate/kernel=output_kernel output_gate/bias=output_bias "
        "period phase ratio_on"
    )
    mask_kernel: torch.Tensor
    mask_bias: torch.Tensor
    input_kernel: torch.Tensor
    input_bias: torch.Tensor
    output_kernel: torch.Tensor
    output_bias: torch.Tensor
    period: torch.Tensor
    phase: torch.Tensor
    ratio_on: torch.Tensor

    def __init__(
        self,
        num_units: int,
        use_peepholes: bool = False,
        leak: float = 0.001,
        ratio_on: float = 0.1,
        trainable_ratio_on: bool = True,
        period_init_min: float = 1.0,
        period_init_max: float = 1000.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, **kwargs)
        where = type(self).__name__
        self.use_peepholes = check_bool(where, "use_peepholes", use_peepholes)
        self.leak = check_float(where, "leak", leak)
        self.ratio_on_init = check_float(where, "ratio_on", ratio_on)
        self.trainable_ratio_on = check_bool(where, "trainable_ratio_on", trainable_ratio_on)
        low = check_float(where, "period_init_min", period_init_min)
        high = check_float(where, "period_init_max", period_init_max)
        if not 0 < low <= high:
            raise ValueError(
                f"{where}: expected 0 < period_init_min <= period_init_max, got {low} and {high}"
            )
        self.period_init = (low, high)
        self._finish_init()

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new = self.num_units, self._new_parameter
        gate_rows = input_size + h + (h if self.use_peepholes else 0)
        self.mask_kernel = new(gate_rows, 2 * h, init=None, dtype=dtype, device=device)
        self.mask_bias = new(2 * h, init=_zeros, dtype=dtype, device=device)
        self.input_kernel = new(input_size + h, h, init=None, dtype=dtype, device=device)
        self.input_bias = new(h, init=_zeros, dtype=dtype, device=device)
        self.output_kernel = new(gate_rows, h, init=None, dtype=dtype, device=device)
        self.output_bias = new(h, init=_zeros, dtype=dtype, device=device)
        self.period = new(h, init=_log_uniform_(*self.period_init), dtype=dtype, device=device)
        phase = self.period.detach().clone()
        self.phase = new(
            h, init=lambda t: t.copy_(torch.rand_like(t) * phase), dtype=dtype, device=device
        )
        self.ratio_on = new(h, init=constant_(self.ratio_on_init), dtype=dtype, device=device)
        self.ratio_on.requires_grad_(self.trainable_ratio_on)

    def _split_inputs(self, inputs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        where = type(self).__name__
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 2:
            raise TypeError(
                f"{where}: expected inputs to be a (time [B, 1], x [B, D]) pair, got {describe(inputs)}"
            )
        time, x = inputs
        x = LayerCell.check_inputs(self, x)
        if (
            not isinstance(time, torch.Tensor)
            or not time.is_floating_point()
            or tuple(time.shape) != (x.shape[0], 1)
            or time.device != x.device
        ):
            raise ValueError(
                f"{where}: expected time to be a floating [B={x.shape[0]}, 1] tensor on {x.device}, got "
                f"{describe(time)}"
            )
        return time, x

    def forward(self, inputs: Any, state: Any) -> tuple[torch.Tensor, LSTMStateTuple]:
        """One step: ``inputs = (time [B, 1], x [B, D])``, ``state`` ``LSTMStateTuple(c, h)`` → ``(h', state')``."""
        time, x = self._split_inputs(inputs)
        where = type(self).__name__
        check_state(where, self.state_size, state, x.shape[0], state_dtype(x), x.device)
        return self._step_pair(time, x, state)

    def _step_pair(
        self, time: torch.Tensor, x: torch.Tensor, state: Any
    ) -> tuple[torch.Tensor, Any]:
        c, h = state
        peep = [c] if self.use_peepholes else []
        gates = torch.addmm(self.mask_bias, torch.cat([x, h, *peep], 1), self.mask_kernel)
        in_gate, forget_gate = torch.sigmoid(gates).chunk(2, dim=1)
        candidate = torch.tanh(
            torch.addmm(self.input_bias, torch.cat([x, h], 1), self.input_kernel)
        )
        new_c = c * forget_gate + in_gate * candidate
        peep = [new_c] if self.use_peepholes else []
        out_gate = torch.sigmoid(
            torch.addmm(self.output_bias, torch.cat([x, h, *peep], 1), self.output_kernel)
        )
        new_h = torch.tanh(new_c) * out_gate
        ratio = cycle_ratio(time, self.phase, self.period, x.dtype)
        k_up = 2 * ratio / self.ratio_on
        k = torch.where(ratio < self.ratio_on, 2 - k_up, self.leak * ratio)
        k = torch.where(ratio < 0.5 * self.ratio_on, k_up, k)
        new_c = k * new_c + (1 - k) * c
        new_h = k * new_h + (1 - k) * h
        return new_h, LSTMStateTuple(new_c, new_h)

    def check_inputs(self, inputs: Any) -> Any:
        """Check a ``(time [B, 1], x [B, D])`` pair as ``forward`` does (building on first use).

        The step does not split (its inputs are a pair): the step loop calls ``forward`` at every step;
        ``dynamic_rnn`` runs the native sequence kernel where it can (``rnnkit/kernels/phased.py``).
        """
        self._split_inputs(inputs)
        return inputs

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, use_peepholes={self.use_peepholes}, leak={self.leak}"
