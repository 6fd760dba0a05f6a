"""``rnnkit train``: train a task with a preset, or resume a run."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..train.distributed import setup_distributed
from ..train.precision import Precision
from ._common import UsageError, absolute, add_command, parse_sets, pick_device, read_config

HELP = "train a task (mnist, sine, series) and write a run directory"


def register(sub: Any) -> None:
    from ..tasks import TASKS

    p = add_command(
        sub,
        "train",
        HELP,
        ". Settings: task defaults < --preset < options.",
        examples=(
            "rnnkit train mnist",
            "rnnkit train mnist --preset seed000 --out runs/s0",
            "rnnkit train sine --max-steps 200",
            "rnnkit train --resume runs/s0",
            "rnnkit train --resume runs/s0 --max-steps 5000   # a finished run, trained on to 5000 steps",
        ),
        epilog="--out must be a new or empty directory. --resume continues from the last checkpoint; a finished run\n"
        "is left as it is (exit 0) unless --max-steps asks for more steps. --device, --data-dir, --precision\n"
        "and --max-steps given with --resume are recorded in RUN_DIR/config.json.",
    )
    p.add_argument(
        "task", nargs="?", choices=sorted(TASKS), help="what to train (omit with --resume)"
    )
    p.add_argument(
        "--preset", default=None, help="named settings (see rnnkit presets); default: default"
    )
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default runs/TASK-PRESET-TIME)")
    p.add_argument("--data-dir", metavar="DIR", help="directory with the four MNIST IDX .gz files")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=int, metavar="N", help="passes over the training data (mnist)")
    g.add_argument(
        "--max-steps",
        type=int,
        metavar="N",
        help="number of optimizer steps; with --resume: train the run on to N steps (also a finished one)",
    )
    p.add_argument("--batch-size", type=int, metavar="N")
    p.add_argument("--lr", type=float, metavar="X", help="(peak) learning rate")
    p.add_argument("--seed", type=int, metavar="N", help="random seed; CPU runs repeat exactly")
    p.add_argument("--device", metavar="cpu|cuda", help="where to train (default cpu)")
    p.add_argument(
        "--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key (VALUE is JSON; a.b=V sets a nested key), repeatable",
    )
    p.add_argument(
        "--precision",
        choices=["32", "bf16", "16-mixed"],
        help="32 (default); bf16: bfloat16 autocast (CPU or CUDA); 16-mixed: float16 + grad scaler (CUDA)",
    )
    p.add_argument("--no-plots", action="store_true", help="do not draw the figures at the end")
    p.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    o = {
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "data_dir": absolute(args.data_dir),
        "precision": args.precision,
    }
    if args.device is not None:
        o["device"] = pick_device(args.device)
    parse_sets(args.set, o)
    return {k: v for k, v in o.items() if v is not None}


def _resume_config(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The run directory and configuration of ``--resume``, with the overrides a resume accepts applied.

    ``--device``, ``--data-dir``, ``--precision`` and ``--max-steps`` (more steps than the run has: it trains on)
    are the run's settings from now on, so they are recorded in its config.json; any other setting is refused.
    """
    given = [
        f"--{k.replace('_', '-')}"
        for k in ("preset", "epochs", "batch_size", "lr", "seed", "out")
        if getattr(args, k) is not None
    ]
    if given or args.set:
        raise UsageError(
            "--resume takes every setting from RUN_DIR/config.json but --device, --data-dir, --precision and "
            f"--max-steps; drop {' '.join(given) or '--set'}"
        )
    run_dir = Path(args.resume)
    cfg = read_config(run_dir)
    if args.task and args.task != cfg["task"]:
        raise UsageError(f"{run_dir} is a {cfg['task']} run, not {args.task}")
    if args.max_steps is not None:
        if args.max_steps <= cfg["max_steps"]:
            raise UsageError(
                f"--max-steps with --resume trains a run longer: expected more than its {cfg['max_steps']} "
                f"steps, got {args.max_steps}"
            )
        cfg["max_steps"], cfg["epochs"] = args.max_steps, None
    if args.device is not None:
        cfg["device"] = pick_device(args.device)
    if args.data_dir:
        cfg["data_dir"] = absolute(args.data_dir)
    if args.precision:
        cfg["precision"] = args.precision
    return run_dir, cfg


def _already_finished(run_dir: Path, cfg: dict[str, Any]) -> bool:
    """Say so and return True when the run in ``run_dir`` finished (NOTE [finished runs] in train/run_state.py)."""
    from ..train import rundir as rd
    from ..train.run_state import finished_metrics
    from ._sources import model_of_run

    if not (run_dir / rd.CHECKPOINT).is_file():
        return False
    done = finished_metrics(run_dir, cfg["max_steps"])
    if done is None:
        return False
    model_of_run(
        run_dir
    )  # a config.json edited since no longer fits the checkpoint: say so (exit 2)
    how = "stopped early" if done.get("stopped_early") else "finished"
    print(
        f"rnnkit train: {run_dir} already {how} at step {done['steps']}; nothing changed (to train it "
        f"longer: rnnkit train --resume {run_dir} --max-steps N, N > {cfg['max_steps']})",
        flush=True,
    )
    return True


def run(args: argparse.Namespace) -> int:
    from ..tasks import TASKS, ConfigError
    from ..train import rundir as rd

    if args.resume:
        run_dir, cfg = _resume_config(args)
        if _already_finished(run_dir, cfg):
            return 0
    else:
        if not args.task:
            raise UsageError("give a task (mnist, sine, series) or --resume RUN_DIR")
        preset = args.preset or "default"
        try:
            cfg = TASKS[args.task].resolve_config(preset, _overrides(args))
        except ConfigError as e:
            raise UsageError(str(e)) from None
        run_dir = Path(args.out or f"runs/{args.task}-{preset}-{time.strftime('%Y%m%d-%H%M%S')}")
        rd.check_new_run_dir(run_dir)  # early, for a quick answer; train_run claims it atomically
    try:
        Precision(cfg.get("precision", "32"), cfg["device"])
    except ValueError as e:
        raise UsageError(str(e).removeprefix("Precision: ")) from None
    pick_device(cfg["device"])  # one torch can see (its spelling is checked with the settings)
    # Started by torchrun with several processes: join them (gloo on CPU, nccl on CUDA).
    dist = setup_distributed(cfg["device"])
    try:
        if dist is not None:
            run_dir = Path(dist.broadcast_object(str(run_dir)))  # rank 0's default name (its clock)
        code = train_run(cfg, run_dir, resume=bool(args.resume), plots=not args.no_plots, dist=dist)
        if dist is not None:
            # Every rank ends together: rank 0 still writes plots and prints while the others are done, and a
            # rank that tore its gloo group down and exited first was aborted at exit now and then
            # (Distributed.close).
            dist.barrier()
        return code
    finally:
        if dist is not None:
            dist.close()


@contextlib.contextmanager
def _claim(run_dir: Path, cfg: dict[str, Any], resume: bool) -> Iterator[bool]:
    """Hold ``run_dir`` (rank 0) and write its config.json; yields whether the run restarts from step 0.

    A new run claims a new or empty directory (train/rundir.py). A resumed run records the settings it runs with
    now. A run killed before its first checkpoint (only config.json, nothing logged past step 0) restarts.
    """
    from ..train import rundir as rd

    if not resume:
        with rd.new_run_dir(run_dir):
            rd.write_json(run_dir / rd.CONFIG, cfg)
            yield False
        return
    with rd.locked(run_dir):
        restart = not (run_dir / rd.CHECKPOINT).is_file()
        if restart:
            last = max(
                (r.get("step", 0) for r in rd.read_jsonl(run_dir / rd.METRICS_LOG)), default=0
            )
            if last > 0 or (run_dir / rd.METRICS).exists():
                raise UsageError(
                    f"{run_dir} has no checkpoint to resume from, but it has trained (logs to step {last}); "
                    "remove the directory and train again"
                )
            print(
                f"rnnkit: {run_dir} has no checkpoint yet (stopped before its first save)",
                flush=True,
            )
            for name in (rd.METRICS_LOG, rd.SNAPSHOTS):
                rd.truncate_jsonl(run_dir / name, 0, 0)
        if cfg != rd.read_json(run_dir / rd.CONFIG):
            rd.write_json(run_dir / rd.CONFIG, cfg)
        yield restart


def train_run(
    cfg: dict[str, Any],
    run_dir: Path,
    resume: bool = False,
    plots: bool = True,
    tty: bool | None = None,
    dist: Any = None,
) -> int:
    """Build the task, train (or resume), draw the plots, print the final metrics.

    With ``dist`` (a :class:`rnnkit.train.distributed.Distributed`), every process trains its share and only
    rank 0 writes the run directory and prints.
    """
    from ..tasks import TASKS, ConfigError

    main = dist is None or dist.is_main
    task_cfg = (
        dict(cfg, device=str(dist.device)) if dist is not None else cfg
    )  # cuda -> cuda:LOCAL_RANK
    try:
        task = TASKS[cfg["task"]](task_cfg)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    if resume:
        _check_resumable(task, run_dir)  # before config.json records this resume's overrides
    if dist is not None:
        dist.barrier()  # every rank has checked the run directory before rank 0 writes into it
    with contextlib.ExitStack() as held:
        restart = False
        if main:
            restart = held.enter_context(_claim(run_dir, cfg, resume))
        if dist is not None:
            restart = bool(dist.broadcast_object(restart))
        return _train_and_report(task, cfg, run_dir, resume and not restart, plots, tty, dist)


def _check_resumable(task: Any, run_dir: Path) -> None:
    """Raise the one-line error ``fit`` would raise on resuming ``run_dir``, before anything is written: a
    checkpoint that does not fit the task (model, optimizer state, random-number state, carried state) or a
    damaged line in the logs. Everything restored here is restored again by ``fit``."""
    from ..train import Checkpoint
    from ..train import rundir as rd

    if (run_dir / rd.CHECKPOINT).is_file():
        ck = Checkpoint(run_dir / rd.CHECKPOINT)
        ck.restore(task.model, task.make_optimizer())
        task.load_extra_state(ck.extra)
    for name in (rd.METRICS_LOG, rd.SNAPSHOTS):
        rd.read_jsonl(run_dir / name)


def _train_and_report(
    task: Any,
    cfg: dict[str, Any],
    run_dir: Path,
    resume: bool,
    plots: bool,
    tty: bool | None,
    dist: Any,
) -> int:
    from ..train import SingleProcess, TrainingDiverged, fit

    main = dist is None or dist.is_main
    if main:
        procs = f" on {dist.world_size} processes" if dist is not None else ""
        print(
            f"rnnkit: {'resuming' if resume else 'training'} {cfg['task']} (preset {cfg['preset']}) "
            f"for {cfg['max_steps']} steps{procs} in {run_dir}",
            flush=True,
        )
    try:
        metrics = fit(
            task,
            task.make_optimizer(),
            task.loop_config(tty=tty),
            run_dir,
            resume=resume,
            dist=dist or SingleProcess(),
        )
    except TrainingDiverged as e:
        print(f"rnnkit train: {e}", flush=True)
        return 1
    except KeyboardInterrupt:
        if main:
            print(
                f"rnnkit train: interrupted; continue with: rnnkit train --resume {run_dir}",
                flush=True,
            )
        return 130
    if not main:
        return 0
    if plots:
        files = task.make_plots(run_dir)
        print("plots: " + ", ".join(str(f.name) for f in files))
    print(json.dumps(metrics, indent=2))
    return 0
