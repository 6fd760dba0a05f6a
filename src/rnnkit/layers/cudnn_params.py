"""cuDNN's parameter layout ⇄ TF's canonical (cuDNN-compatible cell) layout, per TF 1.15's ``cudnn_rnn_ops.py``.

cuDNN (and torch's fused kernels, which use cuDNN's per-layer layout) hold for every layer and direction an input
weight ``W [G*H, D_in]``, a recurrent weight ``R [G*H, H]`` and *two* biases ``b_W``, ``b_R [G*H]`` (G gates).
TF's ``CudnnOpaqueParamsSaveable`` saves them in the layout of the compatible cells:

* LSTM (cuDNN gates i, f, c, o; TF i, c, f, o): ``kernel = [W | R][(i, c, f, o)].T  [D_in+H, 4H]``,
  ``bias = (b_W + b_R)[(i, c, f, o)]  [4H]`` — only the sum is saved;
* GRU (cuDNN gates r, u, h): ``gates/kernel = [W | R][(r, u)].T  [D_in+H, 2H]``, ``gates/bias = (b_W + b_R)[(r, u)]``,
  ``candidate/input_projection/kernel = W_h.T``, ``candidate/hidden_projection/kernel = R_h.T``, and the two
  candidate biases *separately* (``b_Wh``, ``b_Rh``: cuDNN multiplies ``r`` into ``h @ R_h + b_Rh`` only);
* RNN tanh/relu: ``kernel = [W | R].T``, ``bias = b_W + b_R``.

Restoring, TF gives each of the two biases half of a saved sum (``b_W = b_R = bias / 2``); ``to_cudnn`` does the
same, so a TF checkpoint → rnnkit → torch module → rnnkit round trip reproduces the saved sums.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["GATES", "to_cudnn", "from_cudnn"]

#: Gates per layer and direction of each cuDNN mode.
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _lstm_reorder(t: torch.Tensor) -> torch.Tensor:
    """Swap the 2nd and 3rd gate blocks along dim 0: TF (i, c, f, o) ⇄ cuDNN (i, f, c, o) (its own inverse)."""
    i, a, b, o = t.chunk(4, dim=0)
    return torch.cat([i, b, a, o], 0)


def to_cudnn(mode: str, params: Mapping[str, torch.Tensor], input_size: int) -> list[torch.Tensor]:
    """One layer/direction of canonical TF parameters (names relative to the cell) → torch/cuDNN
    ``[weight_ih, weight_hh, bias_ih, bias_hh]``; each saved bias sum is split in halves, as TF restored it."""
    d = input_size
    if mode == "gru":
        gates_t = params["gates/kernel"].t()  # [2H, D+H], gates (r, u)
        w_ih = torch.cat([gates_t[:, :d], params["candidate/input_projection/kernel"].t()], 0)
        w_hh = torch.cat([gates_t[:, d:], params["candidate/hidden_projection/kernel"].t()], 0)
        half = params["gates/bias"] * 0.5
        b_ih = torch.cat([half, params["candidate/input_projection/bias"]])
        b_hh = torch.cat([half, params["candidate/hidden_projection/bias"]])
        return [w_ih, w_hh, b_ih, b_hh]
    kernel_t, half = params["kernel"].t(), params["bias"] * 0.5
    if mode == "lstm":
        kernel_t, half = _lstm_reorder(kernel_t), _lstm_reorder(half)
    return [kernel_t[:, :d], kernel_t[:, d:], half, half]


def from_cudnn(mode: str, weights: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """``[weight_ih, weight_hh, bias_ih, bias_hh]`` of one layer/direction → canonical TF parameters (biases
    summed, as TF's saveable wrote them)."""
    w_ih, w_hh, b_ih, b_hh = weights
    if mode == "gru":
        h = w_hh.shape[1]
        return {
            "gates/kernel": torch.cat([w_ih[: 2 * h], w_hh[: 2 * h]], 1).t(),
            "gates/bias": b_ih[: 2 * h] + b_hh[: 2 * h],
            "candidate/input_projection/kernel": w_ih[2 * h :].t(),
            "candidate/hidden_projection/kernel": w_hh[2 * h :].t(),
            "candidate/input_projection/bias": b_ih[2 * h :],
            "candidate/hidden_projection/bias": b_hh[2 * h :],
        }
    kernel_t, bias = torch.cat([w_ih, w_hh], 1), b_ih + b_hh
    if mode == "lstm":
        kernel_t, bias = _lstm_reorder(kernel_t), _lstm_reorder(bias)
    return {"kernel": kernel_t.t(), "bias": bias}
