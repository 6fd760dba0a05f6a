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


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _record_problem(rec: Any, lists: tuple[str, ...]) -> str | None:
    """What is wrong with one record, or None: an object with an integer ``step``; a metrics record (with a
    ``kind``) is train (numbers ``loss``, ``lr``) or eval (numbers); ``lists`` name keys holding lists of
    numbers."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {json.dumps(rec)[:40]}"
    step = rec.get("step")
    if not (isinstance(step, int) and not isinstance(step, bool) and step >= 0):
        return f"expected an integer step >= 0, got {json.dumps(step)[:40]}"
    kind = rec.get("kind")
    if kind == "train":
        for key in ("loss", "lr"):
            if not _number(rec.get(key)):
                return f"expected a number {key} in a train record, got {json.dumps(rec.get(key))[:40]}"
    elif kind == "eval":
        bad = [k for k, v in rec.items() if k not in ("kind", "step") and not _number(v)]
        if bad:
            return (
                f"expected numbers in an eval record, got {bad[0]}={json.dumps(rec[bad[0]])[:40]}"
            )
    elif "kind" in rec:
        return f"expected kind train or eval, got {json.dumps(kind)[:40]}"
    for key in lists:
        v = rec.get(key)
        if not (isinstance(v, list) and v and all(_number(x) for x in v)):
            return f"expected a non-empty list of numbers {key}, got {json.dumps(v)[:40]}"
    if len({len(rec[key]) for key in lists}) > 1:
        return (
            f"expected lists {', '.join(lists)} of one length, got {[len(rec[k]) for k in lists]}"
        )
    return None


def read_jsonl(path: str | os.PathLike, lists: tuple[str, ...] = ()) -> list[dict]:
    """The records of a JSON-lines file ([] when it does not exist).

    A last line without its newline that is not valid JSON (or UTF-8) is what a process killed in the middle of
    ``append_jsonl`` leaves behind: it is dropped (a resumed run writes that record again). Any other line that is
    not a valid record (see ``_record_problem``; ``lists``: keys every record must hold as lists of numbers)
    raises :class:`RunFileError` naming the file and the line.
    """
    p = Path(path)
    if not p.is_file():
        return []
    data = p.read_bytes()
    lines = data.split(b"\n")
    records = []
    for number, raw in enumerate(lines, 1):
        torn = number == len(lines) and not data.endswith(b"\n")
        try:
            line = raw.decode("utf-8")
            if not line.strip():
                continue
            rec = json.loads(line)
        except UnicodeDecodeError:
            if torn:
                break
            raise RunFileError(f"{p}: line {number} is not UTF-8 text") from None
        except ValueError as e:
            if torn:
                break
            raise RunFileError(f"{p}: line {number} is not JSON ({e})") from None
        problem = _record_problem(rec, lists)
        if problem is not None:
            raise RunFileError(f"{p}: line {number}: {problem}")
        records.append(rec)
    return records


def truncate_jsonl(path: str | os.PathLike, max_step: int) -> None:
    """Drop the records written after ``max_step`` (they are re-created by a resumed run)."""
    p = Path(path)
    if p.is_file():
        keep = [r for r in read_jsonl(p) if r["step"] <= max_step]
        atomic_write_bytes(p, "".join(json.dumps(r) + "\n" for r in keep).encode())
