"""``rnnkit import-tf CKPT --task T --out RUN_DIR``: a checkpoint saved by a seed program becomes a run directory.

The run directory is an ordinary one (config.json + checkpoint.safetensors at step 0), so ``rnnkit evaluate``,
``predict``, ``plot``, ``inspect``, ``convert`` and ``train --resume`` (fine-tuning: fresh Adam state) work on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import UsageError, absolute, add_command, parse_sets

HELP = (
    "turn a TF checkpoint saved by a seed program into a run directory (then evaluate / predict it)"
)


def register(sub: Any) -> None:
    from ..tasks import TASKS

    p = add_command(
        sub,
        "import-tf",
        HELP,
        ". The task model of --task/--preset/--set must be the seed program's "
        "model: its TF variable names and shapes are checked against the checkpoint.",
        examples=(
            "rnnkit import-tf tf_logs/model.ckpt-1000 --task sine --preset seed000 --out runs/tf_sine",
            "rnnkit evaluate runs/tf_sine",
            "rnnkit import-tf mnist_ckpt/ --task mnist --preset seed000 --out runs/tf_mnist",
            "rnnkit predict runs/tf_mnist --index 7",
        ),
    )
    p.add_argument(
        "checkpoint", metavar="CKPT", help="TF checkpoint prefix, .index file, or its directory"
    )
    p.add_argument("--task", required=True, choices=sorted(TASKS), help="the seed program's task")
    p.add_argument(
        "--preset", default="seed000", help="the seed program's preset (default seed000)"
    )
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="the run directory to create")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (VALUE is JSON), e.g. cell_size=16, repeatable",
    )
    p.add_argument("--data-dir", metavar="DIR", help="directory with the four MNIST IDX .gz files")
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace) -> dict:
    out: dict = {"device": "cpu"}
    if args.data_dir:
        out["data_dir"] = absolute(args.data_dir)
    return parse_sets(args.set, out)


def run(args: argparse.Namespace) -> int:
    from ..tasks import TASKS, ConfigError
    from ..tf_checkpoint._paths import resolve_prefix
    from ..tf_checkpoint.loading import load_tf_checkpoint, tf_name_map
    from ..train import rundir as rd
    from ..train.checkpoint import save_checkpoint
    from ..train.run_state import fresh_meta
    from ._common import pick_device

    run_dir = Path(args.out)
    rd.check_new_run_dir(run_dir)  # again, atomically, before writing (rd.new_run_dir)
    prefix = resolve_prefix(args.checkpoint)  # CheckpointError (one line) when there is none
    try:
        cfg = TASKS[args.task].resolve_config(args.preset, _settings(args))
        pick_device(cfg["device"])  # one torch can see
        task = TASKS[args.task](cfg)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    try:
        load_tf_checkpoint(task.model, prefix, scope=None, strict=True)
    except ValueError as e:
        # Missing / unexpected names, an unreadable file: said as they are.
        if "shape mismatch" not in str(e):
            raise
        raise UsageError(
            f"{prefix} does not fit the {args.task} model of preset {args.preset} "
            f"(use --preset/--set to describe the seed program's model): {e}"
        ) from None
    # the training loop's counters (so that `train --resume` fine-tunes from here) and where the weights came from
    meta = {**fresh_meta(), "imported_from": str(Path(prefix).resolve())}
    with rd.new_run_dir(run_dir):  # config.json last: a directory with one holds a complete import
        save_checkpoint(
            run_dir / rd.CHECKPOINT, task.model, task.make_optimizer(), 0, task.extra_state(), meta
        )
        rd.write_json(run_dir / rd.CONFIG, cfg)
    n = len(tf_name_map(task.model, scope=None))
    print(
        f"imported {n} tensors from {prefix} into {run_dir} ({args.task}, preset {args.preset}); "
        f"next: rnnkit evaluate {run_dir}"
    )
    return 0
