"""The sorted-string table behind ``PREFIX.index`` (TensorFlow's fork of the LevelDB table format).

Layout of a table file::

    [data block 0][trailer] ... [data block N-1][trailer] [metaindex block][trailer] [index block][trailer]
    [footer: metaindex handle, index handle (varint64 offset + size each), zero padding to 40 bytes,
             magic 0xdb4775248b80fb57 as fixed64]                                           (48 bytes)

A block is a run of prefix-compressed entries ``varint shared | varint non_shared | varint value_len |
key[shared:] | value``, then the restart offsets (fixed32 each) and their count (fixed32). A trailer is
one compression-type byte (0 = none; TF writes no other) and the masked CRC-32C of block + type byte.
The index block maps, for each data block, a key >= every key in that block to the block's handle.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ._crc32c import crc32c, mask, unmask
from ._varint import decode_fixed32, decode_fixed64, decode_varint, encode_fixed32, encode_varint
from .errors import _Malformed

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
TRAILER_SIZE = 5
DEFAULT_BLOCK_SIZE = 262144  # TF's table::Options().block_size
RESTART_INTERVAL = 16


# --- reading --------------------------------------------------------------------------------------


def _decode_handle(buf: bytes, pos: int) -> tuple[tuple[int, int], int]:
    offset, pos = decode_varint(buf, pos)
    size, pos = decode_varint(buf, pos)
    return (offset, size), pos


def _read_block(buf: bytes, handle: tuple[int, int], end: int, what: str) -> bytes:
    offset, size = handle
    if offset + size + TRAILER_SIZE > end:
        raise _Malformed(
            f"{what} block (offset {offset}, size {size}) runs past the end of the table ({end} bytes)"
        )
    kind = buf[offset + size]
    stored = decode_fixed32(buf, offset + size + 1)
    if crc32c(memoryview(buf)[offset : offset + size + 1]) != unmask(stored):
        raise _Malformed(f"{what} block checksum mismatch at offset {offset} (corrupted file)")
    if kind == 1:
        raise _Malformed(f"{what} block at offset {offset} is snappy-compressed (not supported)")
    if kind != 0:
        raise _Malformed(f"{what} block at offset {offset} has unknown compression type {kind}")
    return bytes(buf[offset : offset + size])


def _iter_block(block: bytes, what: str) -> Iterator[tuple[bytes, bytes]]:
    n = len(block)
    if n < 4:
        raise _Malformed(f"{what} block of {n} bytes is too short")
    num_restarts = decode_fixed32(block, n - 4)
    if num_restarts > (n - 4) // 4:
        raise _Malformed(f"{what} block claims {num_restarts} restart points in {n} bytes")
    limit = n - 4 - 4 * num_restarts
    pos, key = 0, b""
    while pos < limit:
        shared, pos = decode_varint(block, pos, limit)
        non_shared, pos = decode_varint(block, pos, limit)
        value_len, pos = decode_varint(block, pos, limit)
        if shared > len(key) or non_shared + value_len > limit - pos:
            raise _Malformed(f"{what} block has a malformed entry at offset {pos}")
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        yield key, block[pos : pos + value_len]
        pos += value_len


def read_table(buf: bytes) -> list[tuple[bytes, bytes]]:
    """All ``(key, value)`` entries of a table file, in key order; raises ``_Malformed``."""
    if len(buf) < FOOTER_SIZE:
        raise _Malformed(f"file of {len(buf)} bytes is too short to be a table (truncated?)")
    footer_at = len(buf) - FOOTER_SIZE
    if decode_fixed64(buf, footer_at + 40) != TABLE_MAGIC:
        raise _Malformed("bad magic number: not a TensorFlow checkpoint index (or truncated)")
    footer = buf[footer_at : footer_at + 40]
    _, pos = _decode_handle(footer, 0)  # metaindex: TF stores nothing there
    index_handle, _ = _decode_handle(footer, pos)
    index = _read_block(buf, index_handle, footer_at, "index")
    entries: list[tuple[bytes, bytes]] = []
    for _, handle_bytes in _iter_block(index, "index"):
        handle, _ = _decode_handle(handle_bytes, 0)
        block = _read_block(buf, handle, footer_at, "data")
        entries.extend(_iter_block(block, "data"))
    for (a, _), (b, _) in itertools.pairwise(entries):
        if not a < b:
            raise _Malformed("table keys are not in strictly increasing order")
    return entries


# --- writing --------------------------------------------------------------------------------------


class _BlockBuilder:
    def __init__(self, restart_interval: int) -> None:
        self.interval = restart_interval
        self.buf = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.counter < self.interval:
            limit = min(len(key), len(self.last_key))
            while shared < limit and key[shared] == self.last_key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buf))
            self.counter = 0
        self.buf += encode_varint(shared) + encode_varint(len(key) - shared)
        self.buf += encode_varint(len(value)) + key[shared:] + value
        self.last_key = key
        self.counter += 1

    def size_estimate(self) -> int:
        return len(self.buf) + 4 * len(self.restarts) + 4

    def finish(self) -> bytes:
        return (
            bytes(self.buf)
            + b"".join(encode_fixed32(r) for r in self.restarts)
            + encode_fixed32(len(self.restarts))
        )


def build_table(entries: list[tuple[bytes, bytes]], block_size: int = DEFAULT_BLOCK_SIZE) -> bytes:
    """Serialize ``entries`` (sorted by key, keys unique) as an uncompressed table file."""
    out = bytearray()

    def emit(contents: bytes) -> bytes:
        handle = encode_varint(len(out)) + encode_varint(len(contents))
        out.extend(contents)
        out.append(0)  # no compression
        out.extend(encode_fixed32(mask(crc32c(contents + b"\x00"))))
        return handle

    index = _BlockBuilder(restart_interval=1)
    block = _BlockBuilder(RESTART_INTERVAL)
    for key, value in entries:
        block.add(key, value)
        if block.size_estimate() >= block_size:
            index.add(block.last_key, emit(block.finish()))
            block = _BlockBuilder(RESTART_INTERVAL)
    if block.counter or not entries:
        index.add(block.last_key, emit(block.finish()))
    meta_handle = emit(_BlockBuilder(RESTART_INTERVAL).finish())
    index_handle = emit(index.finish())
    footer = (meta_handle + index_handle).ljust(40, b"\x00")
    out.extend(footer + TABLE_MAGIC.to_bytes(8, "little"))
    return bytes(out)
