"""BundleHeaderProto / BundleEntryProto, decoded and encoded by hand (protobuf wire format).

The messages (tensorflow/core/protobuf/tensor_bundle.proto), with the field numbers used here::

    BundleHeaderProto { int32 num_shards = 1; Endianness endianness = 2; VersionDef version = 3; }
    VersionDef        { int32 producer = 1; int32 min_consumer = 2; repeated int32 bad_consumers = 3; }
    BundleEntryProto  { DataType dtype = 1; TensorShapeProto shape = 2; int32 shard_id = 3;
                        int64 offset = 4; int64 size = 5; fixed32 crc32c = 6;
                        repeated TensorSliceProto slices = 7; }
    TensorShapeProto  { repeated Dim dim = 2; bool unknown_rank = 3; }   Dim { int64 size = 1; string name = 2; }
    TensorSliceProto  { repeated Extent extent = 1; }  Extent { int64 start = 1; int64 length = 2; }

An Extent without ``length`` means "the whole dimension"; it is kept here as length ``-1`` (TF's
``kFullExtent``). Unknown fields are skipped, as protobuf readers do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._varint import (
    decode_fixed32,
    decode_fixed64,
    decode_varint,
    encode_fixed32,
    encode_varint,
    to_signed64,
)
from .errors import _Malformed

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
FULL_EXTENT = -1


@dataclass
class BundleHeader:
    num_shards: int = 0
    endianness: int = 0  # 0 little, 1 big
    producer: int = 0
    min_consumer: int = 0
    bad_consumers: list[int] = field(default_factory=list)


@dataclass
class BundleEntry:
    dtype: int = 0
    shape: tuple[int, ...] = ()
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: int | None = None  # masked, as stored
    slices: list[tuple[tuple[int, int], ...]] = field(
        default_factory=list
    )  # (start, length) per dim
    unknown_rank: bool = False


def _iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field_number, wire_type, value)``; value is an int, or bytes for length-delimited."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = decode_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Malformed("protobuf field number 0")
        if wire == _VARINT:
            value, pos = decode_varint(buf, pos)
            yield number, wire, value
        elif wire == _FIXED64:
            yield number, wire, decode_fixed64(buf, pos)
            pos += 8
        elif wire == _FIXED32:
            yield number, wire, decode_fixed32(buf, pos)
            pos += 4
        elif wire == _BYTES:
            length, pos = decode_varint(buf, pos)
            if length > end - pos:
                raise _Malformed(f"protobuf field {number} runs past the end of its message")
            yield number, wire, bytes(buf[pos : pos + length])
            pos += length
        else:
            raise _Malformed(f"unsupported protobuf wire type {wire} (field {number})")


def _want(wire: int, expected: int, what: str) -> None:
    if wire != expected:
        raise _Malformed(f"protobuf field {what} has wire type {wire}, expected {expected}")


def _int(value: int | bytes) -> int:
    assert isinstance(value, int)
    return to_signed64(value)


def _bytes(value: int | bytes) -> bytes:
    assert isinstance(value, bytes)
    return value


def _packed_or_single(wire: int, value: int | bytes, what: str) -> list[int]:
    if wire == _VARINT:
        return [_int(value)]
    _want(wire, _BYTES, what)
    out, pos = [], 0
    packed = _bytes(value)
    while pos < len(packed):
        v, pos = decode_varint(packed, pos)
        out.append(to_signed64(v))
    return out


# A field this decoder reads: (wire type it must have, name for errors, what to do with its value). Wire type
# _PACKED: a repeated int32, either one varint or a packed run (protobuf writers may send either).
_PACKED = -1
_Fields = dict[int, tuple[int, str, Callable[[Any], None]]]


def _read(buf: bytes, fields: _Fields) -> None:
    """Hand each field of ``buf`` that ``fields`` names to its action, once its wire type is checked; fields it
    does not name are skipped (as protobuf readers do)."""
    for number, wire, value in _iter_fields(buf):
        if number not in fields:
            continue
        expected, what, put = fields[number]
        if expected == _PACKED:
            put(_packed_or_single(wire, value, what))
            continue
        _want(wire, expected, what)
        put(value)


def decode_header(buf: bytes) -> BundleHeader:
    h = BundleHeader()
    version: _Fields = {
        1: (_VARINT, "version.producer", lambda v: setattr(h, "producer", _int(v))),
        2: (_VARINT, "version.min_consumer", lambda v: setattr(h, "min_consumer", _int(v))),
        3: (_PACKED, "bad_consumers", h.bad_consumers.extend),
    }
    _read(
        buf,
        {
            1: (_VARINT, "num_shards", lambda v: setattr(h, "num_shards", _int(v))),
            2: (_VARINT, "endianness", lambda v: setattr(h, "endianness", _int(v))),
            3: (_BYTES, "version", lambda v: _read(_bytes(v), version)),
        },
    )
    return h


def _decode_dim(buf: bytes) -> int:
    size = [0]
    _read(buf, {1: (_VARINT, "shape.dim.size", lambda v: size.__setitem__(0, _int(v)))})
    return size[0]


def _decode_shape(buf: bytes, entry: BundleEntry) -> None:
    dims: list[int] = []
    _read(
        buf,
        {
            2: (_BYTES, "shape.dim", lambda v: dims.append(_decode_dim(_bytes(v)))),
            3: (_VARINT, "shape.unknown_rank", lambda v: setattr(entry, "unknown_rank", bool(v))),
        },
    )
    entry.shape = tuple(dims)


def _decode_extent(buf: bytes) -> tuple[int, int]:
    extent = [0, FULL_EXTENT]  # start, length
    _read(
        buf,
        {
            1: (_VARINT, "extent.start", lambda v: extent.__setitem__(0, _int(v))),
            2: (_VARINT, "extent.length", lambda v: extent.__setitem__(1, _int(v))),
        },
    )
    return extent[0], extent[1]


def _decode_slice(buf: bytes) -> tuple[tuple[int, int], ...]:
    extents: list[tuple[int, int]] = []
    _read(buf, {1: (_BYTES, "slice.extent", lambda v: extents.append(_decode_extent(_bytes(v))))})
    return tuple(extents)


def _set_crc32c(entry: BundleEntry, value: int | bytes) -> None:
    assert isinstance(value, int)
    entry.crc32c = value  # masked, as stored: not sign-extended


def decode_entry(buf: bytes) -> BundleEntry:
    e = BundleEntry()
    _read(
        buf,
        {
            1: (_VARINT, "dtype", lambda v: setattr(e, "dtype", _int(v))),
            2: (_BYTES, "shape", lambda v: _decode_shape(_bytes(v), e)),
            3: (_VARINT, "shard_id", lambda v: setattr(e, "shard_id", _int(v))),
            4: (_VARINT, "offset", lambda v: setattr(e, "offset", _int(v))),
            5: (_VARINT, "size", lambda v: setattr(e, "size", _int(v))),
            6: (_FIXED32, "crc32c", lambda v: _set_crc32c(e, v)),
            7: (_BYTES, "slices", lambda v: e.slices.append(_decode_slice(_bytes(v)))),
        },
    )
    return e


# --- encoding -------------------------------------------------------------------------------------


def _tag(number: int, wire: int) -> bytes:
    return encode_varint((number << 3) | wire)


def _varint_field(number: int, value: int) -> bytes:
    return _tag(number, _VARINT) + encode_varint(value & 0xFFFFFFFFFFFFFFFF) if value else b""


def _message_field(number: int, payload: bytes) -> bytes:
    return _tag(number, _BYTES) + encode_varint(len(payload)) + payload


def encode_header(header: BundleHeader) -> bytes:
    version = _varint_field(1, header.producer) + _varint_field(2, header.min_consumer)
    for bad in header.bad_consumers:
        version += _tag(3, _VARINT) + encode_varint(bad & 0xFFFFFFFFFFFFFFFF)
    return (
        _varint_field(1, header.num_shards)
        + _varint_field(2, header.endianness)
        + _message_field(3, version)
    )


def encode_entry(entry: BundleEntry) -> bytes:
    shape = b"".join(_message_field(2, _varint_field(1, d)) for d in entry.shape)
    out = _varint_field(1, entry.dtype) + _message_field(2, shape)
    out += _varint_field(3, entry.shard_id) + _varint_field(4, entry.offset)
    out += _varint_field(5, entry.size)
    if entry.crc32c is not None:
        out += _tag(6, _FIXED32) + encode_fixed32(entry.crc32c)
    for extents in entry.slices:
        payload = b""
        for start, length in extents:
            ext = _varint_field(1, start)
            if length != FULL_EXTENT:
                ext += _tag(2, _VARINT) + encode_varint(length)
            payload += _message_field(1, ext)
        out += _message_field(7, payload)
    return out
