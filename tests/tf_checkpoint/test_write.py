"""rk.tf_checkpoint.write: what it writes reads back identically (TF reading it is checked by the fixture
script, tools/make_tf_checkpoint_fixtures.py, which needs TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint import CheckpointError, CheckpointReader

from ._fixtures import expected


def _values(rng):
    return {
        "rnn/basic_lstm_cell/kernel": rng.standard_normal((7, 16)).astype(np.float32),
        "rnn/basic_lstm_cell/bias": rng.standard_normal(16).astype(np.float32),
        "f64": rng.standard_normal((2, 3)),
        "f16": rng.standard_normal(4).astype(np.float16),
        "i8": np.array([-128, 0, 127], dtype=np.int8),
        "u8": np.array([0, 255], dtype=np.uint8),
        "i16": np.array([-3, 3], dtype=np.int16),
        "i32": np.arange(6, dtype=np.int32).reshape(2, 3),
        "global_step": np.int64(42),
        "mask": np.array([True, False, True]),
        "empty": np.zeros((0, 5), dtype=np.float32),
        "name with spaces/ünïcode": np.ones(1, dtype=np.float32),
    }


def test_round_trip_keeps_values_dtypes_shapes(tmp_path):
    values = _values(np.random.default_rng(0))
    assert tc.write(tmp_path / "out" / "model.ckpt", values) == str(tmp_path / "out" / "model.ckpt")
    got = tc.read(tmp_path / "out")  # through the state file written beside it
    assert list(got) == sorted(values, key=lambda k: k.encode())
    for name, value in values.items():
        assert got[name].dtype == np.asarray(value).dtype, name
        assert got[name].shape == np.shape(value), name
        np.testing.assert_array_equal(got[name], value)


def test_big_endian_and_torch_inputs(tmp_path):
    values = {
        "be": np.arange(5, dtype=">f8"),
        "torch": torch.arange(6, dtype=torch.float32).reshape(2, 3).requires_grad_(),
        "noncontig": np.arange(12, dtype=np.int64).reshape(3, 4).T,
    }
    tc.write(tmp_path / "m", values, write_state=False)
    got = tc.read(tmp_path / "m")
    np.testing.assert_array_equal(got["be"], np.arange(5.0))
    np.testing.assert_array_equal(got["torch"], np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(got["noncontig"], np.arange(12).reshape(3, 4).T)
    assert not (tmp_path / "checkpoint").exists()


def test_state_file_lists_every_save(tmp_path):
    tc.write(tmp_path / "model.ckpt-1", {"a": np.zeros(1)})
    tc.write(tmp_path / "model.ckpt-2", {"a": np.ones(1)})
    state = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "model.ckpt-2"' in state
    assert state.count("all_model_checkpoint_paths") == 2
    np.testing.assert_array_equal(tc.read(tmp_path)["a"], [1.0])


def test_rewrites_a_tf_checkpoint_identically(tmp_path):
    values, _, _ = expected("multi_lstm_peep_proj")
    tc.write(tmp_path / "copy", values)
    got = tc.read(tmp_path / "copy")
    assert set(got) == set(values)
    for k, v in values.items():
        np.testing.assert_array_equal(got[k], v)


def test_index_header_and_entries(tmp_path):
    tc.write(tmp_path / "m", {"b": np.zeros((2, 2), np.float32), "a": np.zeros(3)})
    reader = CheckpointReader(tmp_path / "m")
    assert (reader.header.num_shards, reader.header.producer, reader.header.endianness) == (1, 1, 0)
    a, b = reader._entries["a"], reader._entries["b"]
    assert (a.dtype, a.offset, a.size, b.dtype, b.offset, b.size) == (2, 0, 24, 1, 24, 16)


@pytest.mark.parametrize(
    "value, message",
    [
        (np.array(["x"]), "tensor 'bad' has dtype <U1, which a TF checkpoint cannot store"),
        (np.array([object()]), "tensor 'bad' has dtype object"),
    ],
)
def test_unsupported_dtype_is_refused(tmp_path, value, message):
    with pytest.raises(CheckpointError, match=message):
        tc.write(tmp_path / "m", {"bad": value})


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="write: expected a mapping of name -> array, got list"):
        tc.write(tmp_path / "m", [np.zeros(1)])
    with pytest.raises(ValueError, match="write: tensor names must be non-empty strings, got ''"):
        tc.write(tmp_path / "m", {"": np.zeros(1)})
    with pytest.raises(ValueError, match="write: tensor names must be valid text"):
        tc.write(tmp_path / "m", {"bad\udcff": np.zeros(1)})


def test_big_endian_bundle_is_read(tmp_path):
    """A bundle from a big-endian machine (header endianness BIG, tensors stored big-endian)."""
    from pathlib import Path

    from rnnkit.tf_checkpoint._crc32c import crc32c, mask
    from rnnkit.tf_checkpoint._proto import decode_entry, decode_header, encode_entry, encode_header
    from rnnkit.tf_checkpoint._table import build_table, read_table

    values = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5,
        "b": np.arange(3, dtype=np.int64),
    }
    tc.write(tmp_path / "m", values, write_state=False)
    index, data = Path(f"{tmp_path / 'm'}.index"), Path(f"{tmp_path / 'm'}.data-00000-of-00001")
    raw = bytearray(data.read_bytes())
    entries = read_table(index.read_bytes())
    header = decode_header(entries[0][1])
    header.endianness = 1
    out = [(b"", encode_header(header))]
    for key, value in entries[1:]:
        entry = decode_entry(value)
        swapped = (
            values[key.decode()].astype(values[key.decode()].dtype.newbyteorder(">")).tobytes()
        )
        raw[entry.offset : entry.offset + entry.size] = swapped
        entry.crc32c = mask(crc32c(swapped))
        out.append((key, encode_entry(entry)))
    data.write_bytes(bytes(raw))
    index.write_bytes(build_table(out))
    got = tc.read(tmp_path / "m")
    for name, value in values.items():
        assert got[name].dtype == value.dtype  # native order again
        np.testing.assert_array_equal(got[name], value)
