"""``CudnnCompatibleLSTMCell`` and ``CudnnCompatibleGRUCell`` (``tf.contrib.cudnn_rnn``, TF 1.15).

The cells that compute what one layer of ``CudnnLSTM`` / ``CudnnGRU`` computes, under the names that those layers'
checkpoints use (the canonical names of TF's ``CudnnOpaqueParamsSaveable``):

* ``CudnnCompatibleLSTMCell`` is TF 1.15's ``LSTMBlockCell(forget_bias=0, cell_clip=None, use_peephole=False)``
  under the scope ``cudnn_compatible_lstm_cell``. cuDNN's LSTM has no forget bias, so ``forget_bias`` must be 0 to
  read a CudnnLSTM checkpoint; restoring one into ``BasicLSTMCell``/``LSTMCell`` (default ``forget_bias=1.0``)
  silently adds 1 to every forget gate. ``rk.LSTMCell(H, forget_bias=0.0)`` with ``name=
  "cudnn_compatible_lstm_cell"`` computes the same.
* ``CudnnCompatibleGRUCell`` is cuDNN's GRU, which applies the reset gate *after* the recurrent matmul (torch's
  ``nn.GRU`` does the same; TF's ``GRUCell`` does not) and has an extra recurrent candidate bias.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .base import Initializer, LayerCell
from .block import LSTMBlockCell
from .fused_spec import FusedSpec, rnn_spec
from .gru import gru_blend
from .sizes import SingleState
from .tf_params import tf_params

__all__ = ["CudnnCompatibleLSTMCell", "CudnnCompatibleGRUCell"]


class CudnnCompatibleLSTMCell(LSTMBlockCell):
    """One layer of ``CudnnLSTM`` as a cell: ``LSTMBlockCell`` with ``forget_bias=0``, no clip, no peepholes.

    Args:
        num_units: ``H``.

    Keyword Args:
        input_size, dtype, device, name (default ``cudnn_compatible_lstm_cell``), reuse: as for every cell.

    Parameters (TF names): ``kernel [D+H, 4H]`` (gates i, c, f, o), ``bias [4H]`` — the *sum* of cuDNN's two
    biases (input and recurrent), as CudnnLSTM's checkpoints store it.
    """

    tf_name = "cudnn_compatible_lstm_cell"

    def __init__(self, num_units: int, reuse: Any = None, **kwargs: Any) -> None:
        super().__init__(num_units, forget_bias=0.0, cell_clip=None, use_peephole=False, **kwargs)


def _ones(t: torch.Tensor) -> torch.Tensor:
    return torch.nn.init.ones_(t)


class CudnnCompatibleGRUCell(SingleState, LayerCell):
    r"""One layer of ``CudnnGRU`` as a cell (cuDNN's GRU: reset gate applied after the recurrent matmul)::

        r, u = split(sigmoid([x, h] @ gates/kernel + gates/bias), 2)
        c    = tanh(x @ candidate/input_projection/kernel + candidate/input_projection/bias
                    + r * (h @ candidate/hidden_projection/kernel + candidate/hidden_projection/bias))
        h'   = (1 - u) * c + u * h                       # output = new state = h'

    Args:
        num_units: ``H``.
        kernel_initializer: in-place initialiser of the three kernels; default glorot-uniform.

    Keyword Args:
        input_size, dtype, device, name (default ``cudnn_compatible_gru_cell``), reuse: as for every cell.

    Parameters (TF names, TF's order): ``gates/kernel [D+H, 2H]``, ``gates/bias [2H]`` (ones),
    ``candidate/input_projection/kernel [D, H]``, ``candidate/hidden_projection/kernel [H, H]``,
    ``candidate/input_projection/bias [H]``, ``candidate/hidden_projection/bias [H]`` (zeros).
    """

    tf_name = "cudnn_compatible_gru_cell"
    gates_kernel: torch.Tensor
    gates_bias: torch.Tensor
    input_kernel: torch.Tensor
    hidden_kernel: torch.Tensor
    input_bias: torch.Tensor
    hidden_bias: torch.Tensor
    _tf_params = tf_params(
        "gates/kernel gates/bias candidate/input_projection/kernel=input_kernel "
        "candidate/hidden_projection/kernel=hidden_kernel candidate/input_projection/bias=input_bias "
        "candidate/hidden_projection/bias=hidden_bias"
    )
    activation_name = "tanh"

    def __init__(
        self,
        num_units: int,
        reuse: Any = None,
        kernel_initializer: Initializer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(num_units, **kwargs)
        self._kernel_init = kernel_initializer
        self._finish_init()

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new, init = self.num_units, self._new_parameter, self._kernel_init
        zeros = torch.nn.init.zeros_
        self.gates_kernel = new(input_size + h, 2 * h, init=init, dtype=dtype, device=device)
        self.gates_bias = new(2 * h, init=_ones, dtype=dtype, device=device)
        self.input_kernel = new(input_size, h, init=init, dtype=dtype, device=device)
        self.hidden_kernel = new(h, h, init=init, dtype=dtype, device=device)
        self.input_bias = new(h, init=zeros, dtype=dtype, device=device)
        self.hidden_bias = new(h, init=zeros, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[x @ gates/kernel[:D] + gates/bias, x @ input_projection/kernel + its bias]``: ``[..., 3H]``."""
        d = self.input_size
        weight = torch.cat([self.gates_kernel[:d], self.input_kernel], 1)
        return F.linear(inputs, weight.t(), torch.cat([self.gates_bias, self.input_bias]))

    def recurrent_step(
        self, projected: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The rest of one step from ``input_projection``'s ``[B, 3H]`` slice and ``h [B, H]``."""
        n = self.num_units
        w_gates = self._recurrent_rows("gates_kernel")
        r, u = torch.sigmoid(torch.addmm(projected[:, : 2 * n], state, w_gates)).chunk(2, dim=1)
        hidden = torch.addmm(self.hidden_bias, state, self.hidden_kernel)
        candidate = torch.tanh(projected[:, 2 * n :] + r * hidden)
        new_h = gru_blend(candidate, state, u)
        return new_h, new_h

    def fused_spec(self) -> FusedSpec | str:
        """``torch._VF.gru`` (reset after the recurrent matmul, two candidate biases) computes it exactly::

        weight_ih = [gates/kernel[:D] | input_projection/kernel].T   bias_ih = [gates/bias, input_projection/bias]
        weight_hh = [gates/kernel[D:] | hidden_projection/kernel].T  bias_hh = [0, 0, hidden_projection/bias]
        """
        overridden = self._math_overridden(CudnnCompatibleGRUCell)
        if overridden is not None:
            name = type(self).__name__
            return f"{name} overrides CudnnCompatibleGRUCell.{overridden}, which a fused kernel would skip"
        return rnn_spec("GRU", self.num_units, self._torch_weights)

    def _torch_weights(self) -> list[torch.Tensor]:
        d = self.input_size
        weight_ih = torch.cat([self.gates_kernel[:d], self.input_kernel], 1).t()
        weight_hh = torch.cat([self.gates_kernel[d:], self.hidden_kernel], 1).t()
        bias_ih = torch.cat([self.gates_bias, self.input_bias])
        bias_hh = torch.cat([torch.zeros_like(self.gates_bias), self.hidden_bias])
        return [weight_ih, weight_hh, bias_ih, bias_hh]
