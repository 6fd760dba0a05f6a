"""Data-parallel scaling: training throughput with 1 and 2 processes (``torchrun``, gloo on CPU / nccl on CUDA).

Usage::

    PYTHONPATH=src python benchmarks/bench_ddp.py [--nproc 1 2] [--steps 30] [--global-batch 128] [--device cpu]

The model is the MNIST task's shape (28 steps of 28 inputs, BasicLSTMCell(128), a linear head, Adam) on random
data, so no data set is needed. Each configuration is a fresh ``torchrun --nproc_per_node=N`` launch on
127.0.0.1; each rank uses 1 thread (``OMP_NUM_THREADS=1``). Two regimes:

* strong scaling: the global batch stays ``--global-batch`` (each of N ranks computes 1/N of it): the same
  training, faster if communication is cheap;
* weak scaling: each rank computes ``--global-batch`` rows (the global batch grows with N).

Reported, over ``--steps`` timed steps after 3 warm-up steps:

* the wall clock (rank 0's; every step ends with the gradient all-reduce, so ranks finish together);
* because on a shared machine the processes may not get a core each, a load-independent estimate: the CPU
  seconds per step of the busiest rank plus one all-reduce of all gradients (timed alone, best of 20), i.e.
  the step time if every process had a core of its own.

With ``--repeats R`` every configuration is launched R times, interleaved; the best wall clock and the smallest
CPU and all-reduce times are reported (on a shared machine: the least disturbed runs).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def _worker(steps: int, per_rank: int, device: str) -> None:
    import torch

    import rnnkit as rk
    from rnnkit.train.distributed import setup_distributed

    torch.set_num_threads(1)
    dist = setup_distributed(device, timeout_s=300)
    dev = dist.device if dist is not None else torch.device(device)
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = rk.BasicLSTMCell(128, input_size=28, device=dev)
            self.head = torch.nn.Linear(128, 10, device=dev)

        def forward(self, x):
            out, _ = rk.dynamic_rnn(self.cell, x)
            return self.head(out[:, -1])

    net = Net()
    step_net = dist.wrap_model(net) if dist is not None else net
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator(device="cpu").manual_seed(1 + (dist.rank if dist else 0))
    x = torch.rand(per_rank, 28, 28, generator=gen).to(dev)
    y = torch.randint(0, 10, (per_rank,), generator=gen).to(dev)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(step_net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    world = dist.world_size if dist is not None else 1
    allreduce = 0.0
    if dist is not None:
        from rnnkit.train.distributed import gather_rows

        cpu = float(gather_rows(torch.tensor([cpu], device=dev)).max())  # the busiest rank
        # One all-reduce of all gradients (DDP's buckets together), best of 20: the communication per step.
        flat = torch.zeros(sum(p.numel() for p in net.parameters()), device=dev)
        times = []
        for _ in range(20):
            dist.barrier()
            a = time.perf_counter()
            torch.distributed.all_reduce(flat)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - a)
        allreduce = min(times)
    if dist is None or dist.is_main:
        print(
            json.dumps(
                {
                    "nproc": world,
                    "per_rank": per_rank,
                    "global_batch": per_rank * world,
                    "s_per_step": seconds / steps,
                    "examples_per_s": per_rank * world * steps / seconds,
                    "cpu_s_per_step": cpu / steps,
                    "allreduce_s": allreduce,
                }
            )
        )
    if dist is not None:
        dist.close()


def _launch(nproc: int, steps: int, per_rank: int, device: str) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "GLOO_SOCKET_IFNAME": "lo",
        "PYTHONPATH": os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={nproc}",
        "--nnodes=1",
        "--master_addr=127.0.0.1",
        f"--master_port={port}",
        __file__,
        "--worker",
        "--steps",
        str(steps),
        "--per-rank",
        str(per_rank),
        "--device",
        device,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200, check=True)
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--global-batch", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=1, help="launch each configuration R times")
    ap.add_argument(
        "--rows", metavar="FILE", help="only print the table of an earlier run's JSON lines"
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--per-rank", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.steps, args.per_rank, args.device)
        return
    if args.rows:
        text = Path(args.rows).read_text()
        runs = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    else:
        runs = []
        for rep in range(
            args.repeats
        ):  # interleaved: the best is the least disturbed by other load
            for regime in ("strong", "weak"):
                for n in args.nproc:
                    per_rank = args.global_batch // n if regime == "strong" else args.global_batch
                    res = _launch(n, args.steps, per_rank, args.device)
                    runs.append({"regime": regime, "repeat": rep, **res})
                    print(json.dumps(runs[-1]), file=sys.stderr)
    _table(runs, args.device)


def _table(runs: list[dict], device: str) -> None:
    rows = []
    for key in dict.fromkeys((r["regime"], r["nproc"]) for r in runs):
        same = [r for r in runs if (r["regime"], r["nproc"]) == key]
        row = dict(max(same, key=lambda r: r["examples_per_s"]))  # the best wall-clock run
        row["cpu_s_per_step"] = min(r["cpu_s_per_step"] for r in same)
        row["allreduce_s"] = min(r["allreduce_s"] for r in same)
        row["est_s_per_step"] = row["cpu_s_per_step"] + row["allreduce_s"]
        row["repeats"] = len(same)
        rows.append(row)
    print(
        f"MNIST-shaped model (T=28, D=28, BasicLSTMCell(128), Adam), {device}, 1 thread per rank, "
        f"best of {rows[0]['repeats']}"
    )
    print(
        "| regime | processes | rows per rank | global batch | wall s/step | examples/s | speed-up "
        "| CPU s/step (busiest rank) | all-reduce | est. s/step (a core each) | est. speed-up |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    first = min(r["nproc"] for r in rows)
    for r in rows:
        base = next(b for b in rows if b["regime"] == r["regime"] and b["nproc"] == first)
        speed = r["examples_per_s"] / base["examples_per_s"]
        est = (r["global_batch"] / r["est_s_per_step"]) / (
            base["global_batch"] / base["est_s_per_step"]
        )
        print(
            f"| {r['regime']} | {r['nproc']} | {r['per_rank']} | {r['global_batch']} "
            f"| {r['s_per_step']:.4f} | {r['examples_per_s']:.0f} | {speed:.2f}x "
            f"| {r['cpu_s_per_step']:.4f} | {r['allreduce_s'] * 1e3:.2f} ms "
            f"| {r['est_s_per_step']:.4f} | {est:.2f}x |"
        )


if __name__ == "__main__":
    main()
