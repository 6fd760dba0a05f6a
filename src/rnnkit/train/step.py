"""The pieces of one training run that touch the model: an optimizer step, an evaluation, Ctrl-C, early stop."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from .precision import Precision
from .process_group import ProcessGroup

if TYPE_CHECKING:
    from .loop import LoopConfig, Trainable


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left in place."""


@contextlib.contextmanager
def _calling(task: Trainable, train_model: torch.nn.Module) -> Iterator[None]:
    """Let ``task.train_loss`` call ``train_model`` (the DDP wrapper) as ``task.model``.

    DDP averages gradients only for forward passes made through the wrapper, while tasks call ``self.model``;
    outside the training step (evaluation, checkpoints, plots) ``task.model`` is the plain module again.
    """
    if train_model is task.model:
        yield
        return
    model, task.model = task.model, train_model
    try:
        yield
    finally:
        task.model = model


def train_step(
    task: Trainable,
    train_model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    prec: Precision,
    group: ProcessGroup,
    step: int,
    lr: float,
    grad_clip: float | None,
) -> tuple[float, int]:
    """Optimizer step ``step`` (0-based) at learning rate ``lr``: returns (loss averaged over ranks, examples).

    The gradient of ``task.train_loss(step)`` (averaged over ranks by DDP in ``backward``), clipped to a global
    norm of ``grad_clip`` when set, then the optimizer's update; under ``prec``'s autocast and loss scaling.

    Raises:
        TrainingDiverged: the loss is NaN or infinite (checked before any parameter changes).
    """
    for g in optimizer.param_groups:
        g["lr"] = lr
    train_model.train()
    with prec.autocast(), _calling(task, train_model):
        loss, n = task.train_loss(step)
    value = float(group.mean(loss.detach()))
    if not math.isfinite(value):
        raise TrainingDiverged(f"fit: the loss became {value} at step {step + 1}; training stopped")
    optimizer.zero_grad(set_to_none=True)
    prec.backward(loss)
    if grad_clip:
        prec.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(task.model.parameters(), grad_clip)
    prec.step(optimizer)
    return value, n


@contextlib.contextmanager
def _evaluating(model: torch.nn.Module, prec: Precision) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), prec.autocast():
            yield
    finally:
        model.train(was_training)


def _metrics(task: Trainable, group: ProcessGroup) -> dict[str, float]:
    # Every rank evaluates its share; the metrics are averaged over ranks. float64: a float32 round trip would
    # print 0.9299 as 0.9298999905586243.
    return {
        k: float(group.mean(torch.as_tensor(float(v), dtype=torch.float64)))
        for k, v in task.evaluate().items()
    }


def evaluate(
    task: Trainable, prec: Precision, group: ProcessGroup, step: int
) -> tuple[dict[str, float], dict[str, Any] | None]:
    """``(metrics, snapshot)`` of the model after step ``step``: ``task.evaluate()`` then ``task.snapshot(step)``,
    in eval mode, without gradients, under ``prec``'s autocast."""
    with _evaluating(task.model, prec):
        return _metrics(task, group), task.snapshot(step)


def initial_evaluation(
    task: Trainable, prec: Precision, group: ProcessGroup
) -> tuple[dict[str, float], dict[str, Any]] | None:
    """The step-0 evaluation of a task that takes snapshots (the first frame of its figure); None for others.

    The snapshot is asked first so that a task without snapshots costs no evaluation here (MNIST's is seconds).
    """
    with _evaluating(task.model, prec):
        snapshot = task.snapshot(0)
        return None if snapshot is None else (_metrics(task, group), snapshot)


def stop_reached(cfg: LoopConfig, metrics: dict[str, float]) -> bool:
    """Early stop: the metric ``cfg.stop_metric`` reached ``cfg.stop_at_least`` (seed 003's "save at 0.90")."""
    if not cfg.stop_metric or cfg.stop_at_least is None:
        return False
    return metrics.get(cfg.stop_metric, -math.inf) >= cfg.stop_at_least


class SigintFlag:
    """First Ctrl-C: finish the current step, save, stop. Second Ctrl-C: the usual KeyboardInterrupt."""

    def __init__(self) -> None:
        self.raised = False
        self._old: Any = None  # the previous SIGINT handler

    def __enter__(self) -> SigintFlag:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
