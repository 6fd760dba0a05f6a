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
    "UGRNNCell": Case(lambda: _rows(contrib.UGRNNCell(H, input_size=D))),
    "NASCell": Case(lambda: _rows(contrib.NASCell(H, input_size=D))),
    "IntersectionRNNCell": Case(
        lambda: _rows(contrib.IntersectionRNNCell(H, num_in_proj=H, input_size=D))
    ),
    "CIFG-LSTM": Case(lambda: _rows(contrib.CoupledInputForgetGateLSTMCell(H, input_size=D))),
    "CIFG-LSTM+peep": Case(
        lambda: _rows(contrib.CoupledInputForgetGateLSTMCell(H, use_peepholes=True, input_size=D))
    ),
    "GLSTMCell(2 groups)": Case(
        lambda: _rows(contrib.GLSTMCell(H, number_of_groups=2, input_size=D))
    ),
    "LayerNormLSTM": Case(
        lambda: _rows(contrib.LayerNormLSTMCell(H, layer_norm=True, input_size=D))
    ),
    "LayerNormLSTM+peep+clip": Case(
        lambda: _rows(
            contrib.LayerNormLSTMCell(
                H, layer_norm=True, use_peepholes=True, cell_clip=1.0, input_size=D
            )
        ),
        tolerance=1e-4,
    ),
    "LayerNormBasicLSTM": Case(lambda: _rows(rk_cells.LayerNormBasicLSTMCell(H, input_size=D))),
    "PhasedLSTM": Case(lambda: _rows(contrib.PhasedLSTMCell(H, input_size=D))),
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
    columns = _columns(case, cell)
    want = columns["rnnkit"](inputs)
    for fn in columns.values():
        torch.testing.assert_close(fn(inputs), want, rtol=case.tolerance, atol=case.tolerance)

    def train_once(fn: Callable[[Any], torch.Tensor]) -> float:
        sync()
        start = clock()
        fn(inputs).sum().backward()
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


def cells_table(records: list[dict]) -> str:
    """The Markdown table of ``run_cells``' records: ms per training pass and rnnkit's speed-up."""
    lines = [
        "**training pass, ms** (median of the interleaved rounds; speed-up = naive ms / rnnkit ms)",
        "",
        "| cell | threads | naive loop | naive, channels-last | rnnkit | speed-up | over channels-last |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        s = r["seconds"]
        cl = s.get("naive_cl")
        cl_ms, cl_ratio = (
            ("—", "—") if cl is None else (f"{cl * 1e3:.2f}", f"{cl / s['rnnkit']:.2f}")
        )
        lines.append(
            f"| {r['cell']} | {r['threads']} | {s['naive'] * 1e3:.2f} | {cl_ms} | {s['rnnkit'] * 1e3:.2f} | "
            f"{s['naive'] / s['rnnkit']:.2f} | {cl_ratio} |"
        )
    return "\n".join(lines) + "\n"
