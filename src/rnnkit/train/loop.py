"""The generic training loop: no argparse, no matplotlib, no task knowledge.

``fit`` drives any object with the :class:`Trainable` methods. It owns the learning-rate schedule,
gradient clipping, progress display, ``metrics.jsonl``/``metrics.json``, TensorBoard events and
checkpoints (every ``checkpoint_every`` steps, on Ctrl-C, and at the end), and resumes from the
last checkpoint so that a resumed run ends with exactly the numbers of an uninterrupted one (on CPU;
everything a step draws from is either a pure function of the step or saved in the checkpoint).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from . import rundir as rd
from .checkpoint import Checkpoint, save_checkpoint
from .dist import SingleProcess
from .precision import Precision
from .progress import Progress
from .schedule import lr_at


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left in place."""


class Trainable(Protocol):
    model: torch.nn.Module

    def train_loss(self, step: int) -> tuple[torch.Tensor, int]:
        """Loss of global step ``step`` (a scalar to minimise) and the number of examples it saw."""

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics (called under ``torch.no_grad()`` with the model in eval mode)."""

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Tensors besides model/optimizer/RNG a resumed run needs (e.g. a carried RNN state)."""

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None: ...


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


def _tb_writer(run_dir: Path, purge_step: int | None) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra
        return None
    return SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge_step)


@contextlib.contextmanager
def _calling(task: Any, train_model: torch.nn.Module) -> Iterator[None]:
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


class _SigintFlag:
    """First Ctrl-C: finish the current step, save, stop. Second Ctrl-C: the usual KeyboardInterrupt."""

    def __init__(self) -> None:
        self.raised = False
        self._old: Any = None  # the previous SIGINT handler

    def __enter__(self) -> _SigintFlag:
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


def fit(
    task: Trainable,
    optimizer: torch.optim.Optimizer,
    cfg: LoopConfig,
    run_dir: str | Path,
    resume: bool = False,
    dist: Any = None,
) -> dict[str, Any]:
    """Train ``task.model`` for ``cfg.max_steps`` steps; return (and write) the final metrics.

    Raises:
        TrainingDiverged: the loss became NaN/inf (the previous checkpoint is kept).
        KeyboardInterrupt: after Ctrl-C, once the checkpoint of the last finished step is written.
    """
    run_dir = Path(run_dir)
    dist = dist or SingleProcess()
    if dist.is_main:  # only rank 0 writes (see train/distributed.py)
        run_dir.mkdir(parents=True, exist_ok=True)
    model = task.model
    param = next(model.parameters(), None)
    prec = Precision(cfg.precision, param.device if param is not None else "cpu")
    ckpt = run_dir / rd.CHECKPOINT
    step = 0
    meta: dict[str, Any] = {"train_seconds": 0.0, "cpu_seconds": 0.0, "loss_sum": 0.0, "loss_n": 0}
    if resume:
        ck = Checkpoint(ckpt)
        ck.restore(model, optimizer)
        task.load_extra_state(ck.extra)
        step = ck.step
        meta.update(ck.meta)
        if dist.is_main:
            rd.truncate_jsonl(run_dir / rd.METRICS_LOG, step)
            rd.truncate_jsonl(run_dir / rd.SNAPSHOTS, step)
    seconds0, t0, examples = float(meta["train_seconds"]), time.perf_counter(), 0
    # CPU time of this process: on a shared machine it says what the run costs, whatever the load
    cpu0, c0 = float(meta.get("cpu_seconds", 0.0)), time.process_time()
    writer = (
        _tb_writer(run_dir, step if resume else None) if cfg.tensorboard and dist.is_main else None
    )
    progress = Progress(cfg.max_steps, step, cfg.log_every, tty=cfg.tty, quiet=not dist.is_main)

    def save(s: int) -> None:
        meta["train_seconds"] = seconds0 + time.perf_counter() - t0
        meta["cpu_seconds"] = cpu0 + time.process_time() - c0
        extra = task.extra_state()  # on every rank: a task may gather its ranks' rows here
        if dist.is_main:
            save_checkpoint(ckpt, model, optimizer, s, extra, meta)

    def evaluate(s: int) -> dict[str, Any]:
        was_training = model.training
        model.eval()
        with torch.no_grad(), prec.autocast():
            # every rank evaluates (its share); the metrics are averaged over ranks
            ev = {
                k: float(dist.mean(torch.as_tensor(float(v)))) for k, v in task.evaluate().items()
            }
            snap = task.snapshot(s) if hasattr(task, "snapshot") else None
        model.train(was_training)
        if dist.is_main:
            rd.append_jsonl(run_dir / rd.METRICS_LOG, {"kind": "eval", "step": s, **ev})
            if snap is not None:
                rd.append_jsonl(run_dir / rd.SNAPSHOTS, {"step": s, **snap})
            if writer is not None:
                for k, v in ev.items():
                    writer.add_scalar(f"eval/{k}", v, s)
        return ev

    if not resume:
        save(0)  # a "last good" checkpoint exists even if step 1 diverges
        if hasattr(task, "snapshot"):
            evaluate(0)
    train_model = dist.wrap_model(model)
    stopped_early, in_step, saved_at = False, False, -1
    try:
        with _SigintFlag() as sigint:
            while step < cfg.max_steps:
                lr = lr_at(step, cfg.lr, cfg.max_steps, cfg.schedule, cfg.warmup)
                for g in optimizer.param_groups:
                    g["lr"] = lr
                in_step = True
                train_model.train()
                with prec.autocast(), _calling(task, train_model):
                    loss, n = task.train_loss(step)
                value = float(dist.mean(loss.detach()))
                if not math.isfinite(value):
                    raise TrainingDiverged(
                        f"fit: the loss became {value} at step {step + 1}; training stopped. The last "
                        f"good checkpoint is kept in {ckpt}; lower the learning rate (--lr) and train again"
                    )
                optimizer.zero_grad(set_to_none=True)
                prec.backward(loss)  # with DDP: gradients averaged over ranks here
                if cfg.grad_clip:
                    prec.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                prec.step(optimizer)
                step += 1
                in_step = False
                examples += n * dist.world_size
                meta["loss_sum"] += value
                meta["loss_n"] += 1
                elapsed = time.perf_counter() - t0
                rate = examples / max(elapsed, 1e-9)
                progress.update(step, value, rate, lr)
                if step % cfg.log_every == 0 or step == cfg.max_steps:
                    mean = meta["loss_sum"] / meta["loss_n"]
                    rec = {
                        "kind": "train",
                        "step": step,
                        "loss": mean,
                        "lr": lr,
                        "examples_per_s": rate,
                        "elapsed_s": seconds0 + elapsed,
                    }
                    meta["loss_sum"], meta["loss_n"] = 0.0, 0
                    if dist.is_main:
                        rd.append_jsonl(run_dir / rd.METRICS_LOG, rec)
                        if writer is not None:
                            writer.add_scalar("train/loss", mean, step)
                            writer.add_scalar("train/lr", lr, step)
                if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.max_steps:
                    ev = evaluate(step)
                    progress.message(
                        f"step {step}: " + "  ".join(f"{k} {v:.4g}" for k, v in ev.items())
                    )
                    if cfg.stop_metric and ev.get(cfg.stop_metric, -math.inf) >= cfg.stop_at_least:
                        stopped_early = True
                        break
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    save(step)
                    saved_at = step
                if sigint.raised:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        if not in_step and saved_at != step:
            save(step)
        progress.message(f"interrupted: checkpoint of step {step} saved in {ckpt}")
        raise
    finally:
        progress.close()
        if writer is not None:
            writer.flush()
    meta["finished"] = True
    save(step)
    final = evaluate(step)
    result = {
        **final,
        "steps": step,
        "train_seconds": meta["train_seconds"],
        "cpu_seconds": meta["cpu_seconds"],
        "stopped_early": stopped_early,
    }
    if dist.is_main:
        rd.write_json(run_dir / rd.METRICS, result)
        if writer is not None:
            writer.close()
    return result
