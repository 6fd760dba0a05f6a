"""The block cells of ``tf.contrib.rnn``: ``LSTMBlockCell``, ``GRUBlockCell``, ``GRUBlockCellV2`` (TF 1.15).

TF ran each as one monolithic kernel (``LSTMBlockCell``, ``GRUBlockCell`` ops); the math is the plain LSTM/GRU
step, only the variable names and a few defaults differ from ``LSTMCell`` / ``GRUCell``:

* ``LSTMBlockCell`` keeps ``LSTMCell``'s names (``lstm_cell/kernel``, ``bias``) but creates the peepholes in the
  order ``w_i_diag, w_f_diag, w_o_diag`` (LSTMCell: f, i, o), has tanh only, no projection, and ``cell_clip``
  None (or <= 0: TF passed -1 for "no clip" to the kernel) means no clipping.
* ``GRUBlockCell`` names its variables ``w_ru [D+H, 2H]``, ``b_ru [2H]``, ``w_c [D+H, H]``, ``b_c [H]`` under
  ``gru_cell``; ``GRUBlockCellV2`` uses ``GRUCell``'s names. Both are ``GRUCell``'s math with tanh.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
import torch.nn.functional as F

from .base import LayerCell
from .fused_spec import FusedSpec, lstm_kernel_weights, lstm_spec, lstm_torch_weights
from .gru import GRUCell
from .lstm import peephole_lstm_step
from .sizes import LSTMState
from .state import LSTMStateTuple
from .tf_params import tf_params

__all__ = ["LSTMBlockCell", "GRUBlockCell", "GRUBlockCellV2", "check_cell_clip"]


def check_cell_clip(where: str, cell_clip: Any) -> float | None:
    """TF's block-kernel rule: None or a value <= 0 means no clipping (TF passed -1); NaN is refused."""
    if cell_clip is None:
        return None
    if (
        isinstance(cell_clip, bool)
        or not isinstance(cell_clip, numbers.Real)
        or math.isnan(cell_clip)
    ):
        raise TypeError(f"{where}: expected cell_clip to be a number or None, got {cell_clip!r}")
    return float(cell_clip) if float(cell_clip) > 0 else None


class _ClipPassingGradient(torch.autograd.Function):
    """``clamp(x, -clip, clip)`` whose gradient ignores the clip, as TF's block kernels' gradients do.

    TF's ``LSTMBlockCellGrad`` / ``BlockLSTMGrad`` kernels have no ``cell_clip``: they pass the gradient of the
    clipped cell state straight to the unclipped one. rnnkit reproduces TF's numbers, so training a clipped
    block cell follows the same gradients as in TF (``LSTMCell``'s clip, a ``clip_by_value``, does not).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, clip: float) -> torch.Tensor:
        return x.clamp(-clip, clip)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class LSTMBlockCell(LSTMState, LayerCell):
    r"""``tf.contrib.rnn.LSTMBlockCell``: the LSTM step of TF's ``LSTMBlockCell`` kernel (gate order i, ci, f, o)::

        i, ci, f, o = split([x, h] @ kernel + bias, 4)
        i  = sigmoid(i + w_i_diag * c)                  # peepholes only with use_peephole=True
        f  = sigmoid(f + forget_bias + w_f_diag * c)
        c' = clip(i * tanh(ci) + f * c, -cell_clip, cell_clip)   # clip only when cell_clip > 0
        h' = sigmoid(o + w_o_diag * c') * tanh(c')      # output h'; state LSTMStateTuple(c', h')

    Args:
        num_units: ``H``.
        forget_bias: added to ``f`` at call time (default 1.0).
        cell_clip: clip ``c'`` to ``[-cell_clip, cell_clip]``; None (default) or <= 0: no clipping. As in TF's
            kernels, the gradient passes through the clip unchanged (TF's gradient kernels ignore it).
        use_peephole: add ``w_i_diag, w_f_diag, w_o_diag [H]``.

    Keyword Args:
        input_size, dtype, device, name (default ``lstm_cell``), reuse: as for every cell.

    Parameters (TF names, TF's order): ``kernel [D+H, 4H]`` (glorot-uniform), ``bias [4H]`` (zeros), then
    ``w_i_diag``, ``w_f_diag``, ``w_o_diag`` (glorot-uniform) with ``use_peephole``.

    Shape: inputs ``[B, D]``, state ``LSTMStateTuple(c [B, H], h [B, H])`` → output ``[B, H]``, new state.
    """

    tf_name = "lstm_cell"
    forget_bias: float
    cell_clip: float | None
    use_peephole: bool
    kernel: torch.Tensor
    bias: torch.Tensor
    w_i_diag: torch.Tensor
    w_f_diag: torch.Tensor
    w_o_diag: torch.Tensor
    _tf_params = tf_params("kernel bias w_i_diag w_f_diag w_o_diag")
    _tf_param_options = dict.fromkeys(("w_i_diag", "w_f_diag", "w_o_diag"), "use_peephole")
    #: tanh only (the block kernel has no activation argument); the fused plan reads this.
    activation_name = "tanh"
    state_is_tuple = True

    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        cell_clip: float | None = None,
        use_peephole: bool = False,
        dtype: Any = None,
        reuse: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        # TF's positional order (num_units, forget_bias, cell_clip, use_peephole, dtype, reuse, name).
        super().__init__(num_units, dtype=dtype, name=name, **kwargs)
        where = type(self).__name__
        if not isinstance(forget_bias, numbers.Real) or isinstance(forget_bias, bool):
            raise TypeError(f"{where}: expected forget_bias to be a float, got {forget_bias!r}")
        if not isinstance(use_peephole, bool):
            raise TypeError(f"{where}: expected use_peephole to be a bool, got {use_peephole!r}")
        self.forget_bias = float(forget_bias)
        self.cell_clip = check_cell_clip(where, cell_clip)
        self.use_peephole = use_peephole
        self._finish_init()

    # The names the fused plan shares with LSTMCell (no projection, no proj_clip; peepholes spelled differently).
    num_proj = None
    proj_clip = None

    @property
    def use_peepholes(self) -> bool:
        return self.use_peephole

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        h, new = self.num_units, self._new_parameter
        self.kernel = new(input_size + h, 4 * h, init=None, dtype=dtype, device=device)
        self.bias = new(4 * h, init=torch.nn.init.zeros_, dtype=dtype, device=device)
        if self.use_peephole:
            self.w_i_diag = new(h, init=None, dtype=dtype, device=device)
            self.w_f_diag = new(h, init=None, dtype=dtype, device=device)
            self.w_o_diag = new(h, init=None, dtype=dtype, device=device)

    def input_projection(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs [..., D] @ kernel[:D] + bias``, with ``forget_bias`` folded into the f block: ``[..., 4H]``."""
        b_i, b_c, b_f, b_o = self.bias.chunk(4)
        bias = torch.cat([b_i, b_c, b_f + self.forget_bias, b_o])
        return F.linear(inputs, self.kernel[: self.input_size].t(), bias)

    def recurrent_step(
        self, projected: torch.Tensor, state: Any
    ) -> tuple[torch.Tensor, LSTMStateTuple]:
        """The rest of one step from ``input_projection``'s ``[B, 4H]`` slice and ``(c, h)``."""
        c, h = state
        z = torch.addmm(projected, h, self._recurrent_rows("kernel"))
        peepholes = (self.w_i_diag, self.w_f_diag, self.w_o_diag) if self.use_peephole else None
        new_c, new_h = peephole_lstm_step(
            z, c, torch.tanh, peepholes, self.cell_clip, _ClipPassingGradient.apply
        )
        return new_h, LSTMStateTuple(new_c, new_h)

    def fused_spec(self) -> FusedSpec | str:
        """``torch._VF.lstm`` when there are no peepholes and no ``cell_clip`` (TF's gate order is LSTMCell's)."""
        name = type(self).__name__
        overridden = self._math_overridden(LSTMBlockCell)
        if overridden is not None:
            return f"{name} overrides LSTMBlockCell.{overridden}, which a fused kernel would skip"
        if self.use_peephole:
            return f"{name} uses peepholes, which torch's fused LSTM lacks"
        if self.cell_clip is not None:
            return f"{name} uses cell_clip, which torch's fused LSTM lacks"

        def weights() -> list[torch.Tensor]:
            return lstm_torch_weights(
                self.kernel, self.bias, self.forget_bias, self.input_size or 0
            )

        def kernel_weights() -> tuple[list[torch.Tensor], Any]:
            return lstm_kernel_weights(
                self.kernel, self.bias, self.forget_bias, self.input_size or 0
            )

        return lstm_spec(self.num_units, 0, weights, tuple, LSTMStateTuple, kernel_weights)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, forget_bias={self.forget_bias}, cell_clip={self.cell_clip}, "
            f"use_peephole={self.use_peephole}"
        )


class GRUBlockCell(GRUCell):
    r"""``tf.contrib.rnn.GRUBlockCell``: ``GRUCell``'s math (tanh) under TF's block-kernel variable names::

        r, u = split(sigmoid([x, h] @ w_ru + b_ru), 2)
        c    = tanh([x, r * h] @ w_c + b_c)
        h'   = (1 - u) * c + u * h

    Args:
        num_units: ``H``. ``cell_size`` is its deprecated TF spelling; give exactly one of the two.

    Keyword Args:
        input_size, dtype, device, name (default ``gru_cell``), reuse: as for every cell.

    Parameters (TF names, TF's order): ``w_ru [D+H, 2H]`` (glorot), ``b_ru [2H]`` (ones), ``w_c [D+H, H]``
    (glorot), ``b_c [H]`` (zeros).
    """

    tf_name = "gru_cell"
    _tf_params = tf_params(
        "w_ru=gates_kernel b_ru=gates_bias w_c=candidate_kernel b_c=candidate_bias"
    )

    def __init__(
        self,
        num_units: int | None = None,
        cell_size: int | None = None,
        reuse: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if (num_units is None) == (cell_size is None):
            raise ValueError(
                f"{type(self).__name__}: expected exactly one of num_units or cell_size, "
                f"got num_units={num_units!r}, cell_size={cell_size!r}"
            )
        # TF's positional order (num_units, cell_size, reuse, name).
        super().__init__(num_units if num_units is not None else cell_size, name=name, **kwargs)  # type: ignore[arg-type]


class GRUBlockCellV2(GRUBlockCell):
    """``tf.contrib.rnn.GRUBlockCellV2``: ``GRUBlockCell`` with ``GRUCell``'s variable names
    (``gates/kernel``, ``gates/bias``, ``candidate/kernel``, ``candidate/bias`` under ``gru_cell``)."""

    _tf_params = GRUCell._tf_params
