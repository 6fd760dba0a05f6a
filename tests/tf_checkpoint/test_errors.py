"""Every kind of bad input ends in a CheckpointError that names the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint import CheckpointError, CheckpointReader
from rnnkit.tf_checkpoint._proto import (
    BundleEntry,
    decode_entry,
    decode_header,
    encode_entry,
    encode_header,
)

from ._corrupt import copy_fixture, flip, rewrite_index


def _set_entry(name: str, **changes):
    """A mutation that changes fields of one entry."""

    def mutate(entries):
        out = []
        for key, value in entries:
            if key == name.encode():
                entry = decode_entry(value)
                for field, new in changes.items():
                    setattr(entry, field, new)
                value = encode_entry(entry)
            out.append((key, value))
        return out

    return mutate


def test_wrong_magic(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    index = Path(f"{p}.index")
    flip(index, index.stat().st_size - 1)
    with pytest.raises(CheckpointError, match=r"model\.ckpt\.index: bad magic number"):
        tc.read(p)


@pytest.mark.parametrize(
    "keep, message", [(20, "too short to be a table"), (-5, "bad magic number")]
)
def test_truncated_index(tmp_path, keep, message):
    p = copy_fixture("gru", tmp_path)
    index = Path(f"{p}.index")
    index.write_bytes(index.read_bytes()[:keep])
    with pytest.raises(CheckpointError, match=message):
        tc.list_variables(p)


def test_index_block_checksum(tmp_path):
    p = copy_fixture("gru", tmp_path)
    flip(Path(f"{p}.index"), 12)
    with pytest.raises(CheckpointError, match=r"index: data block checksum mismatch at offset 0"):
        tc.read(p)


def test_data_checksum(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    flip(Path(f"{p}.data-00000-of-00001"), 3, 0x01)
    with pytest.raises(
        CheckpointError,
        match=r"data-00000-of-00001: checksum mismatch for tensor 'rnn/basic_lstm_cell/",
    ):
        tc.read(p)


def test_truncated_data(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    data = Path(f"{p}.data-00000-of-00001")
    data.write_bytes(data.read_bytes()[:-4])
    with pytest.raises(CheckpointError, match=r"data-00000-of-00001: truncated: tensor"):
        tc.read(p)


def test_missing_shard(tmp_path):
    p = copy_fixture("sharded", tmp_path)
    Path(f"{p}.data-00001-of-00002").unlink()
    assert len(tc.list_variables(p)) == 4  # the index alone is fine
    with pytest.raises(
        CheckpointError, match=r"model\.ckpt\.data-00001-of-00002: data shard is missing"
    ):
        tc.read(p)


def test_corrupted_string_tensor(tmp_path):
    p = copy_fixture("dtypes", tmp_path)
    words = CheckpointReader(p)._entries["words"]
    flip(Path(f"{p}.data-00000-of-00001"), words.offset, 0x02)  # first length: 1 -> 3
    with pytest.raises(
        CheckpointError, match="checksum mismatch for the lengths of string tensor 'words'"
    ):
        tc.read(p, strings=True)
    assert "words" not in tc.read(p)  # not read, so not checked


@pytest.mark.parametrize("dtype, name", [(20, "resource"), (99, "<DataType 99>")])
def test_unsupported_dtype(tmp_path, dtype, name):
    p = copy_fixture("basic_lstm", tmp_path)
    rewrite_index(p, _set_entry("rnn/basic_lstm_cell/bias", dtype=dtype))
    with pytest.raises(CheckpointError, match=f"has dtype {name}, which rnnkit cannot read"):
        tc.read(p)


def test_bad_varint_behind_a_valid_checksum(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    rewrite_index(p, lambda e: [e[0], (e[1][0], b"\x08" + b"\xff" * 12)] + e[2:])
    with pytest.raises(CheckpointError, match=r"index: varint at offset 1 is longer than 10 bytes"):
        tc.read(p)


def test_size_that_does_not_match_the_shape(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    rewrite_index(p, _set_entry("rnn/basic_lstm_cell/bias", size=12))
    with pytest.raises(CheckpointError, match=r"stored size 12 bytes does not match shape \(16,\)"):
        tc.read(p)


def test_shard_out_of_range(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    rewrite_index(p, _set_entry("rnn/basic_lstm_cell/bias", shard_id=3))
    with pytest.raises(CheckpointError, match="is in shard 3, but there are 1"):
        tc.list_variables(p)


def test_missing_slice(tmp_path):
    p = copy_fixture("partitioned", tmp_path)
    rewrite_index(p, lambda e: [kv for kv in e if not kv[0].startswith(b"\x00embedding")])
    with pytest.raises(
        CheckpointError, match=r"slice \(\(0, 4\), \(0, 3\)\) of tensor 'embedding' is missing"
    ):
        tc.read(p)


def test_slices_that_do_not_cover(tmp_path):
    p = copy_fixture("partitioned", tmp_path)
    rewrite_index(p, _set_entry("embedding", slices=[((0, 4), (0, 3))]))
    with pytest.raises(
        CheckpointError, match="slices of tensor 'embedding' do not cover its shape"
    ):
        tc.read(p)


def test_newer_format_version(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)

    def mutate(entries):
        header = decode_header(entries[0][1])
        header.min_consumer = 7
        return [(b"", encode_header(header))] + entries[1:]

    rewrite_index(p, mutate)
    with pytest.raises(CheckpointError, match=r"min consumer 7\) is newer than this reader"):
        tc.read(p)


def test_no_header(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    rewrite_index(p, lambda e: e[1:])
    with pytest.raises(CheckpointError, match="index has no bundle header entry"):
        tc.read(p)


def test_snappy_block_refused(tmp_path):
    from rnnkit.tf_checkpoint._crc32c import crc32c, mask

    p = copy_fixture("basic_lstm", tmp_path)
    index = Path(f"{p}.index")
    raw = bytearray(index.read_bytes())
    # the first data block's trailer follows its contents; find its size from the index handle
    from rnnkit.tf_checkpoint._table import _decode_handle, _iter_block, _read_block

    footer = bytes(raw[-48:])
    _, pos = _decode_handle(footer, 0)
    idx_handle, _ = _decode_handle(footer, pos)
    first = next(
        iter(_iter_block(_read_block(bytes(raw), idx_handle, len(raw) - 48, "index"), "index"))
    )
    (offset, size), _ = _decode_handle(first[1], 0)
    raw[offset + size] = 1
    raw[offset + size + 1 : offset + size + 5] = mask(
        crc32c(bytes(raw[offset : offset + size + 1]))
    ).to_bytes(4, "little")
    index.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="snappy-compressed"):
        tc.read(p)


def test_non_utf8_name(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    rewrite_index(p, lambda e: e + [(b"\xff\xfe", encode_entry(BundleEntry(dtype=1)))])
    with pytest.raises(CheckpointError, match="is not UTF-8"):
        tc.read(p)


def test_bad_state_file(tmp_path):
    (tmp_path / "checkpoint").write_bytes(b"\xff\xfe garbage")
    with pytest.raises(CheckpointError, match=r"checkpoint: state file is not UTF-8"):
        tc.read(tmp_path)
    (tmp_path / "checkpoint").write_text("all_model_checkpoint_paths: 'x'\n")
    with pytest.raises(CheckpointError, match="state file names no model_checkpoint_path"):
        tc.read(tmp_path)


def test_huge_claimed_size_does_not_allocate(tmp_path):
    p = copy_fixture("basic_lstm", tmp_path)
    big = 2**40
    rewrite_index(p, _set_entry("rnn/basic_lstm_cell/bias", shape=(big // 4,), size=big))
    with pytest.raises(CheckpointError, match="truncated"):
        tc.read(p)
