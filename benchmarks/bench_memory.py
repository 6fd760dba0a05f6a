"""Peak memory and time of ``dynamic_rnn`` training steps, plain loop vs ``swap_memory=True`` (checkpointing).

Usage::

    PYTHONPATH=src python benchmarks/bench_memory.py [--lengths 100 1000 10000] [--batch 16] [--units 128]

Method: every (T, mode) runs in a fresh Python subprocess, one thread, after a tiny warm-up. One training step is
``dynamic_rnn`` forward over ``[B, T, D]``, the mean of the outputs as loss, backward.

* **peak MiB** (the number that matters): the most bytes held by torch's CPU allocator at any moment of the step,
  above what was held when it began. Taken from the profiler: ``torch.profiler.profile(profile_memory=True)``
  records every allocation with the allocator's running total (``total_allocated``); the maximum is the peak.
  It counts saved activations, the returned outputs ``[B, T, H]``, gradients and the recomputed chunk.
  (``tracemalloc`` cannot see torch's CPU tensors and torch keeps no CPU allocator statistics otherwise.)
* **RSS MiB**: the process's peak resident set (``getrusage().ru_maxrss``) minus its resident set before the step
  (``/proc/self/statm``), measured on a separate step without the profiler. It is what the OS sees, including
  glibc's heap fragmentation (freed small blocks are kept), so it overstates the allocator peak.
* **s/step (CPU s)**: the fastest of 3 steps without the profiler, wall clock and (in parentheses) CPU time of
  the process; the time ratio uses CPU time when it was recorded (on a shared machine the wall clock also
  counts the time other jobs held the core).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _one(
    time_steps: int, swap: bool, batch: int, units: int, depth: int, profile: bool = True
) -> dict:
    import torch

    import rnnkit as rk

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cell = rk.BasicLSTMCell(units, input_size=depth)

    def step(x: torch.Tensor) -> None:
        out, _ = rk.dynamic_rnn(cell, x, swap_memory=swap)
        out.mean().backward()

    step(torch.randn(batch, 8, depth))  # warm-up: load kernels, allocate parameter gradients
    x = torch.randn(batch, time_steps, depth)
    base = _rss_bytes()
    step(x)
    rss = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    )  # Linux: ru_maxrss in KiB
    times, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        step(x)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "T": time_steps,
        "swap_memory": swap,
        "peak_mib": _allocator_peak(step, x) / 2**20 if profile else None,
        "rss_mib": rss / 2**20,
        "seconds": min(times),
        "cpu_seconds": min(cpu),
    }


def _allocator_peak(step, x) -> int:
    """Peak of the CPU allocator's running total during ``step(x)``, from the profiler's allocation events."""
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(x)
    totals = []
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        ev = stack.pop()
        if ev.tag == _EventType.Allocation:
            totals.append(ev.extra_fields.total_allocated)
        stack.extend(ev.children)
    # The running total counts from the profiler's start (tensors allocated before it, x included, are not in it).
    return max(totals, default=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--units", type=int, default=128)
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument(
        "--rows", metavar="FILE", help="only print the table from the JSON lines of an earlier run"
    )
    ap.add_argument(
        "--time-only",
        action="store_true",
        help="skip the profiled step (no peak MiB): a faster timing run",
    )
    ap.add_argument("--one", nargs=2, metavar=("T", "SWAP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        res = _one(
            int(args.one[0]),
            args.one[1] == "1",
            args.batch,
            args.units,
            args.depth,
            not args.time_only,
        )
        print(json.dumps(res))
        return
    if args.rows:  # re-print the table of an earlier run from its JSON lines (printed on stderr)
        rows = [
            json.loads(line)
            for line in Path(args.rows).read_text().splitlines()
            if line.startswith("{")
        ]
        args.lengths = sorted({r["T"] for r in rows})
    else:
        rows = []
        for t in args.lengths:
            for swap in (False, True):
                cmd = [
                    sys.executable,
                    __file__,
                    "--one",
                    str(t),
                    str(int(swap)),
                    "--batch",
                    str(args.batch),
                    "--units",
                    str(args.units),
                    "--depth",
                    str(args.depth),
                    *(["--time-only"] if args.time_only else []),
                ]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=3600)
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), file=sys.stderr)
    _table(rows, args)


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def _table(rows: list[dict], args: argparse.Namespace) -> None:
    """Memory (when profiled) and time per (T, mode); time ratios from CPU time when present (load-proof)."""
    print(
        f"BasicLSTMCell({args.units}), B={args.batch}, D={args.depth}, float32, 1 thread, one training step"
    )
    print(
        "| T | outputs MiB | plain: peak MiB | plain: peak - 2 x outputs | plain: RSS MiB "
        "| swap_memory: peak MiB | swap_memory: peak - 2 x outputs | swap_memory: RSS MiB | peak ratio "
        "| plain: s/step (CPU s) | swap_memory: s/step (CPU s) | time ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in args.lengths:
        p, s = (
            next(r for r in rows if r["T"] == t and r["swap_memory"] == sw) for sw in (False, True)
        )
        out = args.batch * t * args.units * 4 / 2**20
        # the per-step outputs and their stacked copy coexist at the end of the forward pass
        rest = [None if r["peak_mib"] is None else r["peak_mib"] - 2 * out for r in (p, s)]
        ratio = None if p["peak_mib"] is None else p["peak_mib"] / max(s["peak_mib"], 1e-9)
        key = "cpu_seconds" if "cpu_seconds" in p else "seconds"
        print(
            f"| {t:,} | {out:.1f} | {_fmt(p['peak_mib'])} | {_fmt(rest[0])} | {p['rss_mib']:.1f} "
            f"| {_fmt(s['peak_mib'])} | {_fmt(rest[1])} | {s['rss_mib']:.1f} | {_fmt(ratio)}x "
            f"| {p['seconds']:.3f} ({_fmt(p.get('cpu_seconds'), '.3f')}) "
            f"| {s['seconds']:.3f} ({_fmt(s.get('cpu_seconds'), '.3f')}) | {s[key] / p[key]:.2f}x |"
        )


if __name__ == "__main__":
    main()
