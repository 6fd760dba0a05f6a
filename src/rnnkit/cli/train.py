"""``rnnkit train``: train a task with a preset, or resume a run."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ..train.distributed import setup_distributed
from ..train.precision import Precision
from ._common import UsageError, pick_device, read_config

HELP = "train a task (mnist, sine, series) and write a run directory"


def register(sub: Any) -> None:
    from ..tasks import TASKS

    p = sub.add_parser(
        "train",
        help=HELP,
        description=HELP + ". Settings: task defaults < --preset < options.",
        epilog="examples:\n  rnnkit train mnist\n  rnnkit train mnist --preset seed000 --out runs/s0\n"
        "  rnnkit train sine --max-steps 200\n  rnnkit train --resume runs/s0",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    g.add_argument("--max-steps", type=int, metavar="N", help="number of optimizer steps")
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
        "data_dir": args.data_dir,
        "precision": args.precision,
    }
    if args.device is not None:
        o["device"] = pick_device(args.device)
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        *parents, leaf = key.split(".")
        d: dict[str, Any] = o
        for k in parents:
            d = d.setdefault(k, {})
        d[leaf] = value
    return {k: v for k, v in o.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    from ..tasks import TASKS, ConfigError
    from ..train import rundir as rd

    if args.resume:
        given = [
            f"--{k.replace('_', '-')}"
            for k in ("preset", "epochs", "max_steps", "batch_size", "lr", "seed", "out")
            if getattr(args, k) is not None
        ]
        if given or args.set:
            raise UsageError(
                f"--resume takes every setting from RUN_DIR/config.json; drop {' '.join(given) or '--set'}"
            )
        run_dir = Path(args.resume)
        cfg = read_config(run_dir)
        if args.task and args.task != cfg["task"]:
            raise UsageError(f"{run_dir} is a {cfg['task']} run, not {args.task}")
        if not (run_dir / rd.CHECKPOINT).is_file():
            raise UsageError(
                f"{run_dir} has no checkpoint to resume from (it stopped before its first save); "
                "remove the directory and train again"
            )
        if args.device is not None:
            cfg["device"] = pick_device(args.device)
        if args.data_dir:
            cfg["data_dir"] = args.data_dir
        if args.precision:
            cfg["precision"] = args.precision
    else:
        if not args.task:
            raise UsageError("give a task (mnist, sine, series) or --resume RUN_DIR")
        preset = args.preset or "default"
        try:
            cfg = TASKS[args.task].resolve_config(preset, _overrides(args))
        except ConfigError as e:
            raise UsageError(str(e)) from None
        run_dir = Path(args.out or f"runs/{args.task}-{preset}-{time.strftime('%Y%m%d-%H%M%S')}")
        if (run_dir / rd.CONFIG).exists():
            raise UsageError(
                f"{run_dir} already holds a run; continue it with --resume {run_dir} or pick another --out"
            )
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
        return train_run(cfg, run_dir, resume=bool(args.resume), plots=not args.no_plots, dist=dist)
    finally:
        if dist is not None:
            dist.close()


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
    from ..train import SingleProcess, TrainingDiverged, fit
    from ..train import rundir as rd

    main = dist is None or dist.is_main
    task_cfg = (
        dict(cfg, device=str(dist.device)) if dist is not None else cfg
    )  # cuda -> cuda:LOCAL_RANK
    try:
        task = TASKS[cfg["task"]](task_cfg)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    if dist is not None:
        dist.barrier()  # every rank has checked the run directory before rank 0 writes into it
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            rd.write_json(run_dir / rd.CONFIG, cfg)
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
