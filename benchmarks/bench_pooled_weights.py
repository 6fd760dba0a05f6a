"""Pooled against new re-laid-out weights (NOTE [pooled kernel weights], ``rnnkit/cells/fused_spec.py``): a
2-layer ``BasicLSTMCell`` stack under ``rk.dynamic_rnn`` with its weights leased from the pool, the same stack
with new weight tensors on every call, and ``torch.nn.LSTM(num_layers=2)``, alternating call by call in a random
order. Prints each column's median milliseconds per call and page faults per call.

    PYTHONPATH=src python benchmarks/bench_pooled_weights.py train [--threads 1] [--rounds 150]
    PYTHONPATH=src python benchmarks/bench_pooled_weights.py infer --rounds 300

The default shape is ptb_word_lm's small config (B=20, T=20, 200 units); ``--units`` changes the input and
state size together. ``train`` times a whole step (forward, backward of the last output's sum, Adam); ``infer``
one ``torch.no_grad()`` call. One torch thread and the process CPU clock; ``--threads 2``: two, wall clock.
The "new" column raises both lease floors out of reach for its calls (``kernels/lstm_layout.py``).
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from collections.abc import Callable

import torch

import rnnkit as rk
from rnnkit.kernels import lstm_layout


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["train", "infer"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time_ns if args.threads == 1 else time.perf_counter_ns
    torch.manual_seed(0)
    x = torch.randn(args.steps, args.batch, args.units)
    stacks = {
        name: rk.MultiRNNCell([rk.BasicLSTMCell(args.units) for _ in range(2)])
        for name in ("pooled", "new")
    }
    for stack in stacks.values():
        rk.dynamic_rnn(stack, x, time_major=True, dtype=torch.float32)  # builds
    stacks["new"].load_state_dict(stacks["pooled"].state_dict())
    reference = torch.nn.LSTM(args.units, args.units, num_layers=2)
    optimizers = {name: torch.optim.Adam(s.parameters()) for name, s in stacks.items()}
    optimizers["torch"] = torch.optim.Adam(reference.parameters())
    floors = (lstm_layout._LEASE_MIN_BYTES, lstm_layout._INFERENCE_LEASE_MIN_BYTES)

    def column(name: str) -> Callable[[], None]:
        def forward() -> torch.Tensor:
            if name == "torch":
                return reference(x)[0]
            return rk.dynamic_rnn(stacks[name], x, time_major=True, dtype=torch.float32)[0]

        def call() -> None:
            lease_from = floors if name != "new" else (float("inf"), float("inf"))
            lstm_layout._LEASE_MIN_BYTES, lstm_layout._INFERENCE_LEASE_MIN_BYTES = lease_from
            if args.mode == "infer":
                with torch.no_grad():
                    forward()
                return
            optimizers[name].zero_grad(set_to_none=True)
            forward()[-1].sum().backward()
            optimizers[name].step()

        return call

    columns = {name: column(name) for name in ("pooled", "new", "torch")}
    for call in columns.values():
        for _ in range(5):
            call()
    times: dict[str, list[int]] = {name: [] for name in columns}
    faults = dict.fromkeys(columns, 0)
    order = list(columns)
    rng = random.Random(0)
    for _ in range(args.rounds):
        rng.shuffle(order)
        for name in order:
            before, start = _faults(), clock()
            columns[name]()
            times[name].append(clock() - start)
            faults[name] += _faults() - before
    lstm_layout._LEASE_MIN_BYTES, lstm_layout._INFERENCE_LEASE_MIN_BYTES = floors
    median = {name: statistics.median(t) / 1e6 for name, t in times.items()}
    print(
        f"{args.mode}, 2 x LSTM({args.units}), B={args.batch}, T={args.steps}, threads={args.threads}: "
        + ", ".join(
            f"{name} {ms:.3f} ms ({faults[name] / args.rounds:.0f} faults)"
            for name, ms in median.items()
        )
        + f"; torch/pooled {median['torch'] / median['pooled']:.3f}, "
        f"torch/new {median['torch'] / median['new']:.3f}"
    )


if __name__ == "__main__":
    main()
