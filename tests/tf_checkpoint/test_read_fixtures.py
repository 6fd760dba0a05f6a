"""rnnkit reads every checkpoint real TensorFlow wrote exactly as TensorFlow reads it."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint import CheckpointError, CheckpointReader

from ._fixtures import FIXTURES, NAMES, expected, prefix


def test_fixtures_present():
    assert {"basic_lstm", "gru", "bidirectional", "partitioned", "sharded", "dtypes"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_variable_matches_tf(name):
    values, dtypes, _ = expected(name)
    got = tc.read(prefix(name))
    numeric = {k for k in values if dtypes[k] != "string"}
    assert set(got) == numeric
    for key in numeric:
        want = values[key]
        assert got[key].dtype == want.dtype, key
        assert got[key].shape == want.shape, key
        np.testing.assert_array_equal(got[key], want, err_msg=key)


@pytest.mark.parametrize("name", NAMES)
def test_list_variables_matches_tf(name):
    values, dtypes, _ = expected(name)
    listed = tc.list_variables(prefix(name))
    assert [n for n, _, _ in listed] == sorted(values)
    for var, shape, dtype in listed:
        assert shape == values[var].shape
        assert dtype == dtypes[var]


def test_string_tensors_on_request():
    values, _, _ = expected("dtypes")
    got = tc.read(prefix("dtypes"), strings=True)
    assert got["words"].dtype == object and got["words"].shape == (2,)
    assert [b.decode() for b in got["words"]] == list(values["words"]) == ["a", "bc"]
    assert CheckpointReader(prefix("dtypes")).tensor("words").tolist() == [b"a", b"bc"]


def test_dtypes_fixture_covers_the_rnn_dtypes():
    listed = {n: d for n, _, d in tc.list_variables(prefix("dtypes"))}
    assert set(listed.values()) >= {"float16", "float32", "float64", "bfloat16", "int8", "int16"}
    assert listed["words"] == "string"
    got = tc.read(prefix("dtypes"))
    assert "words" not in got  # strings are listed, not read
    assert got["bf16"].dtype == np.float32  # bfloat16 widened exactly
    assert got["flag"].dtype == np.bool_ and got["i64"].shape == ()


def test_partitioned_variables_are_reassembled():
    _, _, rest = expected("partitioned")
    reader = CheckpointReader(prefix("partitioned"))
    assert len(reader._entries["embedding"].slices) == 2  # really saved as slices
    assert len(reader._entries["wide"].slices) == 3
    got = tc.read(prefix("partitioned"))
    for name in ("embedding", "wide", "plain"):
        np.testing.assert_array_equal(got[name], rest[f"full:{name}"])


def test_two_shards():
    reader = CheckpointReader(prefix("sharded"))
    assert reader.num_shards == 2
    assert {e.shard_id for e in reader._entries.values()} == {0, 1}
    values, _, _ = expected("sharded")
    got = tc.read(prefix("sharded"))
    for k, v in values.items():
        np.testing.assert_array_equal(got[k], v)


@pytest.mark.parametrize(
    "form", ["prefix", "index", "data", "directory", "pathlib"], ids=lambda f: f
)
def test_path_forms(form):
    p = prefix("basic_lstm")
    path = {
        "prefix": str(p),
        "index": f"{p}.index",
        "data": f"{p}.data-00000-of-00001",
        "directory": str(p.parent),
        "pathlib": p,
    }[form]
    assert sorted(tc.read(path)) == ["rnn/basic_lstm_cell/bias", "rnn/basic_lstm_cell/kernel"]


def test_state_file_with_absolute_path(tmp_path):
    for f in (FIXTURES / "gru").iterdir():
        if f.name != "checkpoint":
            shutil.copy(f, tmp_path / f.name)
    state_dir = tmp_path / "elsewhere"
    state_dir.mkdir()
    (state_dir / "checkpoint").write_text(
        f'model_checkpoint_path: "{tmp_path / "model.ckpt"}"\n'
        f'all_model_checkpoint_paths: "{tmp_path / "model.ckpt"}"\n'
    )
    assert "rnn/gru_cell/gates/kernel" in tc.read(state_dir)


def test_state_file_pointing_nowhere(tmp_path):
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "gone.ckpt"\n')
    with pytest.raises(CheckpointError, match=r"checkpoint: state file points to 'gone.ckpt'"):
        tc.read(tmp_path)


def test_directory_without_state_file(tmp_path):
    with pytest.raises(CheckpointError, match="directory has no 'checkpoint' state file"):
        tc.list_variables(tmp_path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint found \(missing .*nope.index\)"):
        tc.read(tmp_path / "nope")


def test_v1_checkpoint_is_refused(tmp_path):
    (tmp_path / "model.ckpt").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="not a V2 checkpoint"):
        tc.read(tmp_path / "model.ckpt")


def test_unknown_tensor_name():
    reader = CheckpointReader(prefix("basic_lstm"))
    with pytest.raises(CheckpointError, match=r"model.ckpt.index: no tensor named 'nope'"):
        reader.tensor("nope")


def test_error_is_a_value_error_with_path():
    with pytest.raises(ValueError) as info:
        tc.read(os.path.join(FIXTURES, "nope"))
    assert isinstance(info.value, CheckpointError)
    assert info.value.path is not None
