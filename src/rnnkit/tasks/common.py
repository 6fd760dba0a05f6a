"""Pieces the task models share: a TF-layout dense layer, cell factories, an output-dropout fallback."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

import rnnkit as rk


class TFDense(nn.Module):
    """``y = x @ kernel + bias`` with TF's layout: ``kernel [D_in, D_out]``, ``bias [D_out]``.

    ``init`` picks the seed program's initialiser: ``"normal"`` (``tf.random_normal``, std ``std``),
    ``"truncated_normal"`` (std ``std``, cut at 2 std), ``"glorot"`` (glorot-uniform, TF's
    ``fully_connected``/``dense`` default); ``bias_init`` is ``"zeros"``, a constant, or
    ``"normal"`` (std ``bias_std``).
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        init: str = "glorot",
        std: float = 1.0,
        bias_init: Any = "zeros",
        bias_std: float = 0.1,
    ) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(d_in, d_out))
        self.bias = nn.Parameter(torch.empty(d_out))
        with torch.no_grad():
            if init == "normal":
                self.kernel.normal_(0.0, std)
            elif init == "truncated_normal":
                nn.init.trunc_normal_(self.kernel, 0.0, std, -2 * std, 2 * std)
            elif init == "glorot":
                a = math.sqrt(6.0 / (d_in + d_out))
                self.kernel.uniform_(-a, a)
            else:
                raise ValueError(
                    f"TFDense: expected init in normal/truncated_normal/glorot, got {init!r}"
                )
            if bias_init == "zeros":
                self.bias.zero_()
            elif bias_init == "normal":
                self.bias.normal_(0.0, bias_std)
            else:
                self.bias.fill_(float(bias_init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.kernel) + self.bias


def output_dropout(cell: rk.RNNCell, keep_prob: float) -> rk.RNNCell:
    """TF's ``DropoutWrapper(cell, output_keep_prob=keep_prob)`` (active in ``train()`` mode only)."""
    return rk.DropoutWrapper(cell, output_keep_prob=keep_prob)


CELLS = {"basic_lstm": rk.BasicLSTMCell, "lstm": rk.LSTMCell, "basic_rnn": rk.BasicRNNCell}


def make_cell(
    kind: str,
    num_units: int,
    input_size: int,
    num_layers: int = 1,
    keep_prob: float | None = None,
    activation: str | None = None,
) -> rk.RNNCell:
    """One cell or a ``MultiRNNCell`` stack of ``num_layers``, each optionally output-dropped."""
    if kind not in CELLS:
        raise ValueError(f"make_cell: expected cell in {sorted(CELLS)}, got {kind!r}")
    cells = []
    for i in range(num_layers):
        kw = {"activation": activation} if activation else {}
        c = CELLS[kind](num_units, input_size=input_size if i == 0 else num_units, **kw)
        cells.append(output_dropout(c, keep_prob) if keep_prob is not None and keep_prob < 1 else c)
    return cells[0] if num_layers == 1 else rk.MultiRNNCell(cells)


def state_to_tensors(prefix: str, state: Any) -> dict[str, torch.Tensor]:
    """Flatten a nested RNN state into ``{prefix/i: tensor}`` (for checkpoints)."""
    return {f"{prefix}/{i}": t for i, t in enumerate(rk.nest.flatten(state))}


def tensors_to_state(prefix: str, tensors: dict[str, torch.Tensor], like: Any) -> Any:
    flat = [tensors[f"{prefix}/{i}"] for i in range(len(rk.nest.flatten(like)))]
    return rk.nest.pack_sequence_as(like, flat)
