"""``rnnkit bench --cells``: every cell with a sequence kernel against a naive loop of its math (issue 19).

One row per cell configuration and thread count. A training pass is the forward over all steps plus the backward
of the sum of the last step's output (outputs stacked; no optimizer), timed as a median over ``rounds``
interleaved passes (naive, rnnkit, naive, ...) on the chosen clock. Before timing, both sides' outputs are
compared (float32, 1e-5; 1e-4 for the clipped layer-norm cell, whose float32 sides drift apart over 28 steps):
a naive loop that computed something else would make the ratio meaningless.

Shapes: the contrib and layer-norm cells run the mnist rows (``B=128, T=28, D=28, H=128``; PhasedLSTMCell's
inputs also have a time channel ``[T, B, 1]``); the convolutional LSTMs small images (Conv2D ``B=16, T=10,
16x16, 4 -> 16`` channels, 3x3 window; Conv1D 64 samples, window 5; Conv3D ``B=4, 8x8x8``, 3x3x3), whose naive
loop has two versions (``naive_conv_loop``): the obvious port, and one keeping its state channels-last.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .. import cells as rk_cells
from ..cells import contrib
from ..fused import explain
from ..unroll import dynamic_rnn
from .cell_loops import naive_conv_loop, naive_loop

__all__ = ["CASES", "cells_table", "run_cells"]

B, T, D, H = 128, 28, 28, 128


@dataclass(frozen=True)
class Case:
    """A benchmarked cell: ``make() -> (cell, inputs)``; ``conv``: an image cell (two naive loops, batch-major
    inputs); ``tolerance``: of the check that every column computes the same outputs."""

    make: Callable[[], tuple[Any, Any]]
    conv: bool = False
    tolerance: float = 1e-5
    #: the matrix products ``(m, k, n)`` any exact implementation runs in one training pass, when given
    products: Callable[[], list[tuple[int, int, int]]] | None = None
    #: with ``products``: the sigmoids and tanhs the forward evaluates per state element and step (the floor
    #: column adds that many elementwise sigmoids over ``[T, B, H]`` to the products)
    transcendentals: int = 0


def _gated(gates: int) -> Callable[[], list[tuple[int, int, int]]]:
    """The products of a cell whose step is ``[x, h] @ kernel [D + H, gates * H]``: the input rows for all steps
    at once, the recurrent rows step by step (forward ``h @ U``; backward ``dz @ U^T``, except into the zero
    initial state, which is not trained), and the kernel's gradient over all ``T * B`` rows (the inputs need
    none: they are not trained either)."""

    def products() -> list[tuple[int, int, int]]:
        rows, g = T * B, gates * H
        steps = [(B, H, g)] * T + [(B, g, H)] * (T - 1)
        return [(rows, D, g), *steps, (D, rows, g), (H, rows, g)]

    return products


def _intersection_products() -> list[tuple[int, int, int]]:
    """IntersectionRNNCell with ``num_in_proj=H``: ``x' = x @ in_kernel [D, H]``; ``x' @ kernel[:H]`` for all
    steps and ``h @ kernel[H:]`` per step (``[H, 4H]`` each); backward the same, plus ``x'``'s gradient (through
    ``kernel[:H]`` and the depth path) for ``in_kernel``'s."""
    rows = T * B
    per_step = [(B, H, 4 * H)] * T + [(B, 4 * H, H)] * (T - 1)  # (as _gated)
    forward = [(rows, D, H), (rows, H, 4 * H)]
    backward = [(H, rows, 4 * H), (H, rows, 4 * H), (rows, 4 * H, H), (D, rows, H)]
    return [*forward, *per_step, *backward]


def _rows(cell: Any) -> tuple[Any, Any]:
    x = torch.randn(T, B, D)
    if isinstance(cell, contrib.PhasedLSTMCell):  # timestamps increasing by 0.2 to 2 per step
        return cell, (torch.cumsum(torch.rand(T, B, 1) * 1.8 + 0.2, 0), x)
    return cell, x


def _conv(
    cls: type, batch: int, spatial: tuple[int, ...], window: tuple[int, ...]
) -> Callable[[], tuple]:
    def make() -> tuple[Any, Any]:
        cell = cls(input_shape=[*spatial, 4], output_channels=16, kernel_shape=list(window))
        with torch.no_grad():
            cell.biases.uniform_(-0.5, 0.5)  # not zeros: the check compares the bias's path too
        return cell, torch.randn(batch, 10, *spatial, 4)

    return make


CASES: dict[str, Case] = {
    "IndRNNCell": Case(lambda: _rows(contrib.IndRNNCell(H, input_size=D))),
    "IndyGRUCell": Case(lambda: _rows(contrib.IndyGRUCell(H, input_size=D))),
    "IndyLSTMCell": Case(lambda: _rows(contrib.IndyLSTMCell(H, input_size=D))),
    "SRUCell": Case(lambda: _rows(contrib.SRUCell(H, input_size=D))),
    "UGRNNCell": Case(lambda: _rows(contrib.UGRNNCell(H, input_size=D)), products=_gated(2)),
    "NASCell": Case(
        lambda: _rows(contrib.NASCell(H, input_size=D)), products=_gated(8), transcendentals=13
    ),
    "IntersectionRNNCell": Case(
        lambda: _rows(contrib.IntersectionRNNCell(H, num_in_proj=H, input_size=D)),
        products=_intersection_products,
        transcendentals=3,
    ),
    "CIFG-LSTM": Case(
        lambda: _rows(contrib.CoupledInputForgetGateLSTMCell(H, input_size=D)), products=_gated(3)
    ),
    "CIFG-LSTM+peep": Case(
        lambda: _rows(contrib.CoupledInputForgetGateLSTMCell(H, use_peepholes=True, input_size=D)),
        products=_gated(3),
    ),
    "GLSTMCell(2 groups)": Case(
        lambda: _rows(contrib.GLSTMCell(H, number_of_groups=2, input_size=D))
    ),
    "LayerNormLSTM": Case(
        lambda: _rows(contrib.LayerNormLSTMCell(H, layer_norm=True, input_size=D)),
        products=_gated(4),
    ),
    "LayerNormLSTM+peep+clip": Case(
        lambda: _rows(
            contrib.LayerNormLSTMCell(
                H, layer_norm=True, use_peepholes=True, cell_clip=1.0, input_size=D
            )
        ),
        tolerance=1e-4,
        products=_gated(4),
    ),
    "LayerNormBasicLSTM": Case(
        lambda: _rows(rk_cells.LayerNormBasicLSTMCell(H, input_size=D)), products=_gated(4)
    ),
    "PhasedLSTM": Case(lambda: _rows(contrib.PhasedLSTMCell(H, input_size=D)), products=_gated(4)),
    "PhasedLSTM+peep": Case(
        lambda: _rows(contrib.PhasedLSTMCell(H, use_peepholes=True, input_size=D))
    ),
    "Conv1DLSTMCell": Case(_conv(contrib.Conv1DLSTMCell, 16, (64,), (5,)), conv=True),
    "Conv2DLSTMCell": Case(_conv(contrib.Conv2DLSTMCell, 16, (16, 16), (3, 3)), conv=True),
    "Conv3DLSTMCell": Case(_conv(contrib.Conv3DLSTMCell, 4, (8, 8, 8), (3, 3, 3)), conv=True),
}


def _columns(case: Case, cell: Any) -> dict[str, Callable[[Any], torch.Tensor]]:
    """``{"naive": ..., ["naive_cl": ...,] "rnnkit": ...}``: each maps the inputs to the outputs whose last step's
    sum the training pass differentiates (time-major for the rows, batch-major for the images)."""
    if case.conv:
        naive, naive_cl = naive_conv_loop(cell, False), naive_conv_loop(cell, True)
        return {
            "naive": lambda x: naive(x)[:, -1],
            "naive_cl": lambda x: naive_cl(x)[:, -1],
            "rnnkit": lambda x: dynamic_rnn(cell, x)[0][:, -1],
        }
    naive = naive_loop(cell)
    return {
        "naive": lambda x: naive(x)[-1],
        "rnnkit": lambda x: dynamic_rnn(cell, x, time_major=True)[0][-1],
    }


def _products_alone(
    shapes: list[tuple[int, int, int]], like: torch.Tensor, transcendentals: int = 0
) -> Callable[[Any], None]:
    """A column that runs only ``shapes``' products (``[m, k] @ [k, n]``, like's dtype and device): the floor
    of any exact implementation, whatever it does about pointwise work, autograd and Python. With
    ``transcendentals``, that many ``torch.sigmoid`` over ``[T, B, H]`` values too (into a kept buffer, as one
    vectorised pass each): the forward's sigmoids and tanhs at torch's sigmoid rate, which no exact
    implementation skips (the backward can reuse their values, so it needs none)."""
    pairs = [(like.new_empty(m, k).normal_(), like.new_empty(k, n).normal_()) for m, k, n in shapes]
    values = like.new_empty(T * B * H if transcendentals else 0).normal_()
    out = torch.empty_like(values)

    def run(_: Any) -> None:
        with torch.no_grad():
            for a, b in pairs:
                torch.mm(a, b)
            for _ in range(transcendentals):
                torch.sigmoid(values, out=out)

    return run


def _one_case(
    case: Case, rounds: int, clock: Callable[[], float], device: str = "cpu"
) -> tuple[dict[str, float], Any]:
    """``(median seconds of one training pass per column on device, the cell)``, after checking that the columns
    agree."""
    torch.manual_seed(0)
    cell, inputs = case.make()
    cell = cell.to(device)
    inputs = tuple(t.to(device) for t in inputs) if isinstance(inputs, tuple) else inputs.to(device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    columns: dict[str, Callable[[Any], torch.Tensor | None]] = dict(_columns(case, cell))
    want = columns["rnnkit"](inputs)
    assert want is not None
    for fn in columns.values():
        torch.testing.assert_close(fn(inputs), want, rtol=case.tolerance, atol=case.tolerance)
    if case.products is not None:
        columns["products"] = _products_alone(case.products(), want)
        if case.transcendentals:
            columns["floor"] = _products_alone(case.products(), want, case.transcendentals)

    def train_once(fn: Callable[[Any], torch.Tensor | None]) -> float:
        sync()
        start = clock()
        out = fn(inputs)
        if out is not None:
            out.sum().backward()
        sync()  # CUDA runs asynchronously: time the work, not the launches
        return clock() - start

    for fn in columns.values():
        train_once(fn)  # warm-up: the native library, oneDNN primitives, pooled buffers
    taken: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(rounds):
        for name, fn in columns.items():
            taken[name].append(train_once(fn))
    return {name: statistics.median(values) for name, values in taken.items()}, cell


def run_cells(
    threads: list[int],
    rounds: int = 9,
    clock: str = "cpu",
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
    device: str = "cpu",
) -> list[dict]:
    """One record ``{"cell", "threads", "seconds": {column: s}, "path"}`` per case and thread count, every column
    on ``device`` (on CUDA the native loops do not run: ``path`` says what rnnkit's column ran)."""
    unknown = sorted(set(only or ()) - set(CASES))
    if unknown:
        raise ValueError(
            f"run_cells: expected cells among {', '.join(CASES)}, got {', '.join(unknown)}"
        )
    clock_fn = time.perf_counter if clock == "wall" else time.process_time
    records = []
    previous = torch.get_num_threads()
    # both sides in true float32: cuDNN's convolutions default to TF32 on recent GPUs, which the check refuses
    no_tf32 = torch.backends.cudnn.flags(
        enabled=torch.backends.cudnn.enabled,
        benchmark=torch.backends.cudnn.benchmark,
        deterministic=torch.backends.cudnn.deterministic,
        allow_tf32=False,
    )
    try:
        with no_tf32:
            for n in threads:
                torch.set_num_threads(n)
                for name in only or list(CASES):
                    seconds, cell = _one_case(CASES[name], rounds, clock_fn, device)
                    # the path rnnkit's column took on the CPU, as rk.fused.explain says it
                    path = explain(cell) if device == "cpu" else f"on {device}"
                    records.append({"cell": name, "threads": n, "seconds": seconds, "path": path})
                    timings = ", ".join(f"{k}={v * 1e3:.2f} ms" for k, v in seconds.items())
                    log(f"# {name} threads={n}: {timings}")
    finally:
        torch.set_num_threads(previous)
    return records


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.2f}"


def _ratio(over: float | None, seconds: float | None) -> str:
    return "—" if over is None or seconds is None else f"{over / seconds:.2f}"


def cells_table(records: list[dict]) -> str:
    """The Markdown table of ``run_cells``' records: ms per training pass and rnnkit's speed-up."""
    lines = [
        "**training pass, ms** (median of the interleaved rounds; speed-up = naive ms / rnnkit ms; products "
        "alone: only the matrix products any exact implementation runs, so naive / products bounds the "
        "speed-up; + transcendentals: those products and the forward's sigmoids and tanhs at torch.sigmoid's "
        "rate, a tighter bound)",
        "",
        "| cell | threads | naive loop | naive, channels-last | rnnkit | speed-up | over channels-last "
        "| products alone | naive / products | + transcendentals | naive / that |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        s = r["seconds"]
        naive, cl, rk, floor, tight = (
            s["naive"], s.get("naive_cl"), s["rnnkit"], s.get("products"), s.get("floor")
        )  # fmt: skip
        cells = [
            r["cell"], str(r["threads"]), _ms(naive), _ms(cl), _ms(rk), _ratio(naive, rk),
            _ratio(cl, rk), _ms(floor), _ratio(naive, floor), _ms(tight), _ratio(naive, tight),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
