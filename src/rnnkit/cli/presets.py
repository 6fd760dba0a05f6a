"""``rnnkit presets``: every task's named settings."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "list the tasks and their presets"


def register(sub: Any) -> None:
    p = sub.add_parser("presets", help=HELP, description=HELP)
    p.add_argument("task", nargs="?", help="only this task")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..tasks import TASKS
    from ._common import UsageError

    if args.task and args.task not in TASKS:
        raise UsageError(f"unknown task {args.task!r}; choose from {', '.join(TASKS)}")
    for name, task in TASKS.items():
        if args.task and name != args.task:
            continue
        print(f"{name}: {task.description}")
        for preset, p in task.presets.items():
            print(f"  {preset:16s} {p.get('description', '')}")
    return 0
