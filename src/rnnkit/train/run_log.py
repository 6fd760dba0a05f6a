"""What a run reports while it trains: ``metrics.jsonl``, ``snapshots.jsonl``, TensorBoard and the progress display.

Only the process that writes the run directory (rank 0) reads, cuts back and writes the files, and only its
counters matter: rank 0 saves the checkpoints. ``counts`` is how many records each log file holds; a checkpoint
records it, and a resumed run cuts the files back to exactly that (see :func:`rnnkit.train.rundir.truncate_jsonl`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from . import rundir as rd
from .progress import Progress


def _tb_writer(run_dir: Path, purge_step: int | None) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra
        return None
    return SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge_step)


class Clock:
    """Training time across resumes: wall seconds and this process's CPU seconds, continued from ``meta``.

    CPU time says what a run costs on a shared machine, whatever the load.
    """

    def __init__(self, meta: dict[str, Any]) -> None:
        self.seconds0, self.t0 = float(meta["train_seconds"]), time.perf_counter()
        self.cpu0, self.c0 = float(meta.get("cpu_seconds", 0.0)), time.process_time()

    def since_start(self) -> float:
        """Wall seconds since this process started training."""
        return time.perf_counter() - self.t0

    def stamp(self, meta: dict[str, Any]) -> None:
        """Write the run's total wall and CPU seconds into ``meta``."""
        meta["train_seconds"] = self.seconds0 + self.since_start()
        meta["cpu_seconds"] = self.cpu0 + time.process_time() - self.c0


class RunLog:
    """The run's logs from step ``step`` on (``resume``: the files are first cut back to ``counts``).

    ``meta`` is the checkpoint's JSON meta: the running sum of losses since the last train record lives there, so a
    resumed run logs the same mean loss as an uninterrupted one.
    """

    def __init__(
        self,
        run_dir: Path,
        cfg: Any,
        step: int,
        meta: dict[str, Any],
        writes: bool,
        resume: bool,
    ) -> None:
        self.paths = {
            rd.METRICS_LOG: run_dir / rd.METRICS_LOG,
            rd.SNAPSHOTS: run_dir / rd.SNAPSHOTS,
        }
        self.meta, self.writes, self.cfg = meta, writes, cfg
        self.clock = Clock(meta)
        self.examples = 0  # seen by this process's run so far, over all ranks
        self.counts = dict.fromkeys(self.paths, 0)
        if writes:  # only rank 0 touches the files
            saved = meta.get("log_records", {})
            for name, path in self.paths.items():
                kept = rd.truncate_jsonl(path, step, saved.get(name)) if resume else None
                self.counts[name] = len(rd.read_jsonl(path)) if kept is None else kept
        tb = cfg.tensorboard and writes
        self.writer = _tb_writer(run_dir, step if resume else None) if tb else None
        self.progress = Progress(cfg.max_steps, step, cfg.log_every, tty=cfg.tty, quiet=not writes)

    def _append(self, name: str, record: dict[str, Any]) -> None:
        if self.writes:
            rd.append_jsonl(self.paths[name], record)
            self.counts[name] += 1

    def train(self, step: int, loss: float, examples: int, lr: float) -> None:
        """After optimizer step ``step``: progress; every ``log_every`` steps (and the last) a train record."""
        self.examples += examples
        self.meta["loss_sum"] += loss
        self.meta["loss_n"] += 1
        elapsed = self.clock.since_start()
        rate = self.examples / max(elapsed, 1e-9)
        self.progress.update(step, loss, rate, lr)
        if step % self.cfg.log_every and step != self.cfg.max_steps:
            return
        mean = self.meta["loss_sum"] / self.meta["loss_n"]
        self.meta["loss_sum"], self.meta["loss_n"] = 0.0, 0
        record = {"kind": "train", "step": step, "loss": mean, "lr": lr}
        record |= {"examples_per_s": rate, "elapsed_s": self.clock.seconds0 + elapsed}
        self._append(rd.METRICS_LOG, record)
        if self.writer is not None:
            self.writer.add_scalar("train/loss", mean, step)
            self.writer.add_scalar("train/lr", lr, step)

    def evaluation(self, step: int, metrics: dict[str, float], snapshot: dict | None) -> None:
        """An eval record (and the task's snapshot, if any) for step ``step``."""
        self._append(rd.METRICS_LOG, {"kind": "eval", "step": step, **metrics})
        if snapshot is not None:
            self._append(rd.SNAPSHOTS, {"step": step, **snapshot})
        if self.writer is not None:
            for k, v in metrics.items():
                self.writer.add_scalar(f"eval/{k}", v, step)

    def message(self, text: str) -> None:
        self.progress.message(text)

    def end_progress(self) -> None:
        """Close the progress display and flush TensorBoard (training is over, or was interrupted)."""
        self.progress.close()
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
