"""``BasicLSTMCell`` and ``LSTMCell`` (TF1 ``tf.nn.rnn_cell``), gate order ``i, j, f, o``."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import check_initializer
from ..activations import Activation, resolve_activation
from .base import Initializer, LayerCell, check_state, keep_state_dtype, state_dtype
from .state import LSTMStateTuple

__all__ = ["BasicLSTMCell", "LSTMCell"]


class _LSTMBase(LayerCell):
    """What both LSTM cells share: ``forget_bias``, activation and the two state representations."""

    # Declared here because mypy cannot follow the numbers.Real checks in __init__ that set them.
    forget_bias: float
    state_is_tuple: bool
    _activation: Activation
    activation_name: str | None
    # TF-layout parameters, set by _finish_init/build (None until built); declared for the type checker.
    kernel: torch.Tensor
    bias: torch.Tensor

    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        state_is_tuple: bool = True,
        activation: str | Activation | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, **kwargs)
        where = type(self).__name__
        if not isinstance(forget_bias, numbers.Real) or isinstance(forget_bias, bool):
            raise TypeError(f"{where}: expected forget_bias to be a float, got {forget_bias!r}")
        if not isinstance(state_is_tuple, bool):
            raise TypeError(
                f"{where}: expected state_is_tuple to be a bool, got {state_is_tuple!r}"
            )
        self.forget_bias = float(forget_bias)
        self.state_is_tuple = state_is_tuple
        self._activation, self.activation_name = resolve_activation(where, activation)

    @property
    def _h_size(self) -> int:
        return self.num_units

    @property
    def state_size(self) -> Any:
        if self.state_is_tuple:
            return LSTMStateTuple(self.num_units, self._h_size)
        return self.num_units + self._h_size

    @property
    def output_size(self) -> int:
        return self._h_size

    def forward(self, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One step: ``inputs [B, D]``, ``state`` ``LSTMStateTuple(c [B, H], h [B, P])`` (or ``[B, H+P]`` when
        ``state_is_tuple=False``) → ``(h' [B, P], new state of the same form)``."""
        inputs = self._prepare_inputs(inputs)
        check_state(
            type(self).__name__,
            self.state_size,
            state,
            inputs.shape[0],
            state_dtype(inputs),
            inputs.device,
        )
        return self._public_step(inputs, state)

    def _public_step(self, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """``forward`` after its checks: the state in its public form (tuple or concatenation)."""
        if self.state_is_tuple:
            c, h = state
        else:
            # TF splits the concatenated state [c, h] at num_units.
            c, h = state[:, : self.num_units], state[:, self.num_units :]
        new_c, new_h = keep_state_dtype(inputs.device.type, self._step(inputs, (c, h)), (c, h))
        if self.state_is_tuple:
            return new_h, LSTMStateTuple(new_c, new_h)
        return new_h, torch.cat([new_c, new_h], 1)

    def _unchecked_step(self, sample: torch.Tensor) -> Callable[[Any, Any], tuple[Any, Any]]:
        if self._hooked():
            return self
        self._prepare_inputs(sample)
        return self._public_step

    def _input_half(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs @ kernel[:D] + bias (+ forget_bias on f), kernel[D:])``: the step loop's input matmul for
        all steps at once ``[..., 4H]``, and the recurrent half of the kernel ``[P, 4H]``."""
        d = self.input_size
        b_i, b_j, b_f, b_o = self.bias.chunk(4)
        bias = torch.cat([b_i, b_j, b_f + self.forget_bias, b_o])
        return F.linear(inputs, self.kernel[:d].t(), bias), self.kernel[d:]

    def _wrap_core(self, core: Callable) -> Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]:
        """Turn ``core(xw_t, c, h) -> (c', h')`` into a step on the public state form."""
        if self.state_is_tuple:

            def step(xw_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
                new_c, new_h = core(xw_t, state[0], state[1])
                return new_h, LSTMStateTuple(new_c, new_h)

            return step
        n = self.num_units

        def step_concat(
            xw_t: torch.Tensor, state: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            new_c, new_h = core(xw_t, state[:, :n], state[:, n:])
            return new_h, torch.cat([new_c, new_h], 1)

        return step_concat

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, forget_bias={self.forget_bias}, state_is_tuple={self.state_is_tuple}"


class BasicLSTMCell(_LSTMBase):
    r"""The basic LSTM step (Zaremba et al. 2014), no peepholes, no clipping::

        i, j, f, o = split([x, h] @ kernel + bias, 4)
        c' = c * sigmoid(f + forget_bias) + sigmoid(i) * act(j)
        h' = act(c') * sigmoid(o)                    # output h'; state LSTMStateTuple(c', h')

    Args:
        num_units: ``H``.
        forget_bias: added to ``f`` at call time (not folded into the bias at init), default 1.0.
        state_is_tuple: True → ``LSTMStateTuple(c, h)``; False → the concatenation ``[c, h]`` of shape ``[B, 2H]``.
        activation: callable or TF name; default tanh.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell (see ``BasicRNNCell``).

    Parameters (TF names): ``kernel [D+H, 4H]`` (glorot-uniform), ``bias [4H]`` (zeros).
    """

    tf_name = "basic_lstm_cell"
    _tf_params = (("kernel", "kernel"), ("bias", "bias"))

    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        state_is_tuple: bool = True,
        activation: str | Activation | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, forget_bias, state_is_tuple, activation, **kwargs)
        self._finish_init()

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h = self.num_units
        self.kernel = self._new_parameter(
            input_size + h, 4 * h, init=None, dtype=dtype, device=device
        )
        self.bias = self._new_parameter(
            4 * h, init=torch.nn.init.zeros_, dtype=dtype, device=device
        )

    def _step(self, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, torch.Tensor]:
        c, h = state
        gates = torch.addmm(self.bias, torch.cat([inputs, h], 1), self.kernel)
        i, j, f, o = gates.chunk(4, dim=1)
        new_c = c * torch.sigmoid(f + self.forget_bias) + torch.sigmoid(i) * self._activation(j)
        new_h = self._activation(new_c) * torch.sigmoid(o)
        return new_c, new_h

    def _precompute(self, inputs: torch.Tensor) -> tuple[torch.Tensor, Callable]:
        xw, w_h = self._input_half(inputs)
        act = self._activation

        def core(
            xw_t: torch.Tensor, c: torch.Tensor, h: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            i, j, f, o = torch.addmm(xw_t, h, w_h).chunk(4, 1)  # forget_bias is already in xw_t
            new_c = c * torch.sigmoid(f) + torch.sigmoid(i) * act(j)
            return new_c, act(new_c) * torch.sigmoid(o)

        return xw, self._wrap_core(core)


class LSTMCell(_LSTMBase):
    r"""The full LSTM step (Hochreiter & Schmidhuber 1997; peepholes and projection of Sak et al. 2014)::

        i, j, f, o = split([x, m] @ kernel + bias, 4)
        c' = sigmoid(f + forget_bias + w_f_diag * c) * c + sigmoid(i + w_i_diag * c) * act(j)  # peepholes
        c' = clip(c', -cell_clip, cell_clip)                                                    # cell_clip
        m' = sigmoid(o + w_o_diag * c') * act(c')
        m' = clip(m' @ projection/kernel, -proj_clip, proj_clip)                                # num_proj
        # output m'; state LSTMStateTuple(c', m')

    Without peepholes the ``w_*_diag`` terms are absent; ``P = num_proj`` or ``H``.

    Args:
        num_units: ``H``.
        use_peepholes: add the diagonal peephole connections ``w_f_diag, w_i_diag, w_o_diag [H]``.
        cell_clip: clip ``c'`` to ``[-cell_clip, cell_clip]`` when given.
        initializer: in-place initialiser for the kernel, peepholes and projection; default glorot-uniform.
        num_proj: ``P``; project ``m`` with ``projection/kernel [H, P]`` when given.
        proj_clip: clip the projected output when given (needs ``num_proj``).
        forget_bias: as ``BasicLSTMCell``.
        state_is_tuple: as ``BasicLSTMCell`` (the non-tuple state is ``[B, H+P]``).
        activation: as ``BasicLSTMCell``.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, in TF's order): ``kernel [D+P, 4H]``, ``bias [4H]`` (zeros), then ``w_f_diag``,
    ``w_i_diag``, ``w_o_diag`` (peepholes), then ``projection/kernel`` (num_proj).
    """

    tf_name = "lstm_cell"
    # None until built, and when the option is off (peepholes, num_proj); declared for the type checker.
    w_f_diag: torch.Tensor
    w_i_diag: torch.Tensor
    w_o_diag: torch.Tensor
    projection_kernel: torch.Tensor
    _tf_params = (
        ("kernel", "kernel"),
        ("bias", "bias"),
        ("w_f_diag", "w_f_diag"),
        ("w_i_diag", "w_i_diag"),
        ("w_o_diag", "w_o_diag"),
        ("projection/kernel", "projection_kernel"),
    )

    def __init__(
        self,
        num_units: int,
        use_peepholes: bool = False,
        cell_clip: float | None = None,
        initializer: Initializer | None = None,
        num_proj: int | None = None,
        proj_clip: float | None = None,
        num_unit_shards: Any = None,
        num_proj_shards: Any = None,
        forget_bias: float = 1.0,
        state_is_tuple: bool = True,
        activation: str | Activation | None = None,
        **kwargs: Any,
    ) -> None:
        # num_unit_shards / num_proj_shards are TF's deprecated variable partitioning: accepted, no effect.
        super().__init__(num_units, forget_bias, state_is_tuple, activation, **kwargs)
        where = type(self).__name__
        self.use_peepholes = bool(use_peepholes)
        self.cell_clip = _check_clip(where, "cell_clip", cell_clip)
        self.proj_clip = _check_clip(where, "proj_clip", proj_clip)
        if num_proj is not None:
            if (
                isinstance(num_proj, bool)
                or not isinstance(num_proj, numbers.Integral)
                or num_proj <= 0
            ):
                raise ValueError(
                    f"{where}: expected num_proj to be a positive int or None, got {num_proj!r}"
                )
            num_proj = int(num_proj)
        self.num_proj = num_proj
        check_initializer(where, "initializer", initializer)
        self._initializer = initializer
        self._finish_init()

    @property
    def _h_size(self) -> int:
        return self.num_proj if self.num_proj is not None else self.num_units

    def _tf_param_used(self, attr: str) -> bool:
        if attr.startswith("w_"):
            return self.use_peepholes
        if attr == "projection_kernel":
            return self.num_proj is not None
        return True

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, init = self.num_units, self._initializer
        new = self._new_parameter
        self.kernel = new(input_size + self._h_size, 4 * h, init=init, dtype=dtype, device=device)
        self.bias = new(4 * h, init=torch.nn.init.zeros_, dtype=dtype, device=device)
        if self.use_peepholes:
            self.w_f_diag = new(h, init=init, dtype=dtype, device=device)
            self.w_i_diag = new(h, init=init, dtype=dtype, device=device)
            self.w_o_diag = new(h, init=init, dtype=dtype, device=device)
        if self.num_proj is not None:
            self.projection_kernel = new(h, self.num_proj, init=init, dtype=dtype, device=device)

    def _step(self, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, torch.Tensor]:
        c, m = state
        gates = torch.addmm(self.bias, torch.cat([inputs, m], 1), self.kernel)
        i, j, f, o = gates.chunk(4, dim=1)
        if self.use_peepholes:
            f = f + self.w_f_diag * c
            i = i + self.w_i_diag * c
        new_c = torch.sigmoid(f + self.forget_bias) * c + torch.sigmoid(i) * self._activation(j)
        if self.cell_clip is not None:
            new_c = new_c.clamp(-self.cell_clip, self.cell_clip)
        if self.use_peepholes:
            o = o + self.w_o_diag * new_c
        new_m = torch.sigmoid(o) * self._activation(new_c)
        if self.num_proj is not None:
            new_m = new_m @ self.projection_kernel
            if self.proj_clip is not None:
                new_m = new_m.clamp(-self.proj_clip, self.proj_clip)
        return new_c, new_m

    def _precompute(self, inputs: torch.Tensor) -> tuple[torch.Tensor, Callable]:
        xw, w_h = self._input_half(inputs)
        act, cell_clip, proj_clip = self._activation, self.cell_clip, self.proj_clip
        peep = (self.w_f_diag, self.w_i_diag, self.w_o_diag) if self.use_peepholes else None
        proj = self.projection_kernel if self.num_proj is not None else None

        def core(
            xw_t: torch.Tensor, c: torch.Tensor, m: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            i, j, f, o = torch.addmm(xw_t, m, w_h).chunk(4, 1)  # forget_bias is already in xw_t
            if peep is not None:
                f = f + peep[0] * c
                i = i + peep[1] * c
            new_c = torch.sigmoid(f) * c + torch.sigmoid(i) * act(j)
            if cell_clip is not None:
                new_c = new_c.clamp(-cell_clip, cell_clip)
            if peep is not None:
                o = o + peep[2] * new_c
            new_m = torch.sigmoid(o) * act(new_c)
            if proj is not None:
                new_m = new_m @ proj
                if proj_clip is not None:
                    new_m = new_m.clamp(-proj_clip, proj_clip)
            return new_c, new_m

        return xw, self._wrap_core(core)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, use_peepholes={self.use_peepholes}, cell_clip={self.cell_clip}, "
            f"num_proj={self.num_proj}, proj_clip={self.proj_clip}"
        )


def _check_clip(where: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    # `not value > 0` also refuses NaN, which would turn every clipped value into NaN. inf is allowed (no clip).
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:  # type: ignore[operator]
        raise ValueError(f"{where}: expected {name} to be a positive number or None, got {value!r}")
    return float(value)
