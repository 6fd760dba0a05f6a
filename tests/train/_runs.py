"""Shared by the fault tests: a tiny sine run and how to compare two runs bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import torch

import rnnkit
from rnnkit.tasks import TASKS
from rnnkit.train import Checkpoint
from rnnkit.train import rundir as rd

SRC = Path(rnnkit.__file__).resolve().parents[1]
TINY = {  # a sine run of 8 steps, a checkpoint every 2: seconds on CPU
    "max_steps": 8,
    "batch_size": 4,
    "cell_size": 4,
    "test_windows": 2,
    "log_every": 1,
    "eval_every": 4,
    "checkpoint_every": 2,
    "tensorboard": False,
}
TIMING = {
    "examples_per_s",
    "elapsed_s",
    "train_seconds",
    "cpu_seconds",
}  # clock readings differ run to run


def config(**changes):
    return TASKS["sine"].resolve_config("seed000", {**TINY, **changes})


def records(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock fields (everything else must repeat bit for bit)."""
    return [
        {k: v for k, v in r.items() if k not in TIMING}
        for r in rd.read_jsonl(run_dir / rd.METRICS_LOG)
    ]


def final(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / rd.METRICS).read_text())
    return {k: v for k, v in metrics.items() if k not in TIMING}


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return Checkpoint(run_dir / rd.CHECKPOINT).model_state()


def assert_same_run(a: Path, b: Path) -> None:
    assert records(a) == records(b)
    assert final(a) == final(b)
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def tiny_model():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.Adam(model.parameters())
