"""What the subcommands share: the exit-2 argument parser, each command's parser, user errors, loading a run
directory."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch


class UsageError(Exception):
    """A user mistake: reported as ``rnnkit <cmd>: error: <message>`` with exit code 2, no traceback."""


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``prog: error: reason (see prog --help)``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def parse_sets(items: list[str], into: dict[str, Any]) -> dict[str, Any]:
    """Apply ``--set KEY=VALUE`` items to ``into`` (returned): VALUE is JSON (else the raw text), ``a.b=V`` nested.

    Raises:
        UsageError: an item without ``=`` or without a key.
    """
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except ValueError:  # not JSON (or an integer of more digits than Python converts): the text
            value = raw
        *parents, leaf = key.split(".")
        d = into
        for k in parents:
            if not isinstance(d.get(k), dict):  # a.b=V after a=5: the later --set wins
                d[k] = {}
            d = d[k]
        d[leaf] = value
    return into


def absolute(path: str | None) -> str | None:
    """``path`` made absolute (a run records its ``--data-dir`` so, to be found from any directory later)."""
    return None if path is None else os.path.abspath(os.path.expanduser(path))


def pick_device(name: str | None) -> str:
    if name is None:
        return "cpu"
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise UsageError(f"--device must be cpu or cuda, got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda requested but torch sees no CUDA device; use --device cpu")
    return name


def read_config(run_dir: str | Path) -> dict[str, Any]:
    from ..tasks import TASKS
    from ..train import rundir as rd

    p = Path(run_dir) / rd.CONFIG
    if not p.is_file():
        raise UsageError(
            f"{run_dir} is not a run directory (no {rd.CONFIG}); train one with rnnkit train"
        )
    try:
        cfg = rd.read_json(p)
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise UsageError(f"{p} is damaged: not valid JSON ({e})") from None
    if not isinstance(cfg, dict) or cfg.get("task") not in TASKS:
        got = cfg.get("task") if isinstance(cfg, dict) else type(cfg).__name__
        raise UsageError(
            f"{p} is damaged: expected a run configuration naming a task ({', '.join(TASKS)}), got {got!r}"
        )
    # Resolving it again checks every value the way `rnnkit train` checked them (a written config resolves to
    # itself), and says which settings are missing.
    from ..tasks import ConfigError

    settings = {k: v for k, v in cfg.items() if k not in ("task", "preset")}
    try:
        resolved = TASKS[cfg["task"]].resolve_config(cfg.get("preset", "default"), settings)
    except ConfigError as e:
        raise UsageError(f"{p} is damaged: {e}") from None
    missing = sorted(set(resolved) - set(cfg))
    if missing:
        raise UsageError(f"{p} is damaged: missing settings {missing}")
    try:
        TASKS[cfg["task"]].check(cfg)  # as written too: resolving passes over null values
    except ConfigError as e:
        raise UsageError(f"{p} is damaged: {e}") from None
    # what resolving computes (an edited "epochs" or "eval_every": "epoch" becomes steps, as in a new run)
    return {**cfg, "max_steps": resolved["max_steps"], "eval_every": resolved["eval_every"]}


def load_run(
    run_dir: str | Path, data_dir: str | None = None, device: str | None = None
) -> tuple[Any, Any]:
    """The task of a run directory with the weights (and carried state) of its last checkpoint."""
    from ..tasks import TASKS
    from ..train import Checkpoint
    from ..train import rundir as rd

    cfg = read_config(run_dir)
    if device is not None:
        cfg["device"] = pick_device(device)
    elif cfg.get("device", "cpu").startswith("cuda") and not torch.cuda.is_available():
        cfg["device"] = "cpu"
    ckpt = Path(run_dir) / rd.CHECKPOINT
    if not ckpt.is_file():
        raise UsageError(f"{run_dir} has no checkpoint ({rd.CHECKPOINT}) yet")
    task = TASKS[cfg["task"]](cfg, data_dir=data_dir)
    ck = Checkpoint(ckpt)
    ck.restore(task.model, rng=False)
    task.load_extra_state(ck.extra)
    task.model.eval()
    return task, ck


def add_command(
    sub: Any,
    name: str,
    help: str,
    description: str = "",
    examples: Sequence[str] = (),
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """The parser of ``rnnkit NAME``, added to ``sub`` (``rnnkit``'s subparsers).

    ``help`` is the command's line in ``rnnkit --help`` and, followed by ``description``, the top of its own
    ``--help``. ``examples`` (command lines, indented by two spaces in the output) are listed under
    ``examples:``, then ``epilog``. A command with examples prints its text as written here, so that their
    aligned comments stay aligned; one without has its prose wrapped to the terminal by argparse.
    """
    if examples:
        listed = "examples:\n" + "".join(f"  {line}\n" for line in examples)
        epilog = listed + (f"\n{epilog}" if epilog else "")
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=help + description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter
        if examples
        else argparse.HelpFormatter,
    )
    return parser
