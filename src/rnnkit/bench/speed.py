"""The speed benchmark: training steps/s and inference sequences/s of every column on every shape.

``python benchmarks/bench_speed.py [--threads 1,2] [--repeats 5] [--shapes mnist,sine,large,gru,peephole]
[--tf-python PATH]`` (and ``rnnkit bench``, which calls ``main(argv)``) prints Markdown tables.

Method: ``--repeats`` rounds. In each, the columns in this process take turns one call at a time, in a new
random order every turn, for about ``--target`` seconds of each column's calls; then the TF column (another
process, where one request costs more than a small call) times ``n`` back-to-back calls (``n`` calibrated once to
take about ``--target`` seconds). The median seconds per call is reported. Turns of one call put a drift of a
shared machine's speed on every column alike, and the random order keeps a call from always following the same
other column (a call ran 30-50 us slower right after ``torch.nn.LSTM``'s than after another, at the mnist shape).
Blocks of back-to-back calls, as this bench timed until round two's ninth stop, moved a ratio by several percent
between runs. Training = forward, loss, backward and an Adam step on one batch; inference = forward under
``torch.no_grad()``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from . import _options as options
from ._worker import JsonWorker
from .cells import CASES as CELL_CASES
from .cells import cells_table, run_cells
from .models import COLUMNS, SHAPES, Shape, build

__all__ = ["add_arguments", "main", "run", "run_args", "table"]

MODES = ("train", "infer")


def _torch_runner(
    shape: Shape, column: str, mode: str, clock: Callable[[], float], device: str = "cpu"
) -> Callable[[int], float]:
    model, x, y, loss_fn, optimizer = build(shape, column, device=device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    if mode == "infer":
        model.eval()

    def once() -> None:
        if mode == "train":
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()
        else:
            with torch.no_grad():
                model(x)

    def timed(iters: int) -> float:
        sync()
        start = clock()
        for _ in range(iters):
            once()
        sync()  # CUDA runs asynchronously: time the work, not the launches
        return clock() - start

    return timed


class _TFWorker:
    """A TF process answering timing requests (see tf_worker.py)."""

    def __init__(self, python: str) -> None:
        self.worker = JsonWorker(python, "tf_worker.py", {"TF_USE_LEGACY_KERAS": "1"})

    def runner(self, shape: Shape, mode: str, threads: int, clock: str) -> Callable[[int], float]:
        def timed(iters: int) -> float:
            cmd = {
                "shape": asdict(shape),
                "mode": mode,
                "threads": threads,
                "iters": iters,
                "clock": clock,
            }
            return float(self.worker.ask(cmd)["seconds"])

        return timed

    def close(self) -> None:
        self.worker.close()


def _measure(
    runners: dict[str, Callable[[int], float]],
    repeats: int,
    target: float,
    blocks: Sequence[str] = (),
) -> dict[str, float]:
    """Median seconds per call of each runner over ``repeats`` rounds: the others one call per turn in a random
    order, then each runner named in ``blocks`` (another process) ``n`` calls back to back (module docstring)."""
    iters = {}
    for name, timed in runners.items():
        timed(1)  # warm-up (first-call allocations, oneDNN primitive creation, TF graph pruning)
        once = timed(1)
        iters[name] = max(1, min(200, round(target / max(once, 1e-6))))
    samples: dict[str, list[float]] = {name: [] for name in runners}
    turns = [name for name in runners if name not in blocks]
    in_blocks = [name for name in runners if name in blocks]
    shuffle = random.Random(0).shuffle
    for _ in range(repeats):
        for _ in range(max((iters[name] for name in turns), default=0)):
            shuffle(turns)
            for name in turns:
                samples[name].append(runners[name](1))
        for name in in_blocks:
            samples[name].append(runners[name](iters[name]) / iters[name])
    return {name: statistics.median(s) for name, s in samples.items()}


def run(
    shapes: Sequence[str],
    threads: Sequence[int],
    repeats: int = 5,
    target: float = 0.3,
    tf_python: str | None = None,
    log: Callable[[str], None] = print,
    clock: str = "wall",
    device: str = "cpu",
) -> list[dict]:
    """Measure; return one record per (shape, threads, mode) with ``rate`` per column (steps/s or seq/s).

    ``clock="cpu"`` times process CPU time instead of wall time: on a shared machine it does not count the time
    other processes held the core (meaningful with 1 thread; with more it sums the threads).
    """
    clock_fn = time.perf_counter if clock == "wall" else time.process_time
    worker = _TFWorker(tf_python) if tf_python else None
    records = []
    try:
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            for name in shapes:
                shape = SHAPES[name]
                for mode in MODES:
                    runners = {c: _torch_runner(shape, c, mode, clock_fn, device) for c in COLUMNS}
                    if (
                        worker is not None and shape.kind != "layernorm"
                    ):  # TF 2.x has no contrib cells
                        runners["tf"] = worker.runner(shape, mode, n_threads, clock)
                    seconds = _measure(runners, repeats, target, blocks=("tf",))
                    per_call = shape.batch if mode == "infer" else 1
                    rates = {c: per_call / s for c, s in seconds.items()}
                    records.append(
                        {
                            "shape": name,
                            "threads": n_threads,
                            "mode": mode,
                            "clock": clock,
                            "rate": rates,
                        }
                    )
                    log(
                        f"# {name} threads={n_threads} {mode}: "
                        + ", ".join(f"{c}={_fmt(r)}" for c, r in rates.items())
                    )
    finally:
        if worker is not None:
            worker.close()
    return records


def _fmt(value: float) -> str:
    """Three significant digits at least (0.634, 37.6, 16090)."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _ratio(rate: dict, a: str, b: str) -> str:
    return f"{rate[a] / rate[b]:.2f}" if a in rate and b in rate else "—"


def table(records: list[dict]) -> str:
    """Markdown: one table per mode; absolute rates, then the ratios the targets are stated in."""
    has_tf = any("tf" in r["rate"] for r in records)
    cols = list(COLUMNS) + (["tf"] if has_tf else [])
    heads = {
        "auto": "rnnkit auto",
        "loop": "rnnkit loop",
        "torch": "torch.nn",
        "naive": "naive loop",
        "tf": "TF compat",
    }
    ratios = [("auto", "torch"), ("loop", "naive")] + (
        [("auto", "tf"), ("loop", "tf")] if has_tf else []
    )
    lines = []
    for mode, unit in (("train", "training steps/s"), ("infer", "inference sequences/s")):
        lines += [f"**{unit}** (median of the interleaved runs)", ""]
        lines.append("| shape | threads | " + " | ".join(heads[c] for c in cols) + " | "
                     + " | ".join(f"{a}/{b}" for a, b in ratios) + " |")  # fmt: skip
        lines.append("|" + "---|" * (2 + len(cols) + len(ratios)))
        for r in (r for r in records if r["mode"] == mode):
            rate = r["rate"]
            cells = [_fmt(rate[c]) if c in rate else "—" for c in cols]
            lines.append(f"| {r['shape']} | {r['threads']} | " + " | ".join(cells) + " | "
                         + " | ".join(_ratio(rate, a, b) for a, b in ratios) + " |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def machine(device: str = "cpu") -> str:
    if torch.device(device).type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared by ``benchmarks/bench_speed.py`` and ``rnnkit bench``)."""
    parser.add_argument(
        "--shapes",
        type=options.shape_list,
        default=list(SHAPES),
        help=f"comma list of {', '.join(SHAPES)}, or none (default: all)",
    )
    parser.add_argument(
        "--cells",
        type=options.cell_list,
        nargs="?",
        const=list(CELL_CASES),
        default=None,
        help="also time each cell with a sequence kernel against a naive loop of its math (bench/cells.py): "
        "all (the default when given alone) or a comma list",
    )
    parser.add_argument(
        "--threads",
        type=options.int_list,
        default=[1, 2],
        help="comma list of torch (and TF) thread counts (default: 1,2)",
    )
    parser.add_argument(
        "--repeats",
        type=options.positive_int,
        default=5,
        help="interleaved rounds; the median is reported",
    )
    parser.add_argument(
        "--target",
        type=options.positive_seconds,
        default=0.3,
        help="seconds of each column's calls per round (the calls alternate one by one; TF's run back to back)",
    )
    parser.add_argument(
        "--tf-python",
        type=options.python,
        default=None,
        help="a python with TensorFlow for the TF compat column",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or process CPU time (robust to other processes on a shared machine)",
    )
    parser.add_argument(
        "--device",
        type=options.device,
        default="cpu",
        help="torch device of the rnnkit/torch columns, e.g. cuda (TF stays on the CPU)",
    )
    parser.add_argument("--json", type=options.json_path, default=None, help="also write the records here")  # fmt: skip
    parser.add_argument(
        "--decode", action="store_true", help="also time step-by-step decoding (bench/decode.py)"
    )
    parser.add_argument(
        "--tf-decode-python",
        type=options.python,
        default=None,
        help="a python with TF 2.15 + tensorflow-addons for the decoding table's TF column",
    )


def run_args(args: argparse.Namespace) -> int:
    """Measure as ``args`` say and print the Markdown tables (stdout); progress goes to stderr."""
    records = run(
        args.shapes, args.threads, args.repeats, args.target, args.tf_python,
        log=lambda s: print(s, file=sys.stderr), clock=args.clock, device=args.device,
    )  # fmt: skip
    print(f"Machine: {machine(args.device)}; clock: {args.clock}\n")
    for name in args.shapes:
        print(f"- {name}: {SHAPES[name].describe}")
    print()
    if records:
        print(table(records))
    cell_records: list[dict] = []
    if args.cells:
        cell_records = run_cells(
            args.threads,
            args.repeats,
            args.clock,
            args.cells,
            log=lambda s: print(s, file=sys.stderr),
            device=args.device,
        )
        print(cells_table(cell_records))
    decoded: list[dict] = []
    if args.decode:
        from .decode import decode_table, run_decode

        decoded = run_decode(
            args.threads, args.repeats, args.clock, log=lambda s: print(s, file=sys.stderr),
            tf_python=args.tf_decode_python,
        )  # fmt: skip
        print(decode_table(decoded))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": machine(args.device),
                    "records": records,
                    "cells": cell_records,
                    "decode": decoded,
                },
                indent=1,
            )
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: parse ``argv`` and run (``rnnkit bench`` shares the options)."""
    parser = argparse.ArgumentParser(prog="bench_speed.py", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_args(parser.parse_args(argv))
