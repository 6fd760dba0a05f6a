"""``torchrun --nproc_per_node=2 -m rnnkit train ...``: the real command on 2 CPU processes (loopback, gloo).

The stateful sine task is the strictest case: each rank carries the LSTM state of its own rows from window to
window, and a resumed run must hand every rank its own rows back from the checkpoint (written by rank 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnkit.cli import main
from tests.train.test_distributed import torchrun

COMMON = [
    "--no-plots",
    "--set",
    "schedule=constant",
    "--set",
    "tensorboard=false",
    "--set",
    "test_windows=4",
    "--set",
    "log_every=1",
    "--set",
    "checkpoint_every=2",
    "--set",
    "eval_every=0",
]


def _params(run_dir: Path) -> dict[str, torch.Tensor]:
    return {
        k: v
        for k, v in load_file(str(run_dir / "checkpoint.safetensors")).items()
        if k.startswith("model/")
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp_cli")
    two = root / "two"
    # 2 processes x 8 rows, 4 steps; then 2 more steps after a resume
    proc = torchrun(
        [
            "-m",
            "rnnkit",
            "train",
            "sine",
            "--max-steps",
            "4",
            "--batch-size",
            "8",
            "--out",
            str(two),
            *COMMON,
        ]
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first_files = sorted(p.name for p in two.iterdir())
    cfg = json.loads((two / "config.json").read_text())
    cfg["max_steps"] = 6
    (two / "config.json").write_text(json.dumps(cfg))
    proc = torchrun(["-m", "rnnkit", "train", "--resume", str(two), "--no-plots"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the reference: one process, 16 rows, 6 steps without interruption
    one = root / "one"
    assert (
        main(
            ["train", "sine", "--max-steps", "6", "--batch-size", "16", "--out", str(one), *COMMON]
        )
        == 0
    )
    return two, one, first_files, proc.stdout


def test_two_processes_with_resume_equal_one_process(runs):
    two, one, _, _ = runs
    p2, p1 = _params(two), _params(one)
    assert p2.keys() == p1.keys() and p2
    for k in p1:
        torch.testing.assert_close(p2[k], p1[k], rtol=1e-5, atol=1e-6)
    m2, m1 = (json.loads((d / "metrics.json").read_text()) for d in (two, one))
    assert m2["steps"] == m1["steps"] == 6
    assert m2["test_mse"] == pytest.approx(m1["test_mse"], rel=1e-4)


def test_only_rank_0_writes_and_logs_each_step_once(runs):
    two, one, first_files, stdout = runs
    assert first_files == sorted(
        p.name for p in one.iterdir()
    )  # the same files as a single-process run
    train_steps = [
        r["step"]
        for r in map(json.loads, (two / "metrics.jsonl").read_text().splitlines())
        if r["kind"] == "train"
    ]
    assert train_steps == [1, 2, 3, 4, 5, 6]
    assert stdout.count("rnnkit: resuming sine") == 1 and "on 2 processes" in stdout
