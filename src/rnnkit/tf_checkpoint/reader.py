"""Read TF checkpoints (TensorBundle V2: ``PREFIX.index`` + ``PREFIX.data-NNNNN-of-NNNNN``), no TensorFlow.

``PREFIX.index`` is a table (see ``_table``) whose entry ``""`` is a BundleHeaderProto and whose other
entries map each tensor name to a BundleEntryProto (dtype, shape, shard, offset, size, masked CRC-32C of
the bytes). Tensor bytes are raw, little-endian, C order, at ``offset`` in data shard ``shard_id``.
A partitioned variable has a full entry listing its slices and no bytes; each slice is an entry of its
own, under the key ``_ordered_code.encode_slice_key(name, slice)``.
"""

from __future__ import annotations

import math
import os

import numpy as np

from . import _dtypes
from ._crc32c import crc32c, unmask
from ._ordered_code import encode_slice_key
from ._paths import data_path, resolve_prefix
from ._proto import FULL_EXTENT, BundleEntry, BundleHeader, decode_entry, decode_header
from ._table import read_table
from ._varint import decode_fixed32, decode_varint
from .errors import CheckpointError, _Malformed

__all__ = ["CheckpointReader", "list_variables", "read"]

_BUNDLE_VERSION = 1  # kTensorBundleVersion: the format version this reader understands
_MAX_RANK = 32  # NumPy's lowest limit on array rank


class CheckpointReader:
    """An opened checkpoint: its index is parsed once, tensors are read (and CRC-checked) on demand.

    Args:
        path: a checkpoint prefix, its ``.index`` file, one of its data shards, or a directory whose
            ``checkpoint`` state file names the prefix (``model_checkpoint_path``, relative or absolute).

    Raises:
        CheckpointError: missing files, truncation, checksum mismatch, malformed records, unsupported
            format features; the message names the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.prefix = resolve_prefix(path)
        self.index_path = self.prefix + ".index"
        try:
            with open(self.index_path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise CheckpointError(f"cannot read ({exc.strerror})", self.index_path) from None
        try:
            self.header, self._entries, self._slices = self._parse_index(raw)
        except _Malformed as exc:
            raise CheckpointError(str(exc), self.index_path) from None

    # --- index ------------------------------------------------------------------------------------

    def _parse_index(
        self, raw: bytes
    ) -> tuple[BundleHeader, dict[str, BundleEntry], dict[bytes, BundleEntry]]:
        table = read_table(raw)
        if not table or table[0][0] != b"":
            raise _Malformed("index has no bundle header entry (not a TF V2 checkpoint?)")
        header = decode_header(table[0][1])
        if header.endianness not in (0, 1):
            raise _Malformed(f"header has unknown endianness {header.endianness}")
        if not 1 <= header.num_shards <= 1 << 20:
            raise _Malformed(f"header has an invalid shard count {header.num_shards}")
        if header.min_consumer > _BUNDLE_VERSION or _BUNDLE_VERSION in header.bad_consumers:
            raise _Malformed(
                f"bundle format version (producer {header.producer}, min consumer "
                f"{header.min_consumer}) is newer than this reader ({_BUNDLE_VERSION})"
            )
        entries: dict[str, BundleEntry] = {}
        slices: dict[bytes, BundleEntry] = {}
        for key, value in table[1:]:
            entry = decode_entry(value)
            if key[0] == 0:  # a slice of a partitioned variable
                slices[key] = entry
                self._check_entry(entry, key.hex(), header, sliced_part=True)
                continue
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise _Malformed(f"tensor name {key[:40]!r} is not UTF-8") from None
            self._check_entry(entry, name, header, sliced_part=False)
            entries[name] = entry
        return header, entries, slices

    @staticmethod
    def _check_entry(
        entry: BundleEntry, name: str, header: BundleHeader, sliced_part: bool
    ) -> None:
        if entry.unknown_rank or any(d < 0 for d in entry.shape):
            raise _Malformed(f"tensor {name!r} has an invalid shape {entry.shape}")
        if len(entry.shape) > _MAX_RANK:
            raise _Malformed(f"tensor {name!r} has rank {len(entry.shape)} (at most {_MAX_RANK})")
        if entry.slices and sliced_part:
            raise _Malformed(f"slice entry {name} is itself sliced")
        if entry.slices:
            for extents in entry.slices:
                if len(extents) != len(entry.shape):
                    raise _Malformed(
                        f"tensor {name!r}: slice of rank {len(extents)} for shape {entry.shape}"
                    )
                for (start, length), dim in zip(extents, entry.shape):
                    if length == FULL_EXTENT:
                        length = dim
                    if start < 0 or length < 0 or start + length > dim:
                        raise _Malformed(
                            f"tensor {name!r}: slice {extents} outside shape {entry.shape}"
                        )
            return
        if not 0 <= entry.shard_id < header.num_shards:
            raise _Malformed(
                f"tensor {name!r} is in shard {entry.shard_id}, but there are {header.num_shards}"
            )
        if entry.offset < 0 or entry.size < 0:
            raise _Malformed(f"tensor {name!r} has offset {entry.offset}, size {entry.size}")

    # --- queries ----------------------------------------------------------------------------------

    @property
    def num_shards(self) -> int:
        return self.header.num_shards

    def names(self) -> list[str]:
        """Tensor names in the checkpoint, sorted (the index order), slices of partitions excluded."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def dtype_name(self, name: str) -> str:
        return _dtypes.dtype_name(self._entry(name).dtype)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entry(name).shape

    def variables(self) -> list[tuple[str, tuple[int, ...], str]]:
        """``(name, shape, dtype name)`` for every tensor, sorted by name."""
        return [(n, e.shape, _dtypes.dtype_name(e.dtype)) for n, e in self._entries.items()]

    def num_slices(self, name: str) -> int:
        """How many slices a partitioned variable was saved as (0 for an ordinary tensor)."""
        return len(self._entry(name).slices)

    def stored_bytes(self, name: str) -> int:
        """Bytes the tensor takes in the data shards (all its slices for a partitioned variable)."""
        entry = self._entry(name)
        if not entry.slices:
            return entry.size
        parts = (self._slices.get(encode_slice_key(name, extents)) for extents in entry.slices)
        return sum(part.size for part in parts if part is not None)

    def _entry(self, name: str) -> BundleEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise CheckpointError(f"no tensor named {name!r}", self.index_path) from None

    # --- tensors ----------------------------------------------------------------------------------

    def tensor(self, name: str) -> np.ndarray:
        """The value of tensor ``name`` as a fresh, writable, native-byte-order array.

        bfloat16 tensors come back as float32 (exactly: bfloat16 is a truncated float32), since NumPy
        has no bfloat16. String tensors come back as object arrays of ``bytes`` (as TF returns them).
        """
        entry = self._entry(name)
        if not entry.slices:
            return self._read_entry(entry, name)
        return self._assemble(name, entry)

    def _storage_dtype(self, entry: BundleEntry, name: str) -> np.dtype:
        if entry.dtype not in _dtypes.TF_DTYPES:
            raise CheckpointError(
                f"tensor {name!r} has dtype {_dtypes.dtype_name(entry.dtype)}, which rnnkit cannot read",
                self.index_path,
            )
        dtype = np.dtype(_dtypes.TF_DTYPES[entry.dtype][1])
        return dtype.newbyteorder(">") if self.header.endianness == 1 else dtype

    def _read_bytes(self, entry: BundleEntry, name: str) -> tuple[bytes, str]:
        """The entry's bytes from its shard (bounds-checked, not yet CRC-checked) and the shard path."""
        shard = data_path(self.prefix, entry.shard_id, self.header.num_shards)
        try:
            with open(shard, "rb") as fh:
                if entry.offset + entry.size > os.fstat(fh.fileno()).st_size:
                    data = b""  # reported as truncation below, without a huge allocation
                else:
                    fh.seek(entry.offset)
                    data = fh.read(entry.size)
        except FileNotFoundError:
            raise CheckpointError(f"data shard is missing (needed for {name!r})", shard) from None
        except OSError as exc:
            raise CheckpointError(f"cannot read ({exc.strerror})", shard) from None
        if len(data) != entry.size:
            raise CheckpointError(
                f"truncated: tensor {name!r} needs bytes {entry.offset}..{entry.offset + entry.size}",
                shard,
            )
        return data, shard

    def _read_entry(self, entry: BundleEntry, name: str) -> np.ndarray:
        if entry.dtype == _dtypes.DT_STRING:
            return self._read_strings(entry, name)
        dtype = self._storage_dtype(entry, name)
        count = math.prod(entry.shape)
        if entry.size != count * dtype.itemsize:
            raise CheckpointError(
                f"tensor {name!r}: stored size {entry.size} bytes does not match shape {entry.shape} "
                f"of {_dtypes.dtype_name(entry.dtype)}",
                self.index_path,
            )
        data, shard = self._read_bytes(entry, name)
        if entry.crc32c is not None and crc32c(data) != unmask(entry.crc32c):
            raise CheckpointError(f"checksum mismatch for tensor {name!r} (corrupted data)", shard)
        array = np.frombuffer(data, dtype=dtype).reshape(entry.shape)
        if entry.dtype == _dtypes.DT_BFLOAT16:
            return _dtypes.bfloat16_to_float32(array)
        if entry.dtype == 10:  # bool: any nonzero byte is true, as in TF
            return array.view(np.uint8) != 0
        return array.astype(dtype.newbyteorder("="), copy=True)

    def _read_strings(self, entry: BundleEntry, name: str) -> np.ndarray:
        """A string tensor: ``varint64 length`` per element, the masked CRC-32C of those lengths
        (each as uint32, or uint64 above 2**32 - 1), then the bytes of every element. The entry's
        CRC covers the lengths (as checksummed), the 4 checksum bytes and the string bytes."""
        data, shard = self._read_bytes(entry, name)
        count = math.prod(entry.shape)
        if count > len(data):  # each element takes at least one length byte
            raise CheckpointError(
                f"string tensor {name!r} is too short for {count} elements", shard
            )
        try:
            lengths, pos = [], 0
            for _ in range(count):
                length, pos = decode_varint(data, pos)
                lengths.append(length)
            stored = decode_fixed32(data, pos)
        except _Malformed as exc:
            raise CheckpointError(f"string tensor {name!r}: {exc}", shard) from None
        crc = 0
        for length in lengths:
            crc = crc32c(length.to_bytes(4 if length <= 0xFFFFFFFF else 8, "little"), crc)
        if crc != unmask(stored):
            raise CheckpointError(
                f"checksum mismatch for the lengths of string tensor {name!r}", shard
            )
        pos += 4
        if sum(lengths) != len(data) - pos:
            raise CheckpointError(
                f"string tensor {name!r}: lengths do not add up to its size", shard
            )
        crc = crc32c(memoryview(data)[pos - 4 :], crc)
        if entry.crc32c is not None and crc != unmask(entry.crc32c):
            raise CheckpointError(f"checksum mismatch for tensor {name!r} (corrupted data)", shard)
        out = np.empty(count, dtype=object)
        for i, length in enumerate(lengths):
            out[i] = data[pos : pos + length]
            pos += length
        return out.reshape(entry.shape)

    def _assemble(self, name: str, entry: BundleEntry) -> np.ndarray:
        """Reassemble a partitioned variable from its slices (each CRC-checked on its own)."""
        self._storage_dtype(entry, name)  # refuse unsupported dtypes first
        parts = []
        for extents in entry.slices:
            index = tuple(
                slice(0, dim) if length == FULL_EXTENT else slice(start, start + length)
                for (start, length), dim in zip(extents, entry.shape)
            )
            want = tuple(s.stop - s.start for s in index)
            part = self._slices.get(encode_slice_key(name, extents))
            if part is None:
                raise CheckpointError(
                    f"slice {extents} of tensor {name!r} is missing", self.index_path
                )
            if part.slices or part.shape != want or part.dtype != entry.dtype:
                raise CheckpointError(
                    f"slice {extents} of tensor {name!r} has shape {part.shape} "
                    f"({_dtypes.dtype_name(part.dtype)}), expected {want}",
                    self.index_path,
                )
            parts.append((index, self._read_entry(part, f"{name} slice {extents}")))
        # The parts are read (so bounded by the files' sizes) before the whole is allocated.
        if sum(value.size for _, value in parts) != math.prod(entry.shape):
            raise CheckpointError(
                f"slices of tensor {name!r} do not cover its shape", self.index_path
            )
        out = np.zeros(entry.shape, dtype=parts[0][1].dtype if parts else np.float32)
        covered = np.zeros(entry.shape, dtype=bool)
        for index, value in parts:
            out[index] = value
            covered[index] = True
        if not covered.all():
            raise CheckpointError(f"slices of tensor {name!r} overlap", self.index_path)
        return out


def read(path: str | os.PathLike[str], *, strings: bool = False) -> dict[str, np.ndarray]:
    """Every tensor of a TF checkpoint, ``{name: array}`` in name order (no TensorFlow needed).

    ``path``: a prefix (``model.ckpt-100``), its ``.index`` file, or a directory with a ``checkpoint``
    state file. Partitioned variables come back whole. bfloat16 becomes float32 (exact). String
    tensors (``list_variables`` shows them as ``"string"``; they are never weights, e.g. TF2's
    ``_CHECKPOINTABLE_OBJECT_GRAPH``) are left out unless ``strings=True``, which returns them as
    object arrays of ``bytes``.
    """
    reader = CheckpointReader(path)
    return {
        name: reader.tensor(name)
        for name, _, dtype in reader.variables()
        if strings or dtype != "string"
    }


def list_variables(path: str | os.PathLike[str]) -> list[tuple[str, tuple[int, ...], str]]:
    """``[(name, shape, dtype)]`` of a TF checkpoint, sorted by name, like ``tf.train.list_variables``
    plus the dtype's TF name (``"float32"``, ``"bfloat16"``, ``"string"``; ``read`` skips strings)."""
    return CheckpointReader(path).variables()
