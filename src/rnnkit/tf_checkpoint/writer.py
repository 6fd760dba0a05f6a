"""Write TF checkpoints (TensorBundle V2) that TensorFlow reads, without TensorFlow.

The output is what ``tf.train.Saver`` (V2) writes for unpartitioned variables: one data shard
``PREFIX.data-00000-of-00001`` holding each tensor's raw little-endian bytes back to back, and
``PREFIX.index``, a table of the header entry ``""`` plus one BundleEntryProto per tensor, sorted by name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._crc32c import crc32c, mask
from ._dtypes import enum_for_numpy
from ._paths import data_path, write_state_file
from ._proto import BundleEntry, BundleHeader, encode_entry, encode_header
from ._table import build_table
from .errors import CheckpointError

__all__ = ["write"]


def _as_numpy(name: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(
        value, "cpu"
    ):  # a torch tensor; torch is not imported here
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if enum_for_numpy(array.dtype) is None:
        raise CheckpointError(
            f"write: tensor {name!r} has dtype {array.dtype}, which a TF checkpoint cannot store "
            "(supported: float16/32/64, int8/16/32/64, uint8/16/32/64, bool, complex64/128)"
        )
    return np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")


def write(
    prefix: str | os.PathLike[str],
    tensors: Mapping[str, Any],
    *,
    write_state: bool = True,
) -> str:
    """Save ``{name: array}`` as a TF checkpoint at ``prefix``; returns the prefix.

    Args:
        prefix: e.g. ``"out/model.ckpt"`` -> ``out/model.ckpt.index`` and
            ``out/model.ckpt.data-00000-of-00001`` (the directory is created).
        tensors: names (TF variable names, without ``:0``) to NumPy arrays, torch tensors or anything
            ``np.asarray`` takes. Values keep their dtype (float64 stays float64).
        write_state: also point ``DIR/checkpoint`` at this prefix, as ``Saver.save`` does, so that
            ``tf.train.latest_checkpoint(DIR)`` and ``rk.tf_checkpoint.read(DIR)`` find it.

    The files are written under temporary names and renamed into place.
    """
    prefix = os.fspath(prefix)
    if not isinstance(tensors, Mapping):
        raise TypeError(f"write: expected a mapping of name -> array, got {type(tensors).__name__}")
    arrays: dict[bytes, tuple[str, np.ndarray]] = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name.startswith("\x00"):
            raise ValueError(f"write: tensor names must be non-empty strings, got {name!r}")
        try:
            key = name.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"write: tensor names must be valid text, got {name!r}") from None
        arrays[key] = (name, _as_numpy(name, value))

    directory = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(directory, exist_ok=True)
    data_file = data_path(prefix, 0, 1)
    index_file = prefix + ".index"
    entries: list[tuple[bytes, bytes]] = []
    offset = 0
    with open(data_file + ".tmp", "wb") as fh:
        for key in sorted(arrays):
            name, array = arrays[key]
            payload = array.tobytes()
            fh.write(payload)
            entry = BundleEntry(
                dtype=enum_for_numpy(array.dtype) or 0,
                shape=tuple(int(d) for d in array.shape),
                shard_id=0,
                offset=offset,
                size=len(payload),
                crc32c=mask(crc32c(payload)),
            )
            entries.append((key, encode_entry(entry)))
            offset += len(payload)
    header = BundleHeader(num_shards=1, endianness=0, producer=1, min_consumer=0)
    table = build_table([(b"", encode_header(header))] + entries)
    with open(index_file + ".tmp", "wb") as fh:
        fh.write(table)
    os.replace(data_file + ".tmp", data_file)
    os.replace(index_file + ".tmp", index_file)
    if write_state:
        write_state_file(prefix)
    return prefix
