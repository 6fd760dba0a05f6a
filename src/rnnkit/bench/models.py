"""The benchmarked models: one shape, several implementations of the same network.

Every implementation is the full model of its task (input dense where the task has one, the recurrent stack, the
head, the loss) so the figures are what a training loop sees. Columns:

* ``auto``  — rnnkit cells through ``rk.dynamic_rnn`` (fused kernels where possible, else the fast step loop);
* ``loop``  — the same with ``fused=False`` (the fast step loop);
* ``torch`` — hand-written ``torch.nn.LSTM`` / ``torch.nn.GRU`` (GRU and peephole shapes: torch's nearest layer,
  which is *not* the same math — a reference point only);
* ``naive`` — a per-step Python loop of the same math written the obvious way (``cat`` + matmul per step).

A shape with ``keep < 1`` adds output dropout to every layer (TF's ``DropoutWrapper(cell, output_keep_prob=keep)``,
the mnist ``seed001`` model): rnnkit wraps each cell; ``torch.nn.LSTM`` uses its ``dropout=`` between layers plus
``F.dropout`` on the last layer's outputs; the naive loop drops each step's output with ``F.dropout``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import rnnkit as rk

__all__ = ["Shape", "SHAPES", "COLUMNS", "build"]

COLUMNS = ("auto", "loop", "torch", "naive")


@dataclass(frozen=True)
class Shape:
    name: str
    kind: str  # "lstm" | "gru" | "peephole" | "layernorm"
    batch: int
    time: int
    depth: int  # input depth of the recurrent stack
    units: int
    layers: int = 1
    head: str = "last"  # "last": classify the last output (10 classes); "per_step": sine regression
    describe: str = ""
    keep: float = 1.0  # output keep probability of every layer (train mode); 1: no dropout
    swap_memory: bool = (
        False  # the rnnkit columns pass swap_memory=True (torch and naive keep everything)
    )


SHAPES = {
    s.name: s
    for s in [
        Shape("mnist", "lstm", 128, 28, 28, 128, describe="MNIST rows: BasicLSTMCell(128), B=128, T=28, D=28"),
        Shape("sine", "lstm", 50, 20, 10, 10, head="per_step",
              describe="sine: dense 1->10, BasicLSTMCell(10), dense 10->1 per step, B=50, T=20"),
        Shape("large", "lstm", 64, 100, 128, 512, layers=2,
              describe="large: 2 x BasicLSTMCell(512), B=64, T=100, D=128"),
        Shape("gru", "gru", 128, 28, 28, 128, describe="MNIST-row shape with GRUCell(128)"),
        Shape("peephole", "peephole", 128, 28, 28, 128,
              describe="MNIST-row shape with LSTMCell(128, use_peepholes=True)"),
        Shape("layernorm", "layernorm", 128, 28, 28, 128,
              describe="MNIST-row shape with LayerNormBasicLSTMCell(128)"),
        Shape("seed001", "lstm", 64, 28, 28, 256, layers=2, keep=0.5,
              describe="mnist seed001: 2 x LSTM(256) with output dropout keep 0.5 per layer, B=64, T=28, D=28"),
        Shape("swap", "lstm", 32, 100, 64, 256, layers=2, swap_memory=True,
              describe="swap_memory=True (rnnkit columns only): 2 x BasicLSTMCell(256), B=32, T=100, D=64"),
    ]
}  # fmt: skip


def _rk_cell(shape: Shape, depth: int) -> rk.RNNCell:
    def one(d: int) -> rk.RNNCell:
        if shape.kind == "gru":
            return rk.GRUCell(shape.units, input_size=d)
        if shape.kind == "peephole":
            return rk.LSTMCell(shape.units, use_peepholes=True, input_size=d)
        if shape.kind == "layernorm":
            return rk.LayerNormBasicLSTMCell(shape.units, input_size=d)
        return rk.BasicLSTMCell(shape.units, input_size=d)

    def layer(d: int) -> rk.RNNCell:
        cell = one(d)
        return rk.DropoutWrapper(cell, output_keep_prob=shape.keep) if shape.keep < 1 else cell

    if shape.layers == 1:
        return layer(depth)
    return rk.MultiRNNCell([layer(depth if i == 0 else shape.units) for i in range(shape.layers)])


class _Naive(nn.Module):
    """The same math as the rnnkit cells, as a plain per-step loop over ``x.unbind(1)``."""

    def __init__(self, shape: Shape, depth: int) -> None:
        super().__init__()
        self.kind, h = shape.kind, shape.units
        gates = {"lstm": 4, "peephole": 4, "gru": 2, "layernorm": 4}[shape.kind]
        self.kernels = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.cand = nn.ParameterList()
        for i in range(shape.layers):
            d = depth if i == 0 else h
            self.kernels.append(nn.Parameter(torch.randn(d + h, gates * h) * 0.05))
            self.biases.append(nn.Parameter(torch.zeros(gates * h)))
            if shape.kind == "gru":
                self.cand.append(nn.Parameter(torch.randn(d + h, h) * 0.05))
            if shape.kind == "peephole":
                self.cand.append(nn.Parameter(torch.randn(3, h) * 0.05))
            if shape.kind == "layernorm":  # gamma, beta of input, transform, forget, output, state
                self.cand.append(nn.Parameter(torch.ones(5, 2, h) + torch.randn(5, 2, h) * 0.05))
        self.h = h
        self.drop = 1.0 - shape.keep

    @staticmethod
    def _norm(x: torch.Tensor, gamma_beta: torch.Tensor) -> torch.Tensor:
        mean = x.mean(-1, keepdim=True)
        inv = torch.rsqrt((x - mean).square().mean(-1, keepdim=True) + 1e-12) * gamma_beta[0]
        return x * inv + (gamma_beta[1] - mean * inv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        steps = list(x.unbind(1))
        for layer, (w, bias) in enumerate(zip(self.kernels, self.biases)):
            h = x.new_zeros(b, self.h)
            c = x.new_zeros(b, self.h)
            outs = []
            for x_t in steps:
                gates = torch.cat([x_t, h], 1) @ w
                gates = (
                    gates if self.kind == "layernorm" else gates + bias
                )  # TF's LN cell has no bias
                if self.kind == "gru":
                    r, u = torch.sigmoid(gates).chunk(2, 1)
                    cand = torch.tanh(torch.cat([x_t, r * h], 1) @ self.cand[layer])
                    h = u * h + (1 - u) * cand
                elif self.kind == "layernorm":
                    norms = self.cand[layer]
                    i, j, f, o = (self._norm(g, norms[k]) for k, g in enumerate(gates.chunk(4, 1)))
                    c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
                    c = self._norm(c, norms[4])
                    h = torch.tanh(c) * torch.sigmoid(o)
                else:
                    i, j, f, o = gates.chunk(4, 1)
                    if self.kind == "peephole":
                        peep = self.cand[layer]
                        f, i = f + peep[0] * c, i + peep[1] * c
                    c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
                    if self.kind == "peephole":
                        o = o + self.cand[layer][2] * c
                    h = torch.tanh(c) * torch.sigmoid(o)
                outs.append(F.dropout(h, self.drop, self.training) if self.drop else h)
            steps = outs
        return torch.stack(steps, 1)


class Model(nn.Module):
    """Input dense (sine) → recurrent stack (one of the columns) → head."""

    def __init__(self, shape: Shape, column: str) -> None:
        super().__init__()
        self.shape, self.column = shape, column
        self.inp = nn.Linear(1, shape.depth) if shape.head == "per_step" else None
        if column in ("auto", "loop"):
            self.rnn: nn.Module = _rk_cell(shape, shape.depth)
        elif column == "torch":
            layer = nn.GRU if shape.kind == "gru" else nn.LSTM
            self.rnn = layer(
                shape.depth,
                shape.units,
                num_layers=shape.layers,
                batch_first=True,
                dropout=1.0 - shape.keep if shape.layers > 1 else 0.0,
            )
        elif column == "naive":
            self.rnn = _Naive(shape, shape.depth)
        else:
            raise ValueError(f"bench: expected a column in {COLUMNS}, got {column!r}")
        self.out = nn.Linear(shape.units, 1 if shape.head == "per_step" else 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inp is not None:
            x = self.inp(x)
        if self.column in ("auto", "loop"):
            # self.rnn is an rnnkit cell in these columns (a torch module in the others).
            fused = None if self.column == "auto" else False
            y, _ = rk.dynamic_rnn(self.rnn, x, fused=fused, swap_memory=self.shape.swap_memory)  # type: ignore[arg-type]
        elif self.column == "torch":
            y, _ = self.rnn(x)
            if self.shape.keep < 1:  # nn.LSTM drops between its layers, not after the last
                y = F.dropout(y, 1.0 - self.shape.keep, self.training)
        else:
            y = self.rnn(x)
        return self.out(y if self.shape.head == "per_step" else y[:, -1])


def build(shape: Shape, column: str, seed: int = 0, device: str = "cpu") -> tuple[Any, ...]:
    """``(model, batch inputs, targets, loss_fn, optimizer)`` for one column of one shape, on ``device``."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = Model(shape, column)
    loss_fn: Callable[..., torch.Tensor]
    if shape.head == "per_step":
        x = torch.randn(shape.batch, shape.time, 1, generator=gen)
        y = torch.randn(shape.batch, shape.time, 1, generator=gen)
        loss_fn = F.mse_loss
    else:
        x = torch.randn(shape.batch, shape.time, shape.depth, generator=gen)
        y = torch.randint(0, 10, (shape.batch,), generator=gen)
        loss_fn = F.cross_entropy
    model, x, y = model.to(device), x.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, x, y, loss_fn, optimizer
