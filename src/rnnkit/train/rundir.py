"""The files of a run directory: ``config.json``, ``metrics.jsonl``, ``metrics.json``, checkpoints.

``metrics.jsonl`` has one JSON object per line: ``{"kind": "train", "step", "loss", "lr",
"examples_per_s", "elapsed_s"}`` every ``log_every`` steps and ``{"kind": "eval", "step", ...task
metrics}`` after each evaluation. ``snapshots.jsonl`` holds task-defined records for plots.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write_bytes

CONFIG = "config.json"
METRICS_LOG = "metrics.jsonl"
METRICS = "metrics.json"
SNAPSHOTS = "snapshots.jsonl"
CHECKPOINT = "checkpoint.safetensors"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def append_jsonl(path: str | os.PathLike, obj: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def truncate_jsonl(path: str | os.PathLike, max_step: int) -> None:
    """Drop the records written after ``max_step`` (they are re-created by a resumed run)."""
    p = Path(path)
    if p.is_file():
        keep = [r for r in read_jsonl(p) if r.get("step", 0) <= max_step]
        atomic_write_bytes(p, "".join(json.dumps(r) + "\n" for r in keep).encode())
