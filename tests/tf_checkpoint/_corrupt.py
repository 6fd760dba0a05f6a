"""Helpers that damage copies of the fixtures."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from rnnkit.tf_checkpoint._table import build_table, read_table

from ._fixtures import FIXTURES

Entries = list[tuple[bytes, bytes]]


def copy_fixture(name: str, dest: Path) -> Path:
    """Copy fixture ``name`` into ``dest`` and return its prefix there."""
    target = dest / name
    shutil.copytree(FIXTURES / name, target)
    return target / "model.ckpt"


def rewrite_index(prefix: Path, mutate: Callable[[Entries], Entries]) -> None:
    """Re-encode the index with ``mutate(entries)`` and valid block checksums (exercises the parsers
    behind the checksums)."""
    index = Path(f"{prefix}.index")
    index.write_bytes(build_table(mutate(read_table(index.read_bytes()))))


def flip(path: Path, offset: int, xor: int = 0xFF) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= xor
    path.write_bytes(bytes(data))
