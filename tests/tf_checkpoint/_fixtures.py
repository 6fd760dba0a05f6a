"""Paths and expectations of the real-TF checkpoint fixtures (made by tools/make_tf_checkpoint_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.npz"))


def prefix(name: str) -> Path:
    return FIXTURES / name / "model.ckpt"


def expected(name: str) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, np.ndarray]]:
    """(TF's reading of every variable, its TF dtype name, everything else in the npz)."""
    with np.load(FIXTURES / f"{name}.npz") as data:
        values = {k[4:]: data[k] for k in data.files if k.startswith("var:")}
        dtypes = {k[6:]: str(data[k]) for k in data.files if k.startswith("dtype:")}
        rest = {k: data[k] for k in data.files if not k.startswith(("var:", "dtype:"))}
    return values, dtypes, rest
