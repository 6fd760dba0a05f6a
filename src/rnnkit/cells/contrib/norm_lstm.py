"""contrib's LSTMs with optional layer normalisation (TF 1.15 ``tf.contrib.rnn``): ``LayerNormLSTMCell`` (peepholes,
cell clip, projection) and ``CoupledInputForgetGateLSTMCell`` (input gate = 1 - forget gate)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..._checks import check_positive_int, describe
from ...activations import Activation, resolve_activation
from ..base import Initializer
from ..lstm import _check_clip
from ..sizes import ProjectedLSTMState
from ..state import LSTMStateTuple
from ..tf_params import norm_params, tf_params
from ._common import SplitCell, check_bool, check_float, constant_, layer_norm, optional_init

__all__ = ["LayerNormLSTMCell", "CoupledInputForgetGateLSTMCell"]

_zeros = torch.nn.init.zeros_


class _NormLSTM(ProjectedLSTMState, SplitCell):
    """What both share: options, the peephole/norm/projection bookkeeping and the state tuple."""

    _GATES: tuple[str, ...] = ()
    _PEEPHOLES: tuple[str, ...] = ()
    kernel: torch.Tensor
    bias: torch.Tensor
    projection_kernel: torch.Tensor | None

    def __init__(
        self,
        num_units: int,
        use_peepholes: bool,
        initializer: Initializer | None,
        num_proj: int | None,
        proj_clip: float | None,
        forget_bias: float,
        activation: str | Activation | None,
        layer_norm: bool,
        norm_gain: float,
        norm_shift: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, **kwargs)
        where = type(self).__name__
        self.use_peepholes = check_bool(where, "use_peepholes", use_peepholes)
        self._initializer = optional_init(where, "initializer", initializer)
        self.num_proj = (
            None if num_proj is None else check_positive_int(where, "num_proj", num_proj)
        )
        self.proj_clip = _check_clip(where, "proj_clip", proj_clip)
        self.forget_bias = check_float(where, "forget_bias", forget_bias)
        self._activation, self.activation_name = resolve_activation(where, activation)
        self.layer_norm = check_bool(where, "layer_norm", layer_norm)
        self.norm_gain = check_float(where, "norm_gain", norm_gain)
        self.norm_shift = check_float(where, "norm_shift", norm_shift)

    def _tf_param_used(self, attr: str) -> bool:
        if attr.endswith(("_gamma", "_beta")):
            return self.layer_norm
        if attr in self._PEEPHOLES:
            return self.use_peepholes
        if attr == "projection_kernel":
            return self.num_proj is not None
        return True

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new, init = self.num_units, self._new_parameter, self._initializer
        n = len(self._GATES) - 1  # the gates of the matmul (the last norm is the state's)
        self.kernel = new(input_size + self._out, n * h, init=init, dtype=dtype, device=device)
        bias = new(n * h, init=_zeros, dtype=dtype, device=device)
        if self.layer_norm:
            # TF creates the bias even under layer_norm, where nothing uses it: a buffer here, so that it keeps
            # its TF name (checkpoints carry it) but, as in TF, receives no gradient and no optimiser update.
            self.__dict__.pop("bias", None)
            self._parameters.pop("bias", None)  # the placeholder of an unbuilt cell (cells/lazy.py)
            self.register_buffer("bias", bias.detach())
        else:
            self.bias = bias
        for _, attr in self._tf_params[2:]:
            if not self._tf_param_used(attr) or attr == "projection_kernel":
                continue
            if attr.endswith("_gamma"):
                param = new(h, init=constant_(self.norm_gain), dtype=dtype, device=device)
            elif attr.endswith("_beta"):
                param = new(h, init=constant_(self.norm_shift), dtype=dtype, device=device)
            else:  # peephole
                param = new(h, init=init, dtype=dtype, device=device)
            setattr(self, attr, param)
        if self.num_proj is not None:
            self.projection_kernel = new(h, self.num_proj, init=init, dtype=dtype, device=device)

    def _norm(self, x: torch.Tensor, gate: str) -> torch.Tensor:
        if not self.layer_norm:
            return x
        return layer_norm(x, getattr(self, f"{gate}_gamma"), getattr(self, f"{gate}_beta"))

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``x @ kernel[:D]`` (``+ bias`` unless layer_norm, as TF) → ``[..., nH]``."""
        w_x = self.kernel[: self.input_size].t()
        return F.linear(inputs, w_x, None if self.layer_norm else self.bias)

    def _project(self, m: torch.Tensor) -> torch.Tensor:
        if self.projection_kernel is not None:
            m = m @ self.projection_kernel
            if self.proj_clip is not None:
                m = m.clamp(-self.proj_clip, self.proj_clip)
        return m

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, use_peepholes={self.use_peepholes}, num_proj={self.num_proj}, "
            f"layer_norm={self.layer_norm}"
        )


class LayerNormLSTMCell(_NormLSTM):
    r"""contrib's ``LayerNormLSTMCell``: ``LSTMCell`` with layer normalisation before the nonlinearities::

        i, j, f, o = split([x, m] @ kernel (+ bias without layer_norm), 4)
        i, j, f, o = LN_input(i), LN_transform(j), LN_forget(f), LN_output(o)                  # layer_norm
        c' = sigmoid(f + forget_bias + w_f_diag * c) * c + sigmoid(i + w_i_diag * c) * act(j)  # peepholes
        c' = clip(LN_state(c'), -cell_clip, cell_clip)
        m' = sigmoid(o + w_o_diag * c') * act(c')
        m' = clip(m' @ projection/kernel, -proj_clip, proj_clip)                                # num_proj
        # output m'; state LSTMStateTuple(c', m'); LN as contrib's layers.layer_norm (epsilon 1e-12)

    Args:
        num_units: ``H``.
        use_peepholes: add the diagonal peepholes ``w_f_diag, w_i_diag, w_o_diag [H]``.
        cell_clip: clip ``c'`` when given.
        initializer: in-place initialiser of the kernel, peepholes and projection; default glorot-uniform.
        num_proj: ``P``; project with ``projection/kernel [H, P]`` when given.
        proj_clip: clip the projected output when given.
        forget_bias: added to ``f`` at call time, default 1.0.
        activation: callable or TF name; default tanh.
        layer_norm: apply the five normalisations (default False, as TF).
        norm_gain, norm_shift: initial ``gamma`` / ``beta``.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``layer_norm_lstm_cell``, in TF's order): ``kernel [D+P, 4H]``, ``bias [4H]``
    (zeros; created but unused under layer_norm, as in TF: then a buffer, not trained), then under layer_norm ``input/gamma``,
    ``input/beta``, ``transform/…``, ``forget/…``, ``output/…``, then ``w_f_diag``, ``w_i_diag``, ``w_o_diag``
    (peepholes), then ``state/gamma``, ``state/beta``, then ``projection/kernel``.
    """

    tf_name = "layer_norm_lstm_cell"
    w_f_diag: torch.Tensor
    w_i_diag: torch.Tensor
    w_o_diag: torch.Tensor
    _GATES = ("input", "transform", "forget", "output", "state")
    _PEEPHOLES = ("w_f_diag", "w_i_diag", "w_o_diag")
    _tf_params = (
        tf_params("kernel bias")
        + norm_params(_GATES[:4])
        + tf_params(" ".join(_PEEPHOLES))
        + norm_params(_GATES[4:])
        + tf_params("projection/kernel")
    )

    def __init__(
        self,
        num_units: int,
        use_peepholes: bool = False,
        cell_clip: float | None = None,
        initializer: Initializer | None = None,
        num_proj: int | None = None,
        proj_clip: float | None = None,
        forget_bias: float = 1.0,
        activation: str | Activation | None = None,
        layer_norm: bool = False,
        norm_gain: float = 1.0,
        norm_shift: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            num_units, use_peepholes, initializer, num_proj, proj_clip, forget_bias, activation,
            layer_norm, norm_gain, norm_shift, **kwargs,
        )  # fmt: skip
        self.cell_clip = _check_clip(type(self).__name__, "cell_clip", cell_clip)
        self._finish_init()

    def recurrent_step(self, projected_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        c, m = state
        z = torch.addmm(projected_t, m, self.kernel[self.input_size :])
        i, j, f, o = z.chunk(4, dim=1)
        i, j = self._norm(i, "input"), self._norm(j, "transform")
        f, o = self._norm(f, "forget"), self._norm(o, "output")
        act, sig = self._activation, torch.sigmoid
        if self.use_peepholes:
            new_c = sig(f + self.forget_bias + self.w_f_diag * c) * c + sig(
                i + self.w_i_diag * c
            ) * act(j)
        else:
            new_c = sig(f + self.forget_bias) * c + sig(i) * act(j)
        new_c = self._norm(new_c, "state")
        if self.cell_clip is not None:
            new_c = new_c.clamp(-self.cell_clip, self.cell_clip)
        if self.use_peepholes:
            o = o + self.w_o_diag * new_c
        new_m = self._project(sig(o) * act(new_c))
        return new_m, LSTMStateTuple(new_c, new_m)


class CoupledInputForgetGateLSTMCell(_NormLSTM):
    r"""LSTM whose input gate is ``1 - forget gate`` (Greff et al. 2015), optional peepholes, projection and
    layer normalisation::

        j, f, o = split([x, m] @ W_0 (+ B without layer_norm), 3)
        j, f, o = LN_transform(j), LN_forget(f), LN_output(o)                        # layer_norm
        f  = sigmoid(f + forget_bias + W_F_diag * c)                                 # peephole term optional
        c' = LN_state(f * c + (1 - f) * act(j))
        m' = sigmoid(o + W_O_diag * c') * act(c')
        m' = clip(m' @ W_P_0, -proj_clip, proj_clip)                                 # num_proj
        # output m'; state LSTMStateTuple(c', m') (or the concatenation [c', m'] when state_is_tuple=False)

    Args:
        num_units: ``H``.
        use_peepholes: add ``W_F_diag`` and ``W_O_diag [H]``.
        initializer: in-place initialiser of ``W_0``, the peepholes and ``W_P_0`` (TF 1.15 accepted it and
            ignored it; here it is applied, not silently dropped); default glorot-uniform.
        num_proj: ``P``; project with ``W_P_0 [H, P]``.
        proj_clip: clip the projected output when given.
        num_unit_shards, num_proj_shards: TF's variable sharding; only 1 (TF's default) is supported, since more
            shards rename the variables ``W_1``, ``W_2``...
        forget_bias: added to ``f`` at call time, default 1.0.
        state_is_tuple: False: the state is the concatenation ``[c, m]`` of shape ``[B, H+P]``.
        activation: callable or TF name; default tanh.
        layer_norm: apply the four normalisations (default False).
        norm_gain, norm_shift: initial ``gamma`` / ``beta``.

    Keyword Args:
        input_size, dtype, device, name, reuse: as for every cell.

    Parameters (TF names, scope ``coupled_input_forget_gate_lstm_cell``, in TF's order): ``W_0 [D+P, 3H]``,
    ``B [3H]`` (zeros; unused under layer_norm, as in TF: then a buffer, not trained), ``transform/gamma``, ``transform/beta``,
    ``forget/…``, ``output/…`` (layer_norm), ``W_F_diag``, ``W_O_diag`` (peepholes), ``state/gamma``,
    ``state/beta`` (layer_norm), ``W_P_0`` (num_proj).
    """

    tf_name = "coupled_input_forget_gate_lstm_cell"
    w_f_diag: torch.Tensor
    w_o_diag: torch.Tensor
    _GATES = ("transform", "forget", "output", "state")
    _PEEPHOLES = ("w_f_diag", "w_o_diag")
    _tf_params = (
        tf_params("W_0=kernel B=bias")
        + norm_params(_GATES[:3])
        + tf_params("W_F_diag=w_f_diag W_O_diag=w_o_diag")
        + norm_params(_GATES[3:])
        + tf_params("W_P_0=projection_kernel")
    )

    def __init__(
        self,
        num_units: int,
        use_peepholes: bool = False,
        initializer: Initializer | None = None,
        num_proj: int | None = None,
        proj_clip: float | None = None,
        num_unit_shards: int = 1,
        num_proj_shards: int = 1,
        forget_bias: float = 1.0,
        state_is_tuple: bool = True,
        activation: str | Activation | None = None,
        layer_norm: bool = False,
        norm_gain: float = 1.0,
        norm_shift: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            num_units, use_peepholes, initializer, num_proj, proj_clip, forget_bias, activation,
            layer_norm, norm_gain, norm_shift, **kwargs,
        )  # fmt: skip
        where = type(self).__name__
        for name, shards in (
            ("num_unit_shards", num_unit_shards),
            ("num_proj_shards", num_proj_shards),
        ):
            if shards != 1 or isinstance(shards, bool):
                raise ValueError(
                    f"{where}: expected {name}=1 (sharded variables are not supported), got {describe(shards)}"
                )
        self.state_is_tuple = check_bool(where, "state_is_tuple", state_is_tuple)
        self._finish_init()

    @property
    def state_size(self) -> Any:
        size = super().state_size
        return size if self.state_is_tuple else size.c + size.h

    def recurrent_step(self, projected_t: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        if self.state_is_tuple:
            c, m = state
        else:
            c, m = state[:, : self.num_units], state[:, self.num_units :]
        z = torch.addmm(projected_t, m, self.kernel[self.input_size :])
        j, f, o = z.chunk(3, dim=1)
        j, f, o = self._norm(j, "transform"), self._norm(f, "forget"), self._norm(o, "output")
        f = f + self.forget_bias
        if self.use_peepholes:
            f = f + self.w_f_diag * c
        f = torch.sigmoid(f)
        new_c = self._norm(f * c + (1 - f) * self._activation(j), "state")
        if self.use_peepholes:
            o = o + self.w_o_diag * new_c
        new_m = self._project(torch.sigmoid(o) * self._activation(new_c))
        if self.state_is_tuple:
            return new_m, LSTMStateTuple(new_c, new_m)
        return new_m, torch.cat([new_c, new_m], 1)
