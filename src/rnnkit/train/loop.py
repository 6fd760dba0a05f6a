"""The generic training loop: no argparse, no matplotlib, no task knowledge.

``fit`` drives any object with the :class:`Trainable` methods. It owns the learning-rate schedule,
gradient clipping, progress display, ``metrics.jsonl``/``metrics.json``, TensorBoard events and
checkpoints (every ``checkpoint_every`` steps, on Ctrl-C, and at the end), and resumes from the
last checkpoint so that a resumed run ends with exactly the numbers of an uninterrupted one (on CPU;
everything a step draws from is either a pure function of the step or saved in the checkpoint).

The pieces: :mod:`.step` (one optimizer step, an evaluation, Ctrl-C, early stop), :mod:`.run_log` (logs,
TensorBoard, progress), :mod:`.run_state` (checkpoints, finished runs), :mod:`.rundir` (files, the lock).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from . import rundir as rd
from .precision import Precision
from .process_group import ProcessGroup, SingleProcess
from .run_log import RunLog
from .run_state import RunState, finished_metrics
from .schedule import lr_at
from .step import (
    SigintFlag,
    TrainingDiverged,
    evaluate,
    initial_evaluation,
    stop_reached,
    train_step,
)

__all__ = ["LoopConfig", "Trainable", "TrainingDiverged", "fit"]


class Trainable(Protocol):
    """What ``fit`` asks of a task. A class may subclass it to inherit the optional hooks' defaults."""

    model: torch.nn.Module

    def train_loss(self, step: int) -> tuple[torch.Tensor, int]:
        """Loss of global step ``step`` (a scalar to minimise) and the number of examples it saw."""
        ...

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics (called under ``torch.no_grad()`` with the model in eval mode)."""
        ...

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Optional: tensors besides model/optimizer/RNG a resumed run needs (e.g. a carried RNN state)."""
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        """Optional: take back what :meth:`extra_state` returned."""
        return None

    def snapshot(self, step: int) -> dict[str, Any] | None:
        """Optional: a JSON-able record for ``snapshots.jsonl`` after each evaluation (e.g. a figure's frame).

        None (the default): the task takes no snapshots. A task that does is also evaluated at step 0.
        """
        return None


@dataclass
class LoopConfig:
    max_steps: int
    lr: float
    schedule: str = "constant"
    warmup: float = 0.0
    grad_clip: float | None = None
    log_every: int = 50
    eval_every: int = 0  # 0: evaluate only at the end
    checkpoint_every: int = 500
    stop_metric: str | None = None  # stop early once this eval metric ...
    stop_at_least: float | None = None  # ... reaches this value (seed 003's "save at 0.90")
    tensorboard: bool = True
    tty: bool | None = None  # None: tqdm when stderr is a terminal
    precision: str = "32"  # "32", "bf16" or "16-mixed" (see train/precision.py)


@dataclass
class _Run:
    """Everything the phases of ``fit`` share."""

    task: Trainable
    optimizer: torch.optim.Optimizer
    cfg: LoopConfig
    group: ProcessGroup
    prec: Precision
    state: RunState
    log: RunLog

    def save(self, step: int) -> None:
        self.state.save(step, self.log.clock, self.log.counts)

    def evaluate(self, step: int, logged: bool = True) -> dict[str, float]:
        metrics, snapshot = evaluate(self.task, self.prec, self.group, step)
        if logged:
            self.log.evaluation(step, metrics, snapshot)
        return metrics


def fit(
    task: Trainable,
    optimizer: torch.optim.Optimizer,
    cfg: LoopConfig,
    run_dir: str | Path,
    resume: bool = False,
    dist: ProcessGroup | None = None,
) -> dict[str, Any]:
    """Train ``task.model`` for ``cfg.max_steps`` steps; return (and write) the final metrics.

    Rank 0 holds the run directory's lock meanwhile (NOTE [run directory lock] in train/rundir.py). ``resume``
    continues from the checkpoint; a run that already finished is left as it is and its metrics are returned
    (NOTE [finished runs] in train/run_state.py).

    Raises:
        TrainingDiverged: the loss became NaN/inf (the previous checkpoint is kept).
        KeyboardInterrupt: after Ctrl-C, once the checkpoint of the last finished step is written.
        rnnkit.train.rundir.RunDirError: another process holds the run directory.
    """
    run_dir, group = Path(run_dir), dist or SingleProcess()
    with rd.locked(run_dir) if group.is_main else contextlib.nullcontext():
        if resume and (done := finished_metrics(run_dir, cfg.max_steps)) is not None:
            return done
        param = next(task.model.parameters(), None)
        prec = Precision(cfg.precision, param.device if param is not None else "cpu")
        state = RunState(task, optimizer, run_dir, group)
        step = state.restore(cfg.max_steps) if resume else 0
        log = RunLog(run_dir, cfg, step, state.meta, writes=group.is_main, resume=resume)
        run = _Run(task, optimizer, cfg, group, prec, state, log)
        try:
            return _phases(run, step, resume)
        finally:
            log.close()


def _phases(run: _Run, step: int, resume: bool) -> dict[str, Any]:
    if not resume:
        run.save(0)  # a "last good" checkpoint exists even if step 1 diverges
    if step == 0 and (first := initial_evaluation(run.task, run.prec, run.group)) is not None:
        run.log.evaluation(0, *first)
    stop_metrics = None
    try:
        if (
            not run.state.finished
        ):  # else: killed during the final evaluation, only that is left to do
            step, stop_metrics = _train(run, step)
    finally:
        run.log.end_progress()
    return _finish(run, step, stop_metrics)


def _train(run: _Run, step: int) -> tuple[int, dict[str, float] | None]:
    """Steps until ``max_steps``, an early stop, Ctrl-C or divergence; returns (step, metrics of the stop or None)."""
    cfg, train_model = run.cfg, run.group.wrap_model(run.task.model)
    in_step, saved_at = False, -1
    try:
        with SigintFlag() as sigint:
            while step < cfg.max_steps:
                lr = lr_at(step, cfg.lr, cfg.max_steps, cfg.schedule, cfg.warmup)
                in_step = True
                value, n = train_step(
                    run.task,
                    train_model,
                    run.optimizer,
                    run.prec,
                    run.group,
                    step,
                    lr,
                    cfg.grad_clip,
                )
                step, in_step = step + 1, False
                run.log.train(step, value, n * run.group.world_size, lr)
                if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.max_steps:
                    metrics = run.evaluate(step)
                    run.log.message(
                        f"step {step}: " + "  ".join(f"{k} {v:.4g}" for k, v in metrics.items())
                    )
                    if stop_reached(cfg, metrics):
                        return step, metrics
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    run.save(step)
                    saved_at = step
                if sigint.raised:
                    raise KeyboardInterrupt
    except TrainingDiverged as e:
        raise TrainingDiverged(
            f"{e}. The last good checkpoint is kept in {run.state.path}; lower the learning rate (--lr) "
            "and train again"
        ) from None
    except KeyboardInterrupt:
        if not in_step and saved_at != step:
            run.save(step)
        run.log.message(f"interrupted: checkpoint of step {step} saved in {run.state.path}")
        raise
    return step, None


def _finish(run: _Run, step: int, stop_metrics: dict[str, float] | None) -> dict[str, Any]:
    """The final checkpoint (marked finished), the final evaluation, ``metrics.json``.

    An early stop's evaluation is the final one (logged once). A run resumed after a kill in here has its
    final checkpoint already and evaluates again (see NOTE [finished runs] in train/run_state.py).
    """
    state = run.state
    if not state.finished:
        state.mark_finished(stop_metrics is not None, run.cfg.max_steps)
        run.save(step)
    stopped = bool(state.meta["stopped_early"])
    final = stop_metrics or run.evaluate(step, logged=not stopped)
    result = {
        **final,
        "steps": step,
        "train_seconds": state.meta["train_seconds"],
        "cpu_seconds": state.meta["cpu_seconds"],
        "stopped_early": stopped,
    }
    if run.group.is_main:
        rd.write_json(run.state.path.parent / rd.METRICS, result)
    return result
