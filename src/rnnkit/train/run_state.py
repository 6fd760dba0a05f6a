"""A run's checkpoint seen from the loop: what it restores, what it saves, and whether the run is finished.

The checkpoint's JSON ``meta`` carries the loop's counters besides the tensors: ``train_seconds``/``cpu_seconds``,
``loss_sum``/``loss_n`` (the mean loss of the next train record), ``log_records`` (how many records each log file
held when it was saved) and, in the final checkpoint, ``finished``, ``stopped_early`` and ``max_steps``.

NOTE [finished runs]: the final checkpoint is saved (marked finished) before the final evaluation, and
``metrics.json`` is written last. So a run whose final checkpoint says finished and whose ``metrics.json`` names its
step is complete, and resuming it changes nothing (:func:`finished_metrics`); one killed in between resumes by
cutting its logs back to the final checkpoint's ``log_records`` and evaluating again, which gives the records and
``metrics.json`` of an uninterrupted run. Asking for more steps than the finished run had (a larger ``max_steps``)
continues it instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from . import rundir as rd
from .checkpoint import Checkpoint, save_checkpoint
from .process_group import ProcessGroup


def fresh_meta() -> dict[str, Any]:
    """The loop counters of a run at step 0 (``rnnkit import-tf`` writes them too)."""
    return {"train_seconds": 0.0, "cpu_seconds": 0.0, "loss_sum": 0.0, "loss_n": 0}


def is_finished(meta: dict[str, Any], step: int, max_steps: int) -> bool:
    """Whether a checkpoint with ``meta`` at ``step`` ends a run that is asked to reach ``max_steps``."""
    return bool(meta.get("finished")) and max_steps <= int(meta.get("max_steps", step))


def finished_metrics(run_dir: str | Path, max_steps: int) -> dict[str, Any] | None:
    """The metrics of a run that finished completely (NOTE [finished runs]), else None (there is more to do).

    ``max_steps``: the steps the run is asked for now; more than the finished run had means "train on" (None).
    """
    run_dir = Path(run_dir)
    ckpt, metrics = run_dir / rd.CHECKPOINT, run_dir / rd.METRICS
    if not ckpt.is_file() or not metrics.is_file():
        return None
    ck = Checkpoint(ckpt)
    if not is_finished(ck.meta, ck.step, max_steps):
        return None
    try:
        done = rd.read_json(metrics)
    except (ValueError, UnicodeDecodeError):  # damaged: the final evaluation writes it again
        return None
    return done if isinstance(done, dict) and done.get("steps") == ck.step else None


class RunState:
    """Saves and restores the checkpoint of ``task``'s run; ``meta`` holds the loop counters (module docstring)."""

    def __init__(
        self, task: Any, optimizer: torch.optim.Optimizer, run_dir: Path, group: ProcessGroup
    ) -> None:
        self.task, self.optimizer, self.group = task, optimizer, group
        self.path = run_dir / rd.CHECKPOINT
        self.meta: dict[str, Any] = fresh_meta()

    def restore(self, max_steps: int) -> int:
        """Load the checkpoint into model, optimizer, RNGs and task; return its step.

        A finished run asked for more steps than it had (``max_steps``) is no longer finished.
        """
        ck = Checkpoint(self.path)
        ck.restore(self.task.model, self.optimizer)
        self.task.load_extra_state(ck.extra)
        self.meta.update(ck.meta)
        if self.meta.get("finished") and not is_finished(self.meta, ck.step, max_steps):
            for key in ("finished", "stopped_early", "max_steps"):
                self.meta.pop(key, None)
            self.meta.pop(
                "log_records", None
            )  # keep the records of the first part, its final eval included
            if self.group.is_main:
                (self.path.parent / rd.METRICS).unlink(
                    missing_ok=True
                )  # it described the shorter run
        return ck.step

    @property
    def finished(self) -> bool:
        return bool(self.meta.get("finished"))

    def save(self, step: int, clock: Any, log_records: dict[str, int]) -> None:
        """Checkpoint step ``step`` (every rank calls it: a task may gather its ranks' state; rank 0 writes)."""
        clock.stamp(self.meta)
        self.meta["log_records"] = dict(log_records)
        extra = self.task.extra_state()
        if self.group.is_main:
            save_checkpoint(self.path, self.task.model, self.optimizer, step, extra, self.meta)

    def mark_finished(self, stopped_early: bool, max_steps: int) -> None:
        self.meta.update(finished=True, stopped_early=stopped_early, max_steps=max_steps)
