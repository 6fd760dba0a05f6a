"""A small data-parallel training program for the multi-process tests (run by ``torchrun``; not a test file).

Two runs in one launch, float64 so that "equal to a single process" can be checked tightly:

* ``shuffle``: sequences from a fixed data set, a global batch of ``GLOBAL`` rows per step drawn from a
  per-epoch permutation seeded by ``SEED`` (several epochs), each rank taking its contiguous block of rows.
* ``carry``: the stateful pattern of the sine task: ``GLOBAL`` streams, window ``k`` of stream ``r`` continues
  window ``k - 1``; each rank carries the final state of *its own rows* into its next window.

``python -m torch.distributed.run --nproc_per_node=2 tests/train/dist_worker.py OUT_DIR [--fail-rank R]`` writes
``OUT_DIR/rank{r}.pt`` (parameters and the averaged losses of each run); with ``--fail-rank R`` a third run
follows in which rank ``R`` raises in its third step while the other ranks wait in the gradient all-reduce; ``--timeout S`` bounds every collective (default 30 s). The tests import :func:`train` to run the same program in one process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

import rnnkit as rk

GLOBAL, T, D, H, N, STEPS, SEED = (
    8,
    5,
    3,
    6,
    24,
    7,
    3,
)  # 24 examples / 8 per step: 3 steps per epoch


class Model(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.cell = rk.BasicLSTMCell(H, input_size=D, dtype=torch.float64)
        self.head = torch.nn.Linear(H, 1, dtype=torch.float64)

    def forward(self, x, state=None):
        out, final = rk.dynamic_rnn(self.cell, x, initial_state=state)
        return self.head(out).squeeze(-1), final


def _data():
    gen = torch.Generator().manual_seed(42)
    x = torch.randn(N, T, D, generator=gen, dtype=torch.float64)
    return x, x.sum(-1).cumsum(1).tanh()  # target: squashed running sum, per step


def _streams():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(GLOBAL, STEPS * T, D, generator=gen, dtype=torch.float64)
    return x, torch.sin(x[..., 0].cumsum(1))


def global_indices(step: int) -> torch.Tensor:
    """Rows of the data set in global batch ``step``: a fresh permutation per epoch, seeded by (SEED, epoch)."""
    epoch, i = divmod(step, N // GLOBAL)
    perm = torch.randperm(N, generator=torch.Generator().manual_seed(SEED * 1000 + epoch))
    return perm[i * GLOBAL : (i + 1) * GLOBAL]


def train(mode: str, rank: int = 0, world_size: int = 1, dist=None, fail_rank: int | None = None):
    """Train for STEPS steps; returns (parameters, per-step losses averaged over ranks)."""
    model = Model()
    step_model = dist.wrap_model(model) if dist is not None else model
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    rows = dist.rows(GLOBAL) if dist is not None else slice(0, GLOBAL)
    x_all, y_all = _data() if mode == "shuffle" else _streams()
    carry = None
    if mode == "carry":
        carry = model.cell.zero_state(GLOBAL // world_size, torch.float64)
    losses = []
    for step in range(STEPS):
        if fail_rank == rank and step == 2:
            raise RuntimeError(f"rank {rank} failed on purpose at step {step}")
        if mode == "shuffle":
            idx = global_indices(step)[rows]
            x, y = x_all[idx], y_all[idx]
        else:
            x, y = x_all[rows, step * T : (step + 1) * T], y_all[rows, step * T : (step + 1) * T]
        pred, final = step_model(x, carry)
        if mode == "carry":
            carry = rk.nest.map_structure(torch.Tensor.detach, final)
        loss = torch.nn.functional.mse_loss(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(dist.mean(loss.detach())) if dist is not None else loss.item())
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, losses


def main() -> None:
    from rnnkit.train.distributed import setup_distributed

    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--fail-rank", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=30.0, help="collective timeout in seconds")
    args = ap.parse_args()
    torch.set_num_threads(1)
    dist = setup_distributed("cpu", timeout_s=args.timeout)
    assert dist is not None, "expected to be started by torchrun with WORLD_SIZE > 1"
    with dist:
        result = {}
        for mode in ("shuffle", "carry"):
            result[mode] = train(mode, dist.rank, dist.world_size, dist)
        torch.save(result, Path(args.out) / f"rank{dist.rank}.pt")
        print(f"rank {dist.rank} saved", file=sys.stderr)
        if args.fail_rank is not None:
            # A third run in which one rank raises while the others wait for its gradients.
            train("shuffle", dist.rank, dist.world_size, dist, args.fail_rank)
            Path(args.out, f"rank{dist.rank}.survived").touch()  # never reached on any rank


if __name__ == "__main__":
    main()
