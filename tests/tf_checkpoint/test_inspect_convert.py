"""The logic behind `rnnkit inspect` and `rnnkit convert`."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint import CheckpointError
from rnnkit.tf_checkpoint.convert import checkpoint_to_safetensors, safetensors_to_checkpoint
from rnnkit.tf_checkpoint.inspect import describe, format_table

from ._fixtures import expected, prefix

st = pytest.importorskip("safetensors.numpy")


def test_table_for_a_real_checkpoint():
    lines = format_table(prefix("basic_lstm").parent).splitlines()
    assert lines[0] == f"TF checkpoint {prefix('basic_lstm')} (1 shard)"
    assert lines[1].split() == ["name", "shape", "dtype", "params", "bytes"]
    assert lines[2].split() == ["rnn/basic_lstm_cell/bias", "[16]", "float32", "16", "64"]
    assert lines[3].split() == ["rnn/basic_lstm_cell/kernel", "[7,", "16]", "float32", "112", "448"]
    assert lines[4] == "total: 2 tensors, 128 parameters, 512 bytes"


def test_table_notes_and_totals():
    text = format_table(prefix("partitioned"))
    assert "(1 shard)" in text and "2 slices" in text and "3 slices" in text
    data_size = prefix("partitioned").with_name("model.ckpt.data-00000-of-00001").stat().st_size
    assert text.endswith(f"total: 3 tensors, 47 parameters, {data_size:,} bytes")
    assert "(2 shards)" in format_table(prefix("sharded"))
    rows = {r["name"]: r for r in describe(prefix("dtypes"))}
    assert rows["words"]["note"] == "not read (string)"
    assert rows["bf16"]["note"] == "read as float32" and rows["bf16"]["bytes"] == 10
    assert rows["i64"]["shape"] == () and rows["i64"]["params"] == 1


def test_to_safetensors_and_back(tmp_path):
    values, dtypes, _ = expected("dtypes")
    out = tmp_path / "model.safetensors"
    written = checkpoint_to_safetensors(prefix("dtypes"), out)
    assert [n for n, _, _ in written] == sorted(n for n in values if dtypes[n] != "string")
    loaded = st.load_file(str(out))
    for name, value in loaded.items():
        np.testing.assert_array_equal(value, values[name])
    names = safetensors_to_checkpoint(out, tmp_path / "back" / "model.ckpt")
    assert names == sorted(loaded)
    back = tc.read(tmp_path / "back")
    for name in names:
        np.testing.assert_array_equal(back[name], loaded[name])
        assert back[name].dtype == loaded[name].dtype


def test_partitioned_becomes_whole_and_rename(tmp_path):
    out = tmp_path / "p.safetensors"
    checkpoint_to_safetensors(prefix("partitioned"), out)
    assert st.load_file(str(out))["embedding"].shape == (7, 3)
    safetensors_to_checkpoint(
        out, tmp_path / "r", rename=lambda n: None if n == "plain" else f"scope/{n}"
    )
    assert sorted(tc.read(tmp_path / "r")) == ["scope/embedding", "scope/wide"]
    safetensors_to_checkpoint(out, tmp_path / "d", rename={"plain": "kept/plain"})
    assert "kept/plain" in tc.read(tmp_path / "d")


def test_bad_safetensors_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
    with pytest.raises(CheckpointError, match=r"bad.safetensors: cannot read as safetensors"):
        safetensors_to_checkpoint(bad, tmp_path / "x")
    with pytest.raises(CheckpointError, match="no such safetensors file"):
        safetensors_to_checkpoint(tmp_path / "none.safetensors", tmp_path / "x")
