"""`rnnkit export RUN --format onnx|torchscript --out FILE` on tiny trained runs: the files run outside rnnkit
(onnxruntime, torch.jit.load) and reproduce the run's model."""

import json

import numpy as np
import onnxruntime
import pytest
import torch

from rnnkit.cli import main
from rnnkit.cli._common import load_run

RUNS = {
    # task, preset, --set overrides: one fused model (mnist default), one loop model (static_rnn), the stateful sine
    "mnist": ["mnist", "--max-steps", "1", "--batch-size", "8", "--set", "model.num_units=8"],
    "mnist-static": [
        "mnist",
        "--preset",
        "seed003-static",
        "--max-steps",
        "1",
        "--batch-size",
        "8",
        "--set",
        "model.num_units=8",
    ],
    "sine": ["sine", "--max-steps", "2"],
    "series": ["series", "--max-steps", "2"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for name, argv in RUNS.items():
        run_dir = root / name
        assert main(["train", *argv, "--out", str(run_dir), "--no-plots"]) == 0
        out[name] = run_dir
    return out


def _export(run_dir, fmt, out, capsys):
    capsys.readouterr()
    assert main(["export", str(run_dir), "--format", fmt, "--out", str(out)]) == 0
    return json.loads(capsys.readouterr().out)


# time stays symbolic where one fused LSTM kernel runs the sequence (sine); mnist has 28 rows by construction;
# a Python loop over steps (mnist-static) and the relu RNN kernel (series) are recorded for the example's T.
@pytest.mark.parametrize(
    "name, time_dynamic",
    [("mnist", False), ("mnist-static", False), ("sine", True), ("series", False)],
)
def test_onnx_export_matches_the_run(name, time_dynamic, runs, tmp_path, capsys):
    summary = _export(runs[name], "onnx", tmp_path / "m.onnx", capsys)
    assert summary["max_abs_diff"] <= 1e-5
    dynamic = summary["dynamic"][summary["inputs"][0]]
    assert dynamic.get("0") == "batch" and ("1" in dynamic) == time_dynamic
    task, _ = load_run(runs[name], device="cpu")
    spec = task.export_spec()
    session = onnxruntime.InferenceSession(
        str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]
    )
    gen = torch.Generator().manual_seed(3)
    inputs = [
        torch.rand(3, *x.shape[1:], generator=gen) for x in spec.example_inputs
    ]  # a new batch size
    got = session.run(None, {n: x.numpy() for n, x in zip(summary["inputs"], inputs)})
    with torch.no_grad():
        want = spec.module(*inputs)
    want = [want] if isinstance(want, torch.Tensor) else list(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-5)


def test_torchscript_export_of_the_stateful_sine_model(runs, tmp_path, capsys):
    summary = _export(runs["sine"], "torchscript", tmp_path / "sine.pt", capsys)
    assert summary["inputs"] == ["x", "c", "h"] and summary["outputs"] == ["y", "c_out", "h_out"]
    loaded = torch.jit.load(str(tmp_path / "sine.pt"))
    task, _ = load_run(runs["sine"], device="cpu")
    spec = task.export_spec()
    gen = torch.Generator().manual_seed(5)
    x, c, h = (torch.rand(4, *t.shape[1:], generator=gen) for t in spec.example_inputs)
    with torch.no_grad():
        for a, b in zip(loaded(x, c, h), spec.module(x, c, h)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_export_refuses_to_overwrite(runs, tmp_path, capsys):
    target = tmp_path / "keep.onnx"
    target.write_text("mine")
    rc = main(["export", str(runs["series"]), "--format", "onnx", "--out", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and f"--out {target} exists" in err and len(err.strip().splitlines()) == 1
    assert target.read_text() == "mine"
