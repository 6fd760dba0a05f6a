"""``rnnkit presets``: every task's named settings."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import add_command

HELP = "list the tasks and their presets"


def register(sub: Any) -> None:
    p = add_command(sub, "presets", HELP)
    p.add_argument("task", nargs="?", help="only this task")
    p.add_argument(
        "--settings",
        action="store_true",
        help="also list every setting (--set KEY=VALUE): its type, range and default",
    )
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
        if args.settings:
            _print_settings(task)
    return 0


def _print_settings(task: Any) -> None:
    from ..tasks.base import COMMON_DEFAULTS
    from ..tasks.settings import COMMON, show

    defaults = {**COMMON_DEFAULTS, **task.defaults}
    print("  settings (--set KEY=VALUE, VALUE in JSON; the defaults before a preset):")
    for s in (*COMMON, *task.settings):
        value: object = defaults
        for part in s.name.split("."):  # a nested default, if the task has one
            value = value.get(part, "-") if isinstance(value, dict) else "-"
        default = "" if value == "-" else f", default {show(value)}"
        print(f"    {s.name:24s} {s.help} ({s.type}{default})")
