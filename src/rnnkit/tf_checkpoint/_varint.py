"""Little-endian fixed-width integers and base-128 varints (LevelDB and protobuf wire format).

Decoders take ``(buf, pos)`` and return ``(value, new_pos)``; they never read past ``len(buf)`` and raise
``_Malformed`` (never IndexError) on truncated or over-long input.
"""

from __future__ import annotations

import struct

from .errors import _Malformed

_MAX_VARINT_BYTES = 10  # 64 bits in 7-bit groups


def decode_varint(buf: bytes, pos: int, limit: int | None = None) -> tuple[int, int]:
    """Read an unsigned varint (up to 64 bits) starting at ``buf[pos]``; stop at ``limit``."""
    end = len(buf) if limit is None else min(limit, len(buf))
    result = 0
    shift = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= end:
            raise _Malformed(f"truncated varint at offset {pos}")
        byte = buf[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >= 1 << 64:
                raise _Malformed(f"varint at offset {pos} exceeds 64 bits")
            return result, pos + i + 1
        shift += 7
    raise _Malformed(f"varint at offset {pos} is longer than {_MAX_VARINT_BYTES} bytes")


def encode_varint(value: int) -> bytes:
    """Encode a non-negative int below 2**64 (negative int64 values: pass ``value & (2**64 - 1)``)."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"encode_varint: expected 0 <= value < 2**64, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def to_signed64(value: int) -> int:
    """Reinterpret an unsigned 64-bit value as two's-complement int64 (protobuf int32/int64 fields)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def decode_fixed32(buf: bytes, pos: int) -> int:
    if pos < 0 or pos + 4 > len(buf):
        raise _Malformed(f"truncated fixed32 at offset {pos}")
    return struct.unpack_from("<I", buf, pos)[0]


def decode_fixed64(buf: bytes, pos: int) -> int:
    if pos < 0 or pos + 8 > len(buf):
        raise _Malformed(f"truncated fixed64 at offset {pos}")
    return struct.unpack_from("<Q", buf, pos)[0]


def encode_fixed32(value: int) -> bytes:
    return struct.pack("<I", value & 0xFFFFFFFF)


def encode_fixed64(value: int) -> bytes:
    return struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)
