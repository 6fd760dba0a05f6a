"""A printable table of what a TF checkpoint holds (for ``rnnkit inspect PATH``)."""

from __future__ import annotations

import math
import os

from .build import describe_rnns
from .reader import CheckpointReader

__all__ = ["describe", "format_table"]


def _rows(reader: CheckpointReader) -> list[dict[str, object]]:
    rows = []
    for name, shape, dtype in reader.variables():
        slices = reader.num_slices(name)
        if dtype == "string":
            note = "not read (string)"
        elif dtype == "bfloat16":
            note = "read as float32"
        else:
            note = f"{slices} slices" if slices else ""
        rows.append(
            {
                "name": name,
                "shape": shape,
                "dtype": dtype,
                "params": math.prod(shape),
                "bytes": reader.stored_bytes(name),
                "note": note,
            }
        )
    return rows


def describe(path: str | os.PathLike[str]) -> list[dict[str, object]]:
    """One dict per tensor, sorted by name: ``name``, ``shape``, ``dtype`` (TF name), ``params``
    (element count), ``bytes`` (as stored, all slices), ``note`` (slices / not read / widened)."""
    return _rows(CheckpointReader(path))


def format_table(path: str | os.PathLike[str]) -> str:
    """Names, shapes, dtypes, element counts and stored sizes of every tensor, then the totals::

    TF checkpoint tests/fixtures/checkpoints/basic_lstm/model.ckpt (1 shard)
    name                        shape    dtype    params  bytes
    rnn/basic_lstm_cell/bias    [16]     float32      16     64
    rnn/basic_lstm_cell/kernel  [7, 16]  float32     112    448
    total: 2 tensors, 128 parameters, 512 bytes
    RNN scopes (rk.tf_checkpoint.build_cell(path, scope) rebuilds each):
      rnn: BasicLSTMCell(num_units=4), input depth 3
    """
    reader = CheckpointReader(path)
    rows = _rows(reader)
    shards = reader.num_shards
    cells = [["name", "shape", "dtype", "params", "bytes", ""]]
    for row in rows:
        shape = row["shape"]
        assert isinstance(shape, tuple)
        cells.append(
            [
                str(row["name"]),
                "[" + ", ".join(str(d) for d in shape) + "]",
                str(row["dtype"]),
                f"{row['params']:,}",
                f"{row['bytes']:,}",
                str(row["note"]),
            ]
        )
    widths = [max(len(r[i]) for r in cells) for i in range(6)]
    lines = [f"TF checkpoint {reader.prefix} ({shards} shard{'' if shards == 1 else 's'})"]
    for r in cells:
        parts = [r[i].rjust(widths[i]) if i in (3, 4) else r[i].ljust(widths[i]) for i in range(6)]
        lines.append("  ".join(parts).rstrip())
    params = sum(int(str(row["params"])) for row in rows if row["dtype"] != "string")
    stored = sum(int(str(row["bytes"])) for row in rows)
    lines.append(f"total: {len(rows)} tensors, {params:,} parameters, {stored:,} bytes")
    rnns = describe_rnns(path)
    if rnns:  # the architecture each RNN scope's names and shapes describe
        lines.append("RNN scopes (rk.tf_checkpoint.build_cell(path, scope) rebuilds each):")
        lines += [f"  {line}" for line in rnns]
    return "\n".join(lines)
