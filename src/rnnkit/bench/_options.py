"""The checks of ``rnnkit bench``'s options (argparse types): each says what it expected and what it got."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import torch

from .cells import CASES as CELL_CASES
from .models import SHAPES

__all__ = [
    "cell_list",
    "device",
    "int_list",
    "json_path",
    "positive_int",
    "positive_seconds",
    "python",
    "shape_list",
]


def _names(text: str, known: Any, expected: str) -> list[str]:
    """The comma list ``text`` when every name is in ``known``, else the error saying ``expected``."""
    names = [s for s in text.split(",") if s]
    if not names or any(s not in known for s in names):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return names


def shape_list(text: str) -> list[str]:
    if text == "none":  # only the --cells or --decode tables
        return []
    return _names(text, SHAPES, f"some of {', '.join(SHAPES)} (or none)")


def cell_list(text: str) -> list[str]:
    if text == "all":
        return list(CELL_CASES)
    return _names(text, CELL_CASES, f"all or some of {', '.join(CELL_CASES)}")


def int_list(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",") if t]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected a comma list of positive ints, got {text!r}")
    # torch.set_num_threads with a huge count crashes the process (a segfault at 100000), so bound it: more
    # threads than a few per CPU only measures oversubscription.
    most = 4 * (os.cpu_count() or 1)
    if max(values) > most:
        raise argparse.ArgumentTypeError(
            f"expected thread counts of at most {most} (4 per CPU), got {max(values)}"
        )
    return values


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):  # NaN fails too
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def device(text: str) -> str:
    """A torch device the benchmark can run on: cpu, or cuda[:N] when torch sees that GPU."""
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {text!r}")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(
            f"expected a device torch sees ({torch.cuda.device_count()} CUDA devices), got {text!r}"
        )
    return text


def json_path(text: str) -> str:
    """Where the records go, checked before minutes of measuring rather than after."""
    path = Path(text)
    parent = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"expected a file to write, got the directory {text!r}")
    if not parent.is_dir():
        what = "a file" if parent.exists() else "missing"
        raise argparse.ArgumentTypeError(
            f"expected a path in an existing directory, but {str(parent)!r} is {what}"
        )
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(
            f"expected a writable path, got {text!r} (permission denied)"
        )
    return text


def python(text: str) -> str:
    if not (os.path.isfile(text) and os.access(text, os.X_OK)):
        raise argparse.ArgumentTypeError(f"expected an executable python, got {text!r}")
    return text
