"""``rnnkit inspect PATH``: the tensors of a TF checkpoint, a safetensors file or a run directory."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_command
from ._sources import (
    RUN,
    SAFETENSORS,
    format_rows,
    kind_of,
    model_of_run,
    run_dir_of,
    safetensors_entries,
)

HELP = "list the tensors of a TF checkpoint, a .safetensors file or a run directory"


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "inspect",
        HELP,
        ": names, shapes, dtypes, element counts, stored bytes.",
        epilog="PATH: a TF checkpoint prefix (model.ckpt-1000), its .index file, a directory with a "
        "'checkpoint' state file, a .safetensors file, or a run directory (its model's weights, by the "
        "TF names the seed program's graph gives them).",
    )
    p.add_argument("path", metavar="PATH")
    p.set_defaults(func=run)


def _run_table(path: str) -> str:
    from ..tf_checkpoint.loading import tf_name_map

    run_dir = run_dir_of(path)
    model, cfg, step = model_of_run(run_dir)
    tf_names = tf_name_map(model, scope=None)
    rows = []
    for key, t in model.state_dict().items():
        name = tf_names.get(key, key)
        note = f"state_dict {key}" if key in tf_names else "no TF name"
        rows.append(
            (
                name,
                tuple(t.shape),
                str(t.dtype).removeprefix("torch."),
                t.numel() * t.element_size(),
                note,
            )
        )
    title = f"run {run_dir} ({cfg['task']}, preset {cfg['preset']}, step {step}): model tensors by TF name"
    return format_rows(title, rows)


def _safetensors_table(path: str) -> str:
    rows = [(*entry, "") for entry in safetensors_entries(path)]
    return format_rows(f"safetensors {path}", rows)


def run(args: argparse.Namespace) -> int:
    from ..tf_checkpoint.inspect import format_table

    kind = kind_of(args.path)
    if kind == RUN:
        print(_run_table(args.path))
    elif kind == SAFETENSORS:
        print(_safetensors_table(args.path))
    else:
        print(format_table(args.path))
    return 0
