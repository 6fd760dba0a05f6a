"""The files of a run directory: ``config.json``, ``metrics.jsonl``, ``metrics.json``, checkpoints, the lock.

``metrics.jsonl`` has one JSON object per line: ``{"kind": "train", "step", "loss", "lr",
"examples_per_s", "elapsed_s"}`` every ``log_every`` steps and ``{"kind": "eval", "step", ...task
metrics}`` after each evaluation. ``snapshots.jsonl`` holds task-defined records for plots.

NOTE [run directory lock]: a process that writes a run directory holds an exclusive ``flock`` on
``.rnnkit.lock`` in it for as long as it writes (:func:`locked`), so a second ``rnnkit train --resume`` of a live
run is refused instead of rewriting its files. A new run directory is claimed by :func:`new_run_dir`: it must be
absent or empty (a directory holding anything else is a user's, and is refused untouched), and it is checked
again once the lock is held, so two processes given the same ``--out`` cannot both start a run in it. The lock
file stays behind (removing it would race with a process about to lock it); it holds the owner's pid.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write_bytes

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX (Windows): runs are not locked there
    fcntl = None  # type: ignore[assignment]

CONFIG = "config.json"
METRICS_LOG = "metrics.jsonl"
METRICS = "metrics.json"
SNAPSHOTS = "snapshots.jsonl"
CHECKPOINT = "checkpoint.safetensors"
LOCK = ".rnnkit.lock"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def append_jsonl(path: str | os.PathLike, obj: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


class RunFileError(ValueError):
    """A damaged file in a run directory (the CLI reports it in one line, exit code 2); names the file."""


class RunDirError(ValueError):
    """A run directory that may not be written now: a user's folder, a taken ``--out``, a run in use (one line)."""


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


def truncate_jsonl(path: str | os.PathLike, max_step: int, count: int | None = None) -> int:
    """Drop the records written after the checkpoint of ``max_step`` (a resumed run writes them again).

    ``count``: how many records the file held when that checkpoint was saved (recorded in it): exactly those are
    kept, which also drops an evaluation of step ``max_step`` written after its checkpoint. Without it (older
    checkpoints), the records of steps up to ``max_step`` are kept. Returns the number of records kept.
    """
    p = Path(path)
    if not p.is_file():
        return 0
    records = read_jsonl(p)
    keep = [r for r in records if r.get("step", 0) <= max_step]
    if count is not None:
        keep = records[:count]
    if len(keep) != len(records) or not p.read_bytes().endswith(b"\n"):
        atomic_write_bytes(p, "".join(json.dumps(r) + "\n" for r in keep).encode())
    return len(keep)


# flock belongs to an open file, not to a process: a second flock of the same file by this process (train_run,
# then fit) would conflict with itself, so the process counts how often it holds each run directory.
_HELD: dict[str, int] = {}


def _owner(lock_path: Path) -> str:
    try:
        pid = lock_path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def locked(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold the run directory's lock (see NOTE [run directory lock]); the directory is created if missing.

    Raises:
        RunDirError: another process holds it.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    key = str(run_dir.resolve())
    if key in _HELD or fcntl is None:
        _HELD[key] = _HELD.get(key, 0) + 1
        try:
            yield
        finally:
            _HELD[key] -= 1
            if not _HELD[key]:
                del _HELD[key]
        return
    lock_path = run_dir / LOCK
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirError(
                f"{run_dir} is in use by another rnnkit process{_owner(lock_path)}; wait until it ends "
                "(or stop it) and try again"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # closing the file releases the flock


def check_new_run_dir(run_dir: str | os.PathLike) -> None:
    """Refuse ``run_dir`` as the directory of a new run unless it is absent or empty; writes nothing.

    Raises:
        RunDirError: it holds a run (``config.json``), it is a file, or it holds anything else.
    """
    run_dir = Path(run_dir)
    if (run_dir / CONFIG).exists():
        raise RunDirError(
            f"{run_dir} already holds a run; continue it with rnnkit train --resume {run_dir} or pick "
            "another --out"
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir} is a file, not a directory; pick another --out")
    if run_dir.is_dir():
        other = sorted(p.name for p in run_dir.iterdir() if p.name != LOCK)
        if other:
            shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
            raise RunDirError(
                f"{run_dir} is not empty and holds no rnnkit run ({shown}); nothing was written to it; "
                "pick another --out (a new or empty directory)"
            )


@contextlib.contextmanager
def new_run_dir(run_dir: str | os.PathLike) -> Iterator[None]:
    """Claim ``run_dir`` for a new run: checked (:func:`check_new_run_dir`), created, locked, checked again.

    The second check runs under the lock, so of two processes given the same directory one gets it and the
    other is refused. If the body fails before it wrote ``config.json``, a directory this call created is removed.
    """
    run_dir = Path(run_dir)
    check_new_run_dir(run_dir)
    created = not run_dir.exists()
    with locked(run_dir):
        check_new_run_dir(run_dir)
        try:
            yield
        except BaseException:
            if created and not (run_dir / CONFIG).exists():
                (run_dir / LOCK).unlink(missing_ok=True)  # still ours: we hold it
                with contextlib.suppress(
                    OSError
                ):  # not empty: something else was written; leave it
                    run_dir.rmdir()
            raise
