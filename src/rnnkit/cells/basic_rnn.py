"""``BasicRNNCell`` (TF1 ``tf.nn.rnn_cell.BasicRNNCell``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..activations import Activation, resolve_activation
from .base import LayerCell
from .fused_spec import FusedSpec, rnn_spec
from .sizes import SingleState
from .tf_params import KernelBias

__all__ = ["ActivationCell", "BasicRNNCell"]


class ActivationCell(SingleState, LayerCell):
    """A single-state cell (``h [B, H]`` is output and state) whose one option is its activation:
    ``activation``, a callable or a TF name (default tanh), resolved once here. ``BasicRNNCell`` and the
    contrib ``IndRNNCell`` and ``SRUCell`` build on it."""

    def __init__(
        self, num_units: int, activation: str | Activation | None = None, **kwargs: Any
    ) -> None:
        super().__init__(num_units, **kwargs)
        self._activation, self.activation_name = resolve_activation(type(self).__name__, activation)
        self._finish_init()


class BasicRNNCell(KernelBias, ActivationCell):
    r"""The plain RNN step: ``h' = act([x, h] @ kernel + bias)``; output = new state = ``h'``.

    Args:
        num_units: ``H``, the state size.
        activation: callable or TF name (``"relu"``); default tanh.

    Keyword Args:
        input_size: ``D``; builds the parameters now (otherwise the first call does).
        dtype: of the parameters when built here (a lazy build takes the inputs').
        device: of the parameters when built here (a lazy build takes the inputs').
        name: the TF scope of the variables (default ``basic_rnn_cell``). ``reuse`` is accepted and ignored.

    Parameters (TF names): ``kernel [D+H, H]`` (glorot-uniform), ``bias [H]`` (zeros).

    Shape:
        inputs ``[B, D]``, state ``[B, H]`` → output ``[B, H]``, new state ``[B, H]``.
    """

    tf_name = "basic_rnn_cell"

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h = self.num_units
        self.kernel = self._new_parameter(input_size + h, h, init=None, dtype=dtype, device=device)
        self.bias = self._new_parameter(h, init=torch.nn.init.zeros_, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs @ kernel[:D] + bias``: ``[..., D]`` → ``[..., H]``."""
        return F.linear(inputs, self.kernel[: self.input_size].t(), self.bias)

    def recurrent_step(
        self, projected: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``h' = act(projected + h @ kernel[D:])``."""
        h = self._activation(torch.addmm(projected, state, self._recurrent_rows("kernel")))
        return h, h

    def fused_spec(self) -> FusedSpec | str:
        """``torch._VF.rnn_tanh`` / ``rnn_relu``: ``weight_ih = kernel[:D].T``, ``weight_hh = kernel[D:].T``."""
        name = type(self).__name__
        overridden = self._math_overridden(BasicRNNCell)
        if overridden is not None:
            return f"{name} overrides BasicRNNCell.{overridden}, which a fused kernel would skip"
        if self.activation_name not in ("tanh", "relu"):
            return (
                f"{name} uses activation {self.activation_name or repr(self._activation)}; fused kernels "
                "have tanh and relu only"
            )
        mode = "RNN_TANH" if self.activation_name == "tanh" else "RNN_RELU"
        return rnn_spec(mode, self.num_units, self._torch_weights)

    def _torch_weights(self) -> list[torch.Tensor]:
        d = self.input_size
        return [self.kernel[:d].t(), self.kernel[d:].t(), self.bias, torch.zeros_like(self.bias)]
