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


class RunFileError(ValueError):
    """A damaged file in a run directory (the CLI reports it in one line, exit code 2); names the file."""


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The records of a JSON-lines file ([] when it does not exist).

    A last line without its newline that is not valid JSON is what a process killed in the middle of
    ``append_jsonl`` leaves behind: it is dropped (a resumed run writes that record again). Any other line that
    is not JSON raises :class:`RunFileError` naming the file and the line.
    """
    p = Path(path)
    if not p.is_file():
        return []
    text = p.read_text()
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as e:
            torn = number == len(lines) and not text.endswith("\n")
            if torn:
                break
            raise RunFileError(f"{p}: line {number} is not JSON ({e})") from None
    return records


def truncate_jsonl(path: str | os.PathLike, max_step: int) -> None:
    """Drop the records written after ``max_step`` (they are re-created by a resumed run)."""
    p = Path(path)
    if p.is_file():
        keep = [r for r in read_jsonl(p) if r.get("step", 0) <= max_step]
        atomic_write_bytes(p, "".join(json.dumps(r) + "\n" for r in keep).encode())
