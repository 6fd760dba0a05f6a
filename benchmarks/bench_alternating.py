"""Two or more columns of one ``rnnkit bench`` shape, alternating step by step: the finest side-by-side ratio.

    PYTHONPATH=src python benchmarks/bench_alternating.py gru loop naive [--steps 60] [--threads 1]
    PYTHONPATH=src python benchmarks/bench_alternating.py mnist auto torch --steps 80

Each round runs one training step (forward, loss, backward, Adam) of every column in turn, so a drift of the
host's speed hits all of them alike (``rnnkit bench`` alternates blocks of ~0.3 s instead). Prints the median
milliseconds per step of each column and the ratio of the last column's time to the first's (above 1: the first
is faster). Models, inputs and columns are ``rnnkit/bench/models.py``'s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rnnkit.bench.models import COLUMNS, SHAPES, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=list(SHAPES))
    parser.add_argument("columns", nargs="+", choices=list(COLUMNS))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time_ns if args.threads == 1 else time.perf_counter_ns
    steps = {}
    for column in args.columns:
        model, x, y, loss_fn, optimizer = build(SHAPES[args.shape], column)

        def step(model=model, x=x, y=y, loss_fn=loss_fn, optimizer=optimizer) -> None:
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()

        for _ in range(5):  # warm-up: allocations, oneDNN primitives, the native library
            step()
        steps[column] = step
    taken: dict[str, list[int]] = {column: [] for column in steps}
    for _ in range(args.steps):
        for column, step in steps.items():
            start = clock()
            step()
            taken[column].append(clock() - start)
    ms = {column: statistics.median(values) / 1e6 for column, values in taken.items()}
    first, last = args.columns[0], args.columns[-1]
    print(
        " ".join(f"{c}={v:.2f} ms" for c, v in ms.items()),
        f" {last}/{first} = {ms[last] / ms[first]:.3f}",
    )


if __name__ == "__main__":
    main()
