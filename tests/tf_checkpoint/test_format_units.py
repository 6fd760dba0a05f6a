"""The byte-level pieces: varints, CRC-32C, masking, the protos, the table, slice keys."""

from __future__ import annotations

import os

import numpy as np
import pytest

from rnnkit.tf_checkpoint import CheckpointReader, _crc32c
from rnnkit.tf_checkpoint._ordered_code import encode_slice_key
from rnnkit.tf_checkpoint._proto import (
    BundleEntry,
    BundleHeader,
    decode_entry,
    decode_header,
    encode_entry,
    encode_header,
)
from rnnkit.tf_checkpoint._table import build_table, read_table
from rnnkit.tf_checkpoint._varint import decode_varint, encode_varint, to_signed64
from rnnkit.tf_checkpoint.errors import _Malformed

from ._fixtures import prefix


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63, 2**64 - 1])
def test_varint_round_trip(value):
    encoded = encode_varint(value)
    assert decode_varint(encoded + b"\xff", 0) == (value, len(encoded))


def test_varint_known_bytes_and_signed():
    assert encode_varint(300) == b"\xac\x02"
    assert to_signed64(decode_varint(encode_varint(-5 & (2**64 - 1)), 0)[0]) == -5


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x80\x80", "truncated varint"),
        (b"\xff" * 11, "longer than 10 bytes"),
        (b"\xff" * 9 + b"\x7f", "exceeds 64 bits"),
    ],
)
def test_varint_malformed(data, message):
    with pytest.raises(_Malformed, match=message):
        decode_varint(data, 0)


def test_crc32c_known_values():
    # RFC 3720 (iSCSI) B.4 test vectors and the classic check value
    assert _crc32c.crc32c(b"123456789") == 0xE3069283
    assert _crc32c.crc32c(bytes(32)) == 0x8A9136AA
    assert _crc32c.crc32c(b"\xff" * 32) == 0x62A8AB43
    assert _crc32c.crc32c(bytes(range(32))) == 0x46DD794E


@pytest.mark.parametrize("n", [0, 1, 4095, 4096, 4099, 65537, 300_001])
def test_crc32c_numpy_lanes_equal_bytewise(n):
    data = np.random.default_rng(n).integers(0, 256, size=n, dtype=np.uint8).tobytes()
    reference = _crc32c._raw_scalar(0xFFFFFFFF, data) ^ 0xFFFFFFFF
    assert _crc32c._raw_numpy(0xFFFFFFFF, data) ^ 0xFFFFFFFF == reference
    assert _crc32c.crc32c(data) == reference
    cut = n // 3
    assert _crc32c.crc32c(data[cut:], _crc32c.crc32c(data[:cut])) == reference


def test_mask_round_trip_and_changes_value():
    for crc in (0, 1, 0xE3069283, 0xFFFFFFFF):
        assert _crc32c.unmask(_crc32c.mask(crc)) == crc
    assert _crc32c.mask(0) == 0xA282EAD8


def test_proto_round_trip():
    entry = BundleEntry(
        dtype=1,
        shape=(3, 0, 7),
        shard_id=2,
        offset=2**40,
        size=84,
        crc32c=0xDEADBEEF,
        slices=[((0, 2), (0, -1)), ((2, 1), (5, 2))],
    )
    assert decode_entry(encode_entry(entry)) == entry
    header = BundleHeader(num_shards=3, endianness=0, producer=1, min_consumer=0, bad_consumers=[7])
    assert decode_header(encode_header(header)) == header


def test_proto_skips_unknown_fields_and_checks_wire_types():
    extra = b"\x48\x05" + b"\x52\x02ab"  # field 9 varint, field 10 bytes: unknown, skipped
    assert decode_entry(encode_entry(BundleEntry(dtype=2)) + extra).dtype == 2
    with pytest.raises(_Malformed, match="dtype has wire type 2"):
        decode_entry(b"\x0a\x00")  # field 1 sent as bytes
    with pytest.raises(_Malformed, match="runs past the end"):
        decode_entry(b"\x12\x05ab")
    with pytest.raises(_Malformed, match="wire type 3"):
        decode_entry(b"\x0b")


def test_table_round_trip_many_blocks():
    entries = [(f"key{i:05d}".encode(), os.urandom(i % 50)) for i in range(2000)]
    table = build_table(entries, block_size=512)  # dozens of data blocks, restarts every 16 keys
    assert read_table(table) == entries


def test_table_rejects_unsorted_keys():
    table = build_table([(b"b", b"1"), (b"a", b"2")])
    with pytest.raises(_Malformed, match="not in strictly increasing order"):
        read_table(table)


def test_slice_keys_match_the_ones_tensorflow_wrote():
    reader = CheckpointReader(prefix("partitioned"))
    ours = {
        encode_slice_key(name, extents)
        for name in ("embedding", "wide")
        for extents in reader._entries[name].slices
    }
    assert ours == set(reader._slices)
    # and a hand-checked one: NumIncreasing(0), "wide" + terminator, rank 2, (0,4), (2,2)
    assert encode_slice_key("wide", ((0, 4), (2, 2))) == b"\x00wide\x00\x01\x01\x02\x80\x84\x82\x82"


def test_slice_key_order_follows_numeric_order():
    from rnnkit.tf_checkpoint._ordered_code import _signed_num_increasing

    values = sorted([-(2**63), -70000, -65, -64, -1, 0, 1, 63, 64, 8191, 8192, 2**40, 2**63 - 1])
    encoded = [_signed_num_increasing(v) for v in values]
    assert encoded == sorted(encoded)
    assert _signed_num_increasing(-1) == b"\x7f" and _signed_num_increasing(64) == b"\xc0\x40"


def test_crc32c_without_the_optional_package(monkeypatch):
    data = np.random.default_rng(3).integers(0, 256, size=70_001, dtype=np.uint8).tobytes()
    with_package = _crc32c.crc32c(data)
    monkeypatch.setattr(_crc32c, "_google_crc32c", None)
    assert _crc32c.crc32c(data) == with_package
    assert _crc32c.crc32c(b"123456789") == 0xE3069283
