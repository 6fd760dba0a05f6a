"""Which cells a sequence kernel computes exactly, and running it from an unroll.

``kernel_for(cell)`` returns a runner or the reason there is none; ``dynamic_rnn`` calls the runner in place of
its step loop (``fused=None`` or ``False`` alike: the kernel *is* the loop's implementation for that cell, same
numbers to float rounding), and ``rk.fused.explain`` reports the choice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..cells.dropout import DropoutWrapper
from ..cells.fused_spec import has_hooks
from ..cells.layer_norm_lstm import LayerNormBasicLSTMCell
from ..cells.state import LSTMStateTuple
from .layer_norm_lstm import layer_norm_lstm_sequence

__all__ = ["kernel_for", "SequenceRunner", "without_identity_dropout"]

#: ``runner(inputs [B, T, D] or [T, B, D] (padding zeroed), state, lengths or None, time_major)``
#: → ``(outputs, final_state)`` as the step loop returns them.
SequenceRunner = Callable[
    [torch.Tensor, Any, "torch.Tensor | None", bool], tuple[torch.Tensor, Any]
]

_GATES = ("input", "transform", "forget", "output")
# The methods whose override would change the math the kernel hard-codes.
_MATH = (
    "forward",
    "input_projection",
    "recurrent_step",
    "_step",
    "_norm",
    "_dropout",
    "_activation",
)


def without_identity_dropout(cell: Any) -> Any:
    """``cell`` with every outer ``DropoutWrapper`` that drops nothing removed: one in ``eval()`` mode, or with
    every keep probability 1 (its call is then exactly its cell's, so the same fused kernel or sequence kernel
    computes it). A wrapper with hooks stays (hooks must see every step)."""
    while isinstance(cell, DropoutWrapper) and not has_hooks(cell) and cell.drops_nothing():
        cell = cell.cell
    return cell


def _layer_norm_reason(cell: LayerNormBasicLSTMCell) -> str | None:
    cls = LayerNormBasicLSTMCell
    overridden = [m for m in _MATH if getattr(type(cell), m, None) is not getattr(cls, m, None)]
    if overridden:
        return f"{type(cell).__name__} overrides {overridden[0]}, which the kernel would skip"
    if has_hooks(cell):
        return "the cell has forward hooks, which must see every step"
    if not cell.layer_norm:
        return "layer_norm=False (the kernel is for the layer-normalised cell)"
    if cell.activation_name != "tanh":
        return (
            f"activation {cell.activation_name or repr(cell._activation)}; the kernel has tanh only"
        )
    if cell.training and cell._keep_value(cell.dropout_keep_prob) < 1.0:
        return "recurrent dropout is active (train mode, dropout_keep_prob < 1)"
    return None


def _run_layer_norm(
    cell: LayerNormBasicLSTMCell, inputs: torch.Tensor, state: Any, lengths: Any, time_major: bool
) -> tuple[torch.Tensor, Any]:
    d = cell.input_size
    x = inputs if time_major else inputs.transpose(0, 1)
    xk = F.linear(x, cell.kernel[:d].t())  # all steps' input half in one matmul, [T, B, 4H]
    gamma4 = torch.stack([getattr(cell, f"{g}_gamma") for g in _GATES])
    beta4 = torch.stack([getattr(cell, f"{g}_beta") for g in _GATES])
    gamma_s, beta_s = cell.state_gamma, cell.state_beta
    assert isinstance(gamma_s, torch.Tensor) and isinstance(beta_s, torch.Tensor)  # built above
    c0, h0 = state
    out, c, h = layer_norm_lstm_sequence(
        xk, cell.kernel[d:], gamma4, beta4, gamma_s, beta_s, c0, h0, lengths,
        forget_bias=cell.forget_bias,
    )  # fmt: skip
    out = out if time_major else out.transpose(0, 1).contiguous()
    return out, LSTMStateTuple(c, h)


def kernel_for(cell: Any) -> tuple[SequenceRunner | None, str]:
    """``(runner, description)`` for a built cell a sequence kernel computes, else ``(None, reason)``."""
    cell = without_identity_dropout(cell)
    if not isinstance(cell, LayerNormBasicLSTMCell):
        return None, f"no sequence kernel for {type(cell).__name__}"
    reason = _layer_norm_reason(cell)
    if reason is not None:
        return None, reason

    def run(
        inputs: torch.Tensor, state: Any, lengths: Any, time_major: bool
    ) -> tuple[torch.Tensor, Any]:
        return _run_layer_norm(cell, inputs, state, lengths, time_major)

    return run, "kernels.layer_norm_lstm_sequence (one autograd node per unroll)"
