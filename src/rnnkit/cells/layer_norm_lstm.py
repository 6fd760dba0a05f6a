"""``LayerNormBasicLSTMCell`` (TF 1.15 ``tf.contrib.rnn.LayerNormBasicLSTMCell``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .._checks import describe
from ..activations import Activation, resolve_activation
from .base import LayerCell
from .contrib._common import check_bool, check_float, layer_norm
from .dropout import check_keep_prob
from .sizes import LSTMState
from .state import LSTMStateTuple
from .tf_params import norm_params, tf_params

__all__ = ["LayerNormBasicLSTMCell"]

_GATES = ("input", "transform", "forget", "output", "state")


class LayerNormBasicLSTMCell(LSTMState, LayerCell):
    r"""Basic LSTM with layer normalisation (Ba et al. 2016) and recurrent dropout (Semeniuta et al. 2016)::

        i, j, f, o = split([x, h] @ kernel (+ bias when not layer_norm), 4)
        i, j, f, o = LN_input(i), LN_transform(j), LN_forget(f), LN_output(o)       # when layer_norm
        g  = dropout(act(j), dropout_keep_prob)                                      # train mode, keep < 1
        c' = c * sigmoid(f + forget_bias) + sigmoid(i) * g
        c' = LN_state(c')                                                            # when layer_norm
        h' = act(c') * sigmoid(o)                   # output h'; state LSTMStateTuple(c', h')
        LN_s(v) = (v - mean(v)) / sqrt(var(v) + 1e-12) * s/gamma + s/beta          # over the last axis

    Args:
        num_units: ``H``.
        forget_bias: added to ``f`` at call time, default 1.0.
        input_size: ``D``; builds the parameters now (TF ignored it; here it plays its usual rnnkit role).
        activation: callable or TF name; default tanh.
        layer_norm: apply the five layer normalisations (then the kernel has no bias, as in TF).
        norm_gain, norm_shift: initial values of every ``gamma`` / ``beta``.
        dropout_keep_prob: float or 0-d tensor in (0, 1]; recurrent dropout on the candidate ``g`` with a fresh
            mask per element and step, in ``train()`` mode only (identity in ``eval()``).
        dropout_prob_seed: an int makes the dropout masks reproducible (the cell's own generator).

    Keyword Args:
        dtype, device, name, reuse: as for every cell.

    Note: with ``num_units`` 1 or 2 each normalised vector is 0 or ``+-1`` whatever its input, so gradients
    through the normalisations are ~0 and, in float32, rounding noise (TF's and rnnkit's noise differ).

    Parameters (TF names, in TF's order): ``kernel [D+H, 4H]`` (glorot-uniform), ``bias [4H]`` (only without
    layer_norm; TF's default glorot-uniform initialiser), then ``input/gamma``, ``input/beta``,
    ``transform/…``, ``forget/…``, ``output/…``, ``state/…`` (each ``[H]``; layer_norm only).
    """

    tf_name = "layer_norm_basic_lstm_cell"
    _tf_params = tf_params("kernel bias") + norm_params(_GATES)

    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        input_size: int | None = None,
        activation: str | Activation | None = None,
        layer_norm: bool = True,
        norm_gain: float = 1.0,
        norm_shift: float = 0.0,
        dropout_keep_prob: Any = 1.0,
        dropout_prob_seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, input_size=input_size, **kwargs)
        where = type(self).__name__
        self.forget_bias = check_float(where, "forget_bias", forget_bias)
        self.norm_gain = check_float(where, "norm_gain", norm_gain)
        self.norm_shift = check_float(where, "norm_shift", norm_shift)
        self.layer_norm = check_bool(where, "layer_norm", layer_norm)
        self._activation, self.activation_name = resolve_activation(where, activation)
        self._keep_value(dropout_keep_prob)
        self.dropout_keep_prob = dropout_keep_prob
        if dropout_prob_seed is not None and (
            isinstance(dropout_prob_seed, bool) or not isinstance(dropout_prob_seed, int)
        ):
            raise TypeError(
                f"{where}: expected dropout_prob_seed to be an int or None, got {describe(dropout_prob_seed)}"
            )
        self.dropout_prob_seed = dropout_prob_seed
        self._generators: dict[torch.device, torch.Generator] = {}
        self._finish_init()

    def _keep_value(self, value: Any) -> float:
        return check_keep_prob(type(self).__name__, "dropout_keep_prob", value)

    def _tf_param_used(self, attr: str) -> bool:
        if attr == "bias":
            return not self.layer_norm
        if attr == "kernel":
            return True
        return self.layer_norm

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new = self.num_units, self._new_parameter
        self.kernel = new(input_size + h, 4 * h, init=None, dtype=dtype, device=device)
        if not self.layer_norm:
            self.bias = new(
                4 * h, init=None, dtype=dtype, device=device
            )  # TF: get_variable's glorot default
            return
        for gate in _GATES:
            setattr(
                self,
                f"{gate}_gamma",
                new(h, init=lambda p: p.fill_(self.norm_gain), dtype=dtype, device=device),
            )
            setattr(
                self,
                f"{gate}_beta",
                new(h, init=lambda p: p.fill_(self.norm_shift), dtype=dtype, device=device),
            )

    def _norm(self, x: torch.Tensor, gate: str) -> torch.Tensor:
        return layer_norm(x, getattr(self, f"{gate}_gamma"), getattr(self, f"{gate}_beta"))

    def _dropout(self, g: torch.Tensor) -> torch.Tensor:
        keep = self._keep_value(self.dropout_keep_prob)
        if not self.training or keep == 1.0:
            return g
        generator = None
        if self.dropout_prob_seed is not None:
            if g.device not in self._generators:
                self._generators[g.device] = torch.Generator(device=g.device).manual_seed(
                    self.dropout_prob_seed
                )
            generator = self._generators[g.device]
        noise = torch.rand(g.shape, generator=generator, dtype=g.dtype, device=g.device)
        return g / keep * torch.floor(keep + noise)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs @ kernel[:D]`` (``+ bias`` without layer_norm): ``[..., D]`` → ``[..., 4H]``."""
        kernel = self.kernel[: self.input_size]
        return F.linear(inputs, kernel.t(), None if self.layer_norm else self.bias)

    def recurrent_step(self, projected: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """The rest of the step (see the class doc): ``projected [B, 4H]``, ``LSTMStateTuple(c, h)``."""
        c, h = state
        concat = torch.addmm(projected, h, self._recurrent_rows("kernel"))
        i, j, f, o = concat.chunk(4, dim=1)
        if self.layer_norm:
            i, j = self._norm(i, "input"), self._norm(j, "transform")
            f, o = self._norm(f, "forget"), self._norm(o, "output")
        g = self._dropout(self._activation(j))
        new_c = c * torch.sigmoid(f + self.forget_bias) + torch.sigmoid(i) * g
        if self.layer_norm:
            new_c = self._norm(new_c, "state")
        new_h = self._activation(new_c) * torch.sigmoid(o)
        return new_h, LSTMStateTuple(new_c, new_h)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, forget_bias={self.forget_bias}, layer_norm={self.layer_norm}, "
            f"dropout_keep_prob={self.dropout_keep_prob}"
        )
