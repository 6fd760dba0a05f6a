"""What ``inspect``/``convert`` accept as PATH: a TF checkpoint, a ``.safetensors`` file, or a run directory."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from ._common import UsageError, read_config

# the kinds of PATH
TF, SAFETENSORS, RUN = "TF checkpoint", "safetensors file", "run directory"


def kind_of(path: str) -> str:
    """Which of TF / SAFETENSORS / RUN ``path`` is; TF is the fallback, and its reader names what is wrong."""
    from ..train import rundir as rd

    p = Path(path)
    if p.is_dir() and (p / rd.CONFIG).is_file():
        return RUN
    if p.is_file() and p.suffix == ".safetensors":
        # a run's own checkpoint file: its names are only meaningful with the run's config
        return RUN if (p.parent / rd.CONFIG).is_file() and p.name == rd.CHECKPOINT else SAFETENSORS
    if not p.exists() and path.endswith(".safetensors"):
        raise UsageError(f"no such file {path}")
    return TF


def run_dir_of(path: str) -> Path:
    p = Path(path)
    return p if p.is_dir() else p.parent


def model_of_run(run_dir: Path) -> tuple[Any, dict, int]:
    """The task model of a run with its last checkpoint's weights, built without the task's data.

    Returns ``(model, config, step)``. Only ``build_model`` of the task class runs (on a bare instance
    holding the config): building the whole task would load MNIST, which converting weights does not need.
    """
    from ..tasks import TASKS
    from ..train import Checkpoint
    from ..train import rundir as rd

    cfg = read_config(run_dir)
    ckpt = run_dir / rd.CHECKPOINT
    if not ckpt.is_file():
        raise UsageError(f"{run_dir} has no checkpoint ({rd.CHECKPOINT}) yet")
    cls = TASKS[cfg["task"]]
    shell = cls.__new__(cls)
    shell.config = cfg
    model = cls.build_model(shell)
    ck = Checkpoint(ckpt)
    ck.restore(model, rng=False)
    return model, cfg, ck.step


# safetensors dtype -> (the name inspect shows, bytes per element)
_ST_DTYPES = {
    "F64": ("float64", 8),
    "F32": ("float32", 4),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "F8_E4M3": ("float8_e4m3", 1),
    "F8_E5M2": ("float8_e5m2", 1),
    "I64": ("int64", 8),
    "I32": ("int32", 4),
    "I16": ("int16", 2),
    "I8": ("int8", 1),
    "U64": ("uint64", 8),
    "U32": ("uint32", 4),
    "U16": ("uint16", 2),
    "U8": ("uint8", 1),
    "BOOL": ("bool", 1),
}


def safetensors_entries(path: str) -> list[tuple[str, tuple[int, ...], str, int]]:
    """``(name, shape, dtype, bytes)`` of every tensor of a safetensors file, read from its header only (any
    dtype, float8 and bfloat16 included: NumPy has neither)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="numpy") as f:
            rows = []
            for name in sorted(f.keys()):
                sl = f.get_slice(name)
                st_dtype, shape = sl.get_dtype(), tuple(sl.get_shape())
                dtype, size = _ST_DTYPES.get(st_dtype, (st_dtype, 0))
                rows.append((name, shape, dtype, math.prod(shape) * size))
            return rows
    except (SafetensorError, ValueError, TypeError, OSError) as e:
        raise UsageError(f"cannot read {path} as safetensors ({e})") from None


def format_rows(title: str, rows: list[tuple[str, tuple[int, ...], str, int, str]]) -> str:
    """A table like ``rnnkit.tf_checkpoint.inspect.format_table``: ``(name, shape, dtype, bytes, note)`` rows."""
    cells = [["name", "shape", "dtype", "params", "bytes", ""]]
    for name, shape, dtype, nbytes, note in rows:
        cells.append(
            [
                name,
                "[" + ", ".join(str(d) for d in shape) + "]",
                dtype,
                f"{math.prod(shape):,}",
                f"{nbytes:,}",
                note,
            ]
        )
    widths = [max(len(r[i]) for r in cells) for i in range(6)]
    lines = [title]
    for r in cells:
        parts = [r[i].rjust(widths[i]) if i in (3, 4) else r[i].ljust(widths[i]) for i in range(6)]
        lines.append("  ".join(parts).rstrip())
    params = sum(math.prod(r[1]) for r in rows)
    stored = sum(r[3] for r in rows)
    lines.append(f"total: {len(rows)} tensors, {params:,} parameters, {stored:,} bytes")
    return "\n".join(lines)


def ensure_parent(path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
