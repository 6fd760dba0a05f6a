"""``BasicRNNCell`` (TF1 ``tf.nn.rnn_cell.BasicRNNCell``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..activations import Activation, resolve_activation
from .base import LayerCell

__all__ = ["BasicRNNCell"]


class BasicRNNCell(LayerCell):
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
    _tf_params = (("kernel", "kernel"), ("bias", "bias"))
    # Set by _finish_init/build (None until built); declared for the type checker.
    kernel: torch.Tensor
    bias: torch.Tensor

    def __init__(
        self, num_units: int, activation: str | Activation | None = None, **kwargs: Any
    ) -> None:
        super().__init__(num_units, **kwargs)
        self._activation, self.activation_name = resolve_activation(type(self).__name__, activation)
        self._finish_init()

    @property
    def state_size(self) -> int:
        return self.num_units

    @property
    def output_size(self) -> int:
        return self.num_units

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h = self.num_units
        self.kernel = self._new_parameter(input_size + h, h, init=None, dtype=dtype, device=device)
        self.bias = self._new_parameter(h, init=torch.nn.init.zeros_, dtype=dtype, device=device)

    def _step(self, inputs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self._activation(torch.addmm(self.bias, torch.cat([inputs, state], 1), self.kernel))
        return h, h

    def _precompute(self, inputs: torch.Tensor) -> tuple[torch.Tensor, Callable]:
        """``inputs @ kernel[:D] + bias`` for all steps; the step adds ``h @ kernel[D:]``."""
        d, act = self.input_size, self._activation
        w_h = self.kernel[d:]

        def step(xw_t: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            new_h = act(torch.addmm(xw_t, h, w_h))
            return new_h, new_h

        return F.linear(inputs, self.kernel[:d].t(), self.bias), step
