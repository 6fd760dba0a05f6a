"""Tiny end-to-end runs of every task through the CLI: run directory, metrics, resume, plots, TF names."""

import json
import os
import signal

import numpy as np
import pytest
import torch

from rnnkit.cli import main
from rnnkit.cli.train import train_run
from rnnkit.tasks import TASKS
from rnnkit.tasks.mnist import MnistModel
from rnnkit.train import rundir as rd

TINY = {
    "mnist": ["--batch-size", "8", "--set", "model.num_units=8", "--set", "eval_examples=40"],
    "sine": ["--batch-size", "4", "--set", "cell_size=4", "--set", "test_windows=3"],
    "series": ["--batch-size", "4", "--set", "num_units=8"],
}


def train(capsys, task, run_dir, *extra, steps=4):
    argv = [
        "train",
        task,
        "--out",
        str(run_dir),
        "--max-steps",
        str(steps),
        *TINY[task],
        "--set",
        "log_every=2",
        "--set",
        "eval_every=2",
        "--set",
        "checkpoint_every=2",
        *extra,
    ]
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads((run_dir / rd.METRICS).read_text())


def test_mnist_run_dir_evaluate_predict(tmp_path, capsys):
    from PIL import Image

    d = tmp_path / "run"
    m = train(capsys, "mnist", d, "--preset", "seed001")
    assert m["steps"] == 4 and 0 <= m["test_accuracy"] <= 1 and m["test_loss"] > 0
    for f in (
        "config.json",
        "metrics.jsonl",
        "checkpoint.safetensors",
        "loss.png",
        "confusion_matrix.png",
        "step_probabilities.png",
    ):
        assert (d / f).stat().st_size > 0, f
    assert list((d / "tensorboard").glob("events.out.tfevents.*"))
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["preset"] == "seed001" and cfg["model"]["num_units"] == 8 and cfg["max_steps"] == 4
    capsys.readouterr()
    assert main(["evaluate", str(d)]) == 0
    assert json.loads(capsys.readouterr().out)["test_accuracy"] == m["test_accuracy"]
    assert main(["predict", str(d), "--index", "3"]) == 0
    by_index = json.loads(capsys.readouterr().out)
    assert by_index["label"] == 0 and len(by_index["probabilities"]) == 10
    # the same digit as a dark-on-light PNG gives the same prediction
    from rnnkit.data.mnist import load_mnist

    img = load_mnist().test_images[3]
    Image.fromarray(255 - img).save(tmp_path / "digit.png")
    assert main(["predict", str(d), "--image", str(tmp_path / "digit.png")]) == 0
    assert json.loads(capsys.readouterr().out)["probabilities"] == by_index["probabilities"]


def test_sine_run_plots_and_gif(tmp_path, capsys):
    d = tmp_path / "run"
    m = train(capsys, "sine", d, "--preset", "seed000", "--set", "tensorboard=false")
    assert set(m) >= {"test_mse", "steps", "train_seconds"} and m["test_mse"] > 0
    for f in ("loss.png", "sine_prediction.png", "sine_training.gif"):
        assert (d / f).stat().st_size > 0
    assert [s["step"] for s in rd.read_jsonl(d / rd.SNAPSHOTS)] == [0, 2, 4]
    capsys.readouterr()
    assert main(["predict", str(d)]) == 2
    assert "predict works on mnist and dates runs" in capsys.readouterr().err


@pytest.mark.parametrize("preset", ["default", "seed004"])
def test_series_run(tmp_path, capsys, preset):
    d = tmp_path / "run"
    m = train(capsys, "series", d, "--preset", preset, "--set", "tensorboard=false")
    assert m["test_mse"] > 0
    if preset == "seed004":
        assert {"train_mse", "heldout_mse"} <= set(m)
    assert (d / "series_prediction.png").stat().st_size > 0


@pytest.mark.parametrize(
    "task, preset", [("mnist", "seed001"), ("sine", "seed000"), ("mnist", "default")]
)
def test_resume_after_ctrl_c_equals_uninterrupted(tmp_path, capsys, monkeypatch, task, preset):
    """Dropout (RNG state), the carried sine state and the 1-cycle schedule all survive a resume."""
    overrides = {
        "max_steps": 6,
        "batch_size": 4,
        "log_every": 2,
        "eval_every": 3,
        "checkpoint_every": 100,
        "tensorboard": False,
        # unknown settings are refused: only this task's
        **(
            {"eval_examples": 40, "model": {"num_units": 6}}
            if task == "mnist"
            else {"test_windows": 2, "cell_size": 4}
        ),
    }
    cfg = TASKS[task].resolve_config(preset, overrides)
    assert train_run(cfg, tmp_path / "a", plots=False) == 0
    cls = TASKS[task]
    original = cls.train_loss

    def interrupt_at_3(self, step):
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, step)

    monkeypatch.setattr(cls, "train_loss", interrupt_at_3)
    assert train_run(cfg, tmp_path / "b", plots=False) == 130
    monkeypatch.setattr(cls, "train_loss", original)
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "b"), "--no-plots"]) == 0
    a = json.loads((tmp_path / "a" / rd.METRICS).read_text())
    b = json.loads((tmp_path / "b" / rd.METRICS).read_text())
    key = "test_accuracy" if task == "mnist" else "test_mse"
    assert a[key] == b[key] and a["steps"] == b["steps"] == 6
    if task == "mnist":
        assert a["test_loss"] == b["test_loss"]


def test_seed_repeats_exactly(tmp_path, capsys):
    m1 = train(
        capsys, "series", tmp_path / "a", "--seed", "5", "--no-plots", "--set", "tensorboard=false"
    )
    m2 = train(
        capsys, "series", tmp_path / "b", "--seed", "5", "--no-plots", "--set", "tensorboard=false"
    )
    m3 = train(
        capsys, "series", tmp_path / "c", "--seed", "6", "--no-plots", "--set", "tensorboard=false"
    )
    assert m1["test_mse"] == m2["test_mse"] != m3["test_mse"]


EXPECTED_NAMES = {
    "seed000": [
        "Variable",
        "Variable_1",
        "Variable_2",
        "Variable_3",
        "rnn/basic_lstm_cell/kernel",
        "rnn/basic_lstm_cell/bias",
    ],
    "seed001": [
        f"RNN/multi_rnn_cell/cell_{i}/lstm_cell/{p}" for i in (0, 1) for p in ("kernel", "bias")
    ]
    + ["Variable", "Variable_1"],
    "seed003-static": [
        "Variable",
        "Variable_1",
        "rnn/basic_lstm_cell/kernel",
        "rnn/basic_lstm_cell/bias",
    ],
    "seed003-dynamic": [
        "Variable",
        "Variable_1",
        "rnn/basic_lstm_cell/kernel",
        "rnn/basic_lstm_cell/bias",
    ],
    "seed004": [
        "rnn/basic_rnn_cell/kernel",
        "rnn/basic_rnn_cell/bias",
        "fully_connected/weights",
        "fully_connected/biases",
    ],
}


@pytest.mark.parametrize("preset", sorted(EXPECTED_NAMES))
def test_mnist_presets_tf_names_and_shapes(preset):
    m = MnistModel(TASKS["mnist"].presets[preset]["model"])
    names = m.tf_variables()
    assert list(names) == EXPECTED_NAMES[preset]
    # every parameter has exactly one TF name
    assert sorted(map(id, names.values())) == sorted(map(id, m.parameters()))
    assert m(torch.zeros(2, 28, 28)).shape == (2, 10)


def test_sine_tf_names_match_seed000():
    task_cls = TASKS["sine"]
    model = task_cls.build_model(type("T", (), {"config": task_cls.resolve_config("seed000")})())
    shapes = {k: tuple(v.shape) for k, v in model.tf_variables().items()}
    assert shapes == {
        "in_hidden/weights": (1, 10),
        "in_hidden/biases": (10,),
        "LSTM_cell/rnn/basic_lstm_cell/kernel": (20, 40),
        "LSTM_cell/rnn/basic_lstm_cell/bias": (40,),
        "out_hidden/weights": (10, 1),
        "out_hidden/biases": (1,),
    }
    assert np.isclose(model.in_hidden.bias.detach()[0].item(), 0.1)


def test_shift_augmentation_translates_each_image():
    cfg = TASKS["mnist"].resolve_config("default", {"max_steps": 1, "eval_examples": 10})
    task = TASKS["mnist"](cfg)
    x = task.train_xy[0][:16]
    y = task.shifted(x, step=3)
    torch.testing.assert_close(y, task.shifted(x, step=3), rtol=0, atol=0)  # a function of the step
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(16):
        crops = [
            padded[i, 2 + dy : 30 + dy, 2 + dx : 30 + dx]
            for dy in range(-2, 3)
            for dx in range(-2, 3)
        ]
        assert any(torch.equal(c, y[i]) for c in crops)
    assert not torch.equal(y, x)
    assert task.model.step_logits(task.pixels(x)).shape == (16, 14, 10)  # 2 rows per step
