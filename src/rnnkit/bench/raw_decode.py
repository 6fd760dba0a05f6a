"""The ``raw_rnn`` row of the decoding benchmark (``decode.py``): greedy decoding written as TF1 users wrote it
with ``tf.nn.raw_rnn``, a ``BasicLSTMCell`` whose every next input is the embedding of its own argmax.

One step, for ``B`` rows (``x`` ``[B, embed]``, ``(c, h)`` ``[B, units]``)::

    h, (c, h) = BasicLSTMCell(x, (c, h))                 # kernel [embed + units, 4 units], forget_bias 1
    ids = argmax(h @ out_kernel + out_bias)              # [B]; out_bias[END] = -1e4, never chosen
    x = embedding[ids]                                   # the next input

starting from ``embedding[START]`` and a fixed state ``(c0, h0)`` per row (as if an encoder had summed up a
source sentence: it makes the rows decode different ids), ``finished`` only once ``steps`` steps have run, so
every decode does the same work. The emitted ids stack to ``[steps, B]``.

Unlike the attention rows (whose TF model has Keras' own initial weights), both sides decode with the SAME
weights: ``raw_weights`` draws them here, ``save_raw_weights`` writes them to an ``.npz`` that
``tf_decode_worker.py`` loads, and the benchmark checks that sample 0 decodes to the same ids on both sides.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

import rnnkit as rk

if TYPE_CHECKING:
    from .decode import Sizes

__all__ = ["raw_weights", "save_raw_weights", "raw_greedy"]

START, END = 1, 2  # as decode.py


def raw_weights(z: Sizes, seed: int = 0) -> dict[str, torch.Tensor]:
    """The model's float32 weights, by TF's names for them: ``embedding [vocab, embed]``, ``kernel
    [embed + units, 4 units]`` and ``bias [4 units]`` (TF gate order i, j, f, o), ``out_kernel [units, vocab]``,
    ``out_bias [vocab]`` (-1e4 at the end token); and the initial state ``c0``, ``h0`` ``[batch, units]``.
    Uniform in ±1/sqrt(fan-in), so the gates do not saturate and the argmax changes from step to step."""
    gen = torch.Generator().manual_seed(seed)

    def uniform(*shape: int, fan_in: int) -> torch.Tensor:
        return (torch.rand(*shape, generator=gen) * 2 - 1) / math.sqrt(fan_in)

    out_bias = uniform(z.vocab, fan_in=z.units)
    out_bias[END] = -1e4
    return {
        "embedding": torch.randn(z.vocab, z.embed, generator=gen),
        "kernel": uniform(z.embed + z.units, 4 * z.units, fan_in=z.embed + z.units),
        "bias": uniform(4 * z.units, fan_in=z.units),
        "out_kernel": uniform(z.units, z.vocab, fan_in=z.units),
        "out_bias": out_bias,
        "c0": torch.randn(z.batch, z.units, generator=gen),
        "h0": torch.tanh(torch.randn(z.batch, z.units, generator=gen)),
    }


def save_raw_weights(weights: dict[str, torch.Tensor], path: Path) -> None:
    """``weights`` as an ``.npz`` of float32 arrays (what ``tf_decode_worker.py`` reads)."""
    arrays: dict[str, Any] = {k: v.numpy() for k, v in weights.items()}
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a bare name
        np.savez(f, **arrays)


def raw_greedy(z: Sizes, weights: dict[str, torch.Tensor]) -> Callable[[], torch.Tensor]:
    """``fn()``: one greedy ``rk.nn.raw_rnn`` decode of ``z.batch`` rows; the ids ``[B, steps]`` (batch-major,
    as the seq2seq decoders return them)."""
    cell = rk.BasicLSTMCell(z.units)
    cell.build(z.embed)
    with torch.no_grad():
        cell.kernel.copy_(weights["kernel"])
        cell.bias.copy_(weights["bias"])
    embedding, out_kernel, out_bias = (weights[k] for k in ("embedding", "out_kernel", "out_bias"))
    start = embedding[torch.full((z.batch,), START, dtype=torch.long)]
    initial = rk.LSTMStateTuple(weights["c0"], weights["h0"])
    never = torch.zeros(z.batch, dtype=torch.bool)

    def loop_fn(time: int, output: Any, state: Any, loop_state: Any) -> tuple:
        if (
            output is None
        ):  # time 0: the start input, the initial state, and the emitted template (an id)
            return never, start, initial, torch.zeros((), dtype=torch.long), None
        ids = torch.addmm(out_bias, output, out_kernel).argmax(-1)
        finished = torch.full((z.batch,), time >= z.steps, dtype=torch.bool)
        return finished, embedding[ids], state, ids, None

    def decode() -> torch.Tensor:
        ids, _, _ = rk.nn.raw_rnn(cell, loop_fn)
        return ids.t()

    return decode
