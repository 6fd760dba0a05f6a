"""``BasicLSTMCell`` and ``LSTMCell`` (TF1 ``tf.nn.rnn_cell``), gate order ``i, j, f, o``."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import check_initializer
from ..activations import Activation, resolve_activation
from .base import Initializer, LayerCell
from .fused_spec import FusedSpec, lstm_kernel_weights, lstm_spec, lstm_torch_weights
from .state import LSTMStateTuple
from .tf_params import KernelBias, tf_params

__all__ = ["BasicLSTMCell", "LSTMCell", "clip_by_value", "peephole_lstm_step"]


class _LSTMBase(KernelBias, LayerCell):
    """What both LSTM cells share: ``forget_bias``, activation and the two state representations."""

    # Declared here because mypy cannot follow the numbers.Real checks in _init_lstm that set them.
    forget_bias: float
    state_is_tuple: bool
    _activation: Activation
    activation_name: str | None

    def _init_lstm(
        self, forget_bias: float, state_is_tuple: bool, activation: str | Activation | None
    ) -> None:
        """Check and set the options both cells take (their ``__init__`` calls it after ``LayerCell``'s)."""
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

    # The state's public form (tuple or concatenation) is handled here, once, for every path.

    def _unpack(self, state: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``(c [B, H], h [B, P])`` from ``LSTMStateTuple(c, h)`` or TF's concatenation ``[c, h]``."""
        if self.state_is_tuple:
            return state[0], state[1]
        return state[:, : self.num_units], state[:, self.num_units :]

    def _pack(self, new_c: torch.Tensor, new_h: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """``(output h', new state in the public form)``."""
        if self.state_is_tuple:
            return new_h, LSTMStateTuple(new_c, new_h)
        return new_h, torch.cat([new_c, new_h], 1)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs @ kernel[:D] + bias`` with ``forget_bias`` added to the ``f`` block: ``[..., D]`` → ``[..., 4H]``.

        Folding ``forget_bias`` here (TF adds it to ``f`` at call time) moves one rounding: the results agree
        with TF's to float tolerance (the TF fixtures check it) and the step saves one add.
        """
        d = self.input_size
        b_i, b_j, b_f, b_o = self.bias.chunk(4)
        bias = torch.cat([b_i, b_j, b_f + self.forget_bias, b_o])
        return F.linear(inputs, self.kernel[:d].t(), bias)

    def _torch_weights(self) -> list[torch.Tensor]:
        """``[weight_ih, weight_hh, bias_ih, bias_hh(, weight_hr)]`` in torch's layout (``lstm_torch_weights``)."""
        # (not getattr(self, ..., None): a missing attribute costs nn.Module an exception on every fused call)
        projection = self._parameters.get("projection_kernel")
        return lstm_torch_weights(
            self.kernel, self.bias, self.forget_bias, self.input_size or 0, projection
        )

    def _torch_kernel_weights(self) -> tuple[list[torch.Tensor], Any]:
        """``FusedLayer.kernel_weights`` of a cell without a projection (the spec offers it only then)."""
        return lstm_kernel_weights(self.kernel, self.bias, self.forget_bias, self.input_size or 0)

    def _lstm_spec(self, cls: type, proj: int) -> FusedSpec | str:
        name = type(self).__name__
        overridden = self._math_overridden(cls)
        if overridden is not None:
            return f"{name} overrides {cls.__name__}.{overridden}, which a fused kernel would skip"
        if self.activation_name != "tanh":
            return (
                f"{name} uses activation {self.activation_name or repr(self._activation)}; the fused "
                "LSTM kernel has tanh only"
            )
        return lstm_spec(
            self.num_units,
            proj,
            self._torch_weights,
            self._unpack,
            lambda c, h: self._pack(c, h)[1],
            None if proj else self._torch_kernel_weights,
        )

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

    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        state_is_tuple: bool = True,
        activation: str | Activation | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, **kwargs)
        self._init_lstm(forget_bias, state_is_tuple, activation)
        self._finish_init()

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h = self.num_units
        self.kernel = self._new_parameter(
            input_size + h, 4 * h, init=None, dtype=dtype, device=device
        )
        self.bias = self._new_parameter(
            4 * h, init=torch.nn.init.zeros_, dtype=dtype, device=device
        )

    def recurrent_step(self, projected: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """``projected [B, 4H]`` (``input_projection``, ``forget_bias`` included) and the state → ``(h', state')``."""
        c, h = self._unpack(state)
        i, j, f, o = torch.addmm(projected, h, self._recurrent_rows("kernel")).chunk(4, 1)
        new_c = c * torch.sigmoid(f) + torch.sigmoid(i) * self._activation(j)
        new_h = self._activation(new_c) * torch.sigmoid(o)
        return self._pack(new_c, new_h)

    def fused_spec(self) -> FusedSpec | str:
        """``torch._VF.lstm`` with tanh (the weights re-laid out by ``_torch_weights``)."""
        return self._lstm_spec(BasicLSTMCell, 0)


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
    _tf_params = tf_params("kernel bias w_f_diag w_i_diag w_o_diag projection/kernel")
    _tf_param_options = dict.fromkeys(("w_f_diag", "w_i_diag", "w_o_diag"), "use_peepholes") | {
        "projection_kernel": "num_proj"
    }

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
        super().__init__(num_units, **kwargs)
        self._init_lstm(forget_bias, state_is_tuple, activation)
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

    def recurrent_step(self, projected: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """``projected [B, 4H]`` (``input_projection``, ``forget_bias`` included) and the state → ``(m', state')``."""
        c, m = self._unpack(state)
        z = torch.addmm(projected, m, self._recurrent_rows("kernel"))
        peepholes = (self.w_i_diag, self.w_f_diag, self.w_o_diag) if self.use_peepholes else None
        new_c, new_m = peephole_lstm_step(z, c, self._activation, peepholes, self.cell_clip)
        if self.num_proj is not None:
            new_m = new_m @ self.projection_kernel
            if self.proj_clip is not None:
                new_m = clip_by_value(new_m, self.proj_clip)
        return self._pack(new_c, new_m)

    def fused_spec(self) -> FusedSpec | str:
        """``torch._VF.lstm`` (``num_proj`` → ``proj_size``) when there are no peepholes and no clipping."""
        for option in ("use_peepholes", "cell_clip", "proj_clip"):
            if getattr(self, option) not in (None, False):
                what = "peepholes" if option == "use_peepholes" else option
                return f"LSTMCell uses {what}, which torch's fused LSTM lacks"
        return self._lstm_spec(LSTMCell, self.num_proj or 0)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, use_peepholes={self.use_peepholes}, cell_clip={self.cell_clip}, "
            f"num_proj={self.num_proj}, proj_clip={self.proj_clip}"
        )


def peephole_lstm_step(
    z: torch.Tensor,
    c: torch.Tensor,
    act: Activation,
    peepholes: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
    cell_clip: float | None,
    clip: Callable[[torch.Tensor, float], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The LSTM update with optional peepholes and cell clip, shared by ``LSTMCell`` and ``LSTMBlockCell``::

        i, j, f, o = split(z, 4)                       # z [B, 4H]: the gates' pre-activations, forget_bias in f
        c' = sigmoid(f + w_f * c) * c + sigmoid(i + w_i * c) * act(j)
        c' = clip(c', cell_clip)                       # when cell_clip is given
        h' = sigmoid(o + w_o * c') * act(c')           # returns (c' [B, H], h' [B, H])

    ``peepholes`` is ``(w_i, w_f, w_o)``, each ``[H]`` (None: no peephole terms). ``clip(x, cell_clip)`` defaults
    to TF's ``clip_by_value`` (``LSTMCell``); the block cells pass their kernels' straight-through clip.
    """
    i, j, f, o = z.chunk(4, 1)
    if peepholes is not None:
        i = i + peepholes[0] * c
        f = f + peepholes[1] * c
    new_c = torch.sigmoid(f) * c + torch.sigmoid(i) * act(j)
    if cell_clip is not None:
        new_c = (clip or clip_by_value)(new_c, cell_clip)
    if peepholes is not None:
        o = o + peepholes[2] * new_c
    return new_c, torch.sigmoid(o) * act(new_c)


def clip_by_value(x: torch.Tensor, clip: float) -> torch.Tensor:
    """TF's ``clip_by_value(x, -clip, clip)``, gradient included: 1 where ``-clip <= x <= clip`` (the bounds
    themselves pass it), else 0. Written with ``where`` because ``clamp``'s gradient at exactly a bound
    depends on the torch version (1 up to 2.13, 0 from 2.14)."""
    return torch.where(x > clip, clip, torch.where(x < -clip, -clip, x))


def _check_clip(where: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    # `not value > 0` also refuses NaN, which would turn every clipped value into NaN. inf is allowed (no clip).
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:  # type: ignore[operator]
        raise ValueError(f"{where}: expected {name} to be a positive number or None, got {value!r}")
    return float(value)
