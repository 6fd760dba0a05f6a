"""`rnnkit inspect`, `rnnkit convert` and `rnnkit import-tf` on real TF checkpoints and tiny trained runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit.tf_checkpoint as tc
from rnnkit.cli import main
from rnnkit.cli._common import load_run
from rnnkit.train import Checkpoint
from tests.tf_checkpoint._fixtures import expected, prefix

st = pytest.importorskip("safetensors.numpy")

TINY = ["--max-steps", "2", "--batch-size", "4", "--set", "cell_size=4", "--set", "test_windows=2"]
# seed 000's sine names for the run's state_dict keys (written out here, not taken from the model)
SINE_TF_NAMES = {
    "in_hidden.kernel": "in_hidden/weights",
    "in_hidden.bias": "in_hidden/biases",
    "rnn.cell.kernel": "LSTM_cell/rnn/basic_lstm_cell/kernel",
    "rnn.cell.bias": "LSTM_cell/rnn/basic_lstm_cell/bias",
    "out_hidden.kernel": "out_hidden/weights",
    "out_hidden.bias": "out_hidden/biases",
}


def cli(argv, capsys):
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tfcli") / "run"
    argv = [
        "train",
        "sine",
        "--preset",
        "seed000",
        "--out",
        run_dir,
        *TINY,
        "--set",
        "tensorboard=false",
    ]
    assert main([str(a) for a in [*argv, "--no-plots"]]) == 0
    return run_dir


def _table_rows(out: str) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, shape, dtype) of every row of an inspect table (between the header and the total)."""
    lines = out.strip().splitlines()
    assert lines[1].split() == ["name", "shape", "dtype", "params", "bytes"]
    total = next(i for i, line in enumerate(lines) if line.startswith("total: "))
    assert lines[total + 1 :] == [] or lines[total + 1].startswith(
        "RNN scopes"
    )  # then the architectures
    rows = []
    for line in lines[2:total]:
        name, rest = line.split(" ", 1)
        shape_text, _, tail = rest.strip()[1:].partition("]")
        shape = tuple(int(d) for d in shape_text.split(",") if d.strip())
        rows.append((name, shape, tail.split()[0]))
    return rows


@pytest.mark.parametrize("name", ["multi_lstm_peep_proj", "sine_seed000", "dtypes"])
def test_inspect_tf_checkpoint_matches_list_variables(name, capsys):
    rc, out, err = cli(["inspect", prefix(name).parent], capsys)
    assert rc == 0 and err == ""
    assert out.splitlines()[0] == f"TF checkpoint {prefix(name)} (1 shard)"
    listed = tc.list_variables(prefix(name))
    assert _table_rows(out) == [(n, tuple(s), d) for n, s, d in listed]
    _, dtypes, _ = expected(name)  # what TF itself said
    assert {n: d for n, _, d in _table_rows(out)} == dtypes
    assert f"total: {len(listed)} tensors" in out


def test_inspect_sine_fixture_numbers(capsys):
    rc, out, _ = cli(["inspect", prefix("sine_seed000").with_suffix(".ckpt.index")], capsys)
    assert rc == 0
    lines = out.splitlines()
    kernel = next(
        line for line in lines if line.startswith("LSTM_cell/rnn/basic_lstm_cell/kernel ")
    )
    assert kernel.split() == [
        "LSTM_cell/rnn/basic_lstm_cell/kernel",
        "[20,",
        "40]",
        "float32",
        "800",
        "3,200",
    ]
    size = prefix("sine_seed000").with_name("model.ckpt.data-00000-of-00001").stat().st_size
    assert lines[-3:] == [
        f"total: 20 tensors, 2,615 parameters, {size:,} bytes",
        "RNN scopes (rk.tf_checkpoint.build_cell(path, scope) rebuilds each):",
        "  LSTM_cell/rnn: BasicLSTMCell(num_units=10), input depth 10",
    ]


def test_convert_tf_to_safetensors_to_tf_is_exact(tmp_path, capsys):
    for name in ("dtypes", "partitioned", "sine_seed000"):
        out = tmp_path / f"{name}.safetensors"
        rc, text, _ = cli(["convert", prefix(name), out], capsys)
        assert rc == 0 and text.startswith(f"wrote {out}: ")
        rc, text, _ = cli(["inspect", out], capsys)  # inspect reads safetensors too
        assert rc == 0 and text.splitlines()[0] == f"safetensors {out}"
        rc, _, _ = cli(["convert", out, tmp_path / name / "model.ckpt", "--to", "tf"], capsys)
        assert rc == 0
        original, back = tc.read(prefix(name)), tc.read(tmp_path / name)
        assert sorted(back) == sorted(original)
        for key, value in original.items():
            assert back[key].dtype == value.dtype, key
            np.testing.assert_array_equal(back[key], value, err_msg=key)


def test_convert_run_dir_to_tf_under_seed_names(sine_run, tmp_path, capsys):
    rc, text, err = cli(["convert", sine_run, tmp_path / "tf/", "--to", "tf"], capsys)
    assert rc == 0, err
    assert "6 tensors of the sine run (preset seed000, step 2)" in text
    weights = Checkpoint(sine_run / "checkpoint.safetensors").model_state()
    got = tc.read(tmp_path / "tf")  # the directory: its state file points at tf/model.ckpt
    assert sorted(got) == sorted(SINE_TF_NAMES.values())
    for key, name in SINE_TF_NAMES.items():
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], weights[key].numpy(), err_msg=name)
    # the same by TF name into safetensors, and the run's own checkpoint file names the run too
    rc, _, _ = cli(
        [
            "convert",
            sine_run / "checkpoint.safetensors",
            tmp_path / "w.safetensors",
            "--to",
            "safetensors",
        ],
        capsys,
    )
    assert rc == 0
    flat = st.load_file(str(tmp_path / "w.safetensors"))
    assert all(np.array_equal(flat[n], got[n]) for n in got) and len(flat) == len(got)
    rc, _, _ = cli(
        ["convert", sine_run, tmp_path / "v.safetensors"], capsys
    )  # --to from OUT's suffix
    assert rc == 0 and sorted(st.load_file(str(tmp_path / "v.safetensors"))) == sorted(got)


def test_inspect_run_dir_lists_tf_names(sine_run, capsys):
    rc, out, _ = cli(["inspect", sine_run], capsys)
    assert rc == 0
    assert (
        out.splitlines()[0]
        == f"run {sine_run} (sine, preset seed000, step 2): model tensors by TF name"
    )
    rows = _table_rows(out)
    assert [r[0] for r in rows] == list(SINE_TF_NAMES.values())
    assert rows[2] == ("LSTM_cell/rnn/basic_lstm_cell/kernel", (8, 16), "float32")
    assert "state_dict rnn.cell.kernel" in out


def test_import_tf_then_evaluate_predicts_like_tf(tmp_path, capsys):
    run_dir = tmp_path / "imported"
    rc, text, err = cli(
        ["import-tf", prefix("sine_seed000").parent, "--task", "sine", "--out", run_dir], capsys
    )
    assert rc == 0, err
    assert text.startswith(f"imported 6 tensors from {prefix('sine_seed000')} into {run_dir}")
    task, ck = load_run(run_dir)
    assert ck.step == 0 and ck.meta["imported_from"] == str(prefix("sine_seed000").resolve())
    _, _, rest = expected("sine_seed000")
    x = torch.from_numpy(rest["inputs"])
    with torch.no_grad():
        pred, _ = task.model(x, task.model.cell.zero_state(x.shape[0]))
    np.testing.assert_allclose(pred.numpy(), rest["out:pred"], rtol=1e-5, atol=1e-5)
    rc, text, _ = cli(["evaluate", run_dir], capsys)
    assert rc == 0 and '"test_mse"' in text and '"step": 0' in text
    # and back out: the TF checkpoint written from the imported run holds TF's own values
    rc, _, _ = cli(["convert", run_dir, tmp_path / "again" / "model.ckpt"], capsys)
    values, _, _ = expected("sine_seed000")
    again = tc.read(tmp_path / "again")
    assert rc == 0 and sorted(again) == sorted(SINE_TF_NAMES.values())
    for name, value in again.items():
        np.testing.assert_array_equal(value, values[name])


def test_import_tf_mnist_seed000_then_predict(tmp_path, capsys):
    """Seed 000's MNIST graph (16 units) saved by TF -> run directory -> the CLI's predictions are TF's."""
    run_dir = tmp_path / "mnist"
    sizes = ["--set", "model.num_units=16", "--set", "model.input_dense=16"]
    argv = ["import-tf", prefix("mnist_seed000"), "--task", "mnist", *sizes, "--out", run_dir]
    rc, _, err = cli(argv, capsys)
    assert rc == 0, err
    task, _ = load_run(run_dir)
    _, _, rest = expected("mnist_seed000")
    with torch.no_grad():
        logits = task.model(torch.from_numpy(rest["inputs"]))
    np.testing.assert_allclose(logits.numpy(), rest["out:logits"], rtol=1e-5, atol=1e-5)
    rc, out, _ = cli(["predict", run_dir, "--index", "0"], capsys)
    assert rc == 0 and '"prediction"' in out
