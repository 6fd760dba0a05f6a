"""What the fused path's Python costs between kernel calls (issue 19, item 1): mnist-shape inference calls of
``torch.nn.LSTM`` and ``rk.dynamic_rnn(BasicLSTMCell)``, the kernel alone with rnnkit's weights, the least a fused
call must do (``lean()``), and ``torch.nn.LSTM`` followed by a fixed piece of plain Python whose cost alone is
printed first.

    PYTHONPATH=src python benchmarks/bench_call_overhead.py [--rounds 300] [--threads 1]

All calls under ``torch.no_grad()``, one torch thread and the process CPU clock (``--threads 2``: two, and the
wall clock), the columns alternating call by call in a random order each round; medians. The last column shows
how much more Python costs when it runs between 7 ms kernel calls (whose data has pushed the interpreter's code
and data out of the caches) than in a tight loop.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import torch
from torch import _VF

import rnnkit as rk
from rnnkit.cells.fused_spec import lstm_torch_weights

B, T, D, H = 128, 28, 28, 128


def _busy() -> int:
    """Plain Python, no torch: a fixed amount of interpreter work."""
    total = 0
    for i in range(700):
        total += i * i
    return total


def _median_us(fn: Callable[[], object], calls: int, clock: Callable[[], int]) -> float:
    taken = []
    for _ in range(calls):
        start = clock()
        fn()
        taken.append(clock() - start)
    return statistics.median(taken) / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time_ns if args.threads == 1 else time.perf_counter_ns
    torch.manual_seed(0)
    lstm, cell = torch.nn.LSTM(D, H, batch_first=True), rk.BasicLSTMCell(H, input_size=D)
    x = torch.randn(B, T, D)
    zeros = torch.zeros(1, B, H)
    with torch.no_grad():
        rk.dynamic_rnn(cell, x)  # builds the cell
        weights = lstm_torch_weights(cell.kernel, cell.bias, cell.forget_bias, D)

        def lean() -> object:
            """What a fused call must do at least: the weights-cache lookup, zero states, the kernel, the
            state's packing (no argument checks, no plan, no begin_sequence: what a cached plan would skip)."""
            zero = x.new_zeros(1, B, H)
            out, h, c = _VF.lstm(
                x, (zero, zero), cell._torch_weights(), True, 1, 0.0, False, False, True
            )
            return out, rk.LSTMStateTuple(c[0], h[0])

        columns: dict[str, Callable[[], object]] = {
            "torch.nn.LSTM": lambda: lstm(x),
            "_VF.lstm, rnnkit's weights": lambda: _VF.lstm(
                x, (zeros, zeros), weights, True, 1, 0.0, False, False, True
            ),
            "the lean call (see lean())": lean,
            "rk.dynamic_rnn": lambda: rk.dynamic_rnn(cell, x),
            "torch.nn.LSTM + plain Python": lambda: (lstm(x), _busy()),
        }
        busy_alone = _median_us(_busy, 2000, clock)
        for fn in columns.values():
            for _ in range(10):
                fn()
        taken: dict[str, list[float]] = {name: [] for name in columns}
        # Each round in a new random order: a call's time depends on what ran just before it (measured here: the
        # same call 30-50 us slower right after torch.nn.LSTM's than after another), which a fixed order would
        # charge to one column every round.
        order, shuffle = list(columns.items()), random.Random(0).shuffle
        for _ in range(args.rounds):
            shuffle(order)
            for name, fn in order:
                taken[name].append(_median_us(fn, 1, clock))
    median = {name: statistics.median(values) for name, values in taken.items()}
    base = median["torch.nn.LSTM"]
    print(f"the plain Python alone, in a tight loop: {busy_alone:.1f} us\n")
    print("| call | us | over torch.nn.LSTM | torch/this |")
    print("|---|---|---|---|")
    for name, us in median.items():
        print(f"| {name} | {us:.0f} | {us - base:+.0f} | {base / us:.3f} |")


if __name__ == "__main__":
    main()
