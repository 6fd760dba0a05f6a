"""``rnnkit plot RUN_DIR``: (re)draw a run's figures from its metrics and last checkpoint."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_command, load_run

HELP = "draw the figures of a run (PNG/GIF into RUN_DIR)"


def register(sub: Any) -> None:
    p = add_command(sub, "plot", HELP)
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data-dir", metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    task, _ = load_run(args.run_dir, args.data_dir)
    for f in task.make_plots(__import__("pathlib").Path(args.run_dir)):
        print(f)
    return 0
