"""A checkpoint saved by seed 000's sine program (real TF) loads into rnnkit's own sine task model and
predicts what TF predicted (1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
from rnnkit.tasks import TASKS
from rnnkit.tasks.sine import SineModel

from ._fixtures import expected, prefix


def _seed000_sine_model() -> SineModel:
    cfg = TASKS["sine"].resolve_config("seed000", {})
    return SineModel(cfg["cell_size"], cfg["init"])


def test_sine_task_model_names_are_the_seed_programs():
    values, _, _ = expected("sine_seed000")
    model = _seed000_sine_model()
    names = model.tf_variables()
    weights = {n for n in values if "Adam" not in n and not n.startswith("beta")}
    assert set(names) == weights
    for name, param in names.items():
        assert tuple(param.shape) == values[name].shape, name


def test_seed000_sine_checkpoint_predicts_like_tf():
    values, _, rest = expected("sine_seed000")
    model = _seed000_sine_model()
    before = model.out_hidden.kernel.detach().clone()
    result = rk.load_tf_checkpoint(model, prefix("sine_seed000"), scope=None)
    assert result == ([], [])  # Adam slots and beta powers are not unexpected
    assert not torch.equal(before, model.out_hidden.kernel)
    np.testing.assert_array_equal(
        model.cell.kernel.detach().numpy(), values["LSTM_cell/rnn/basic_lstm_cell/kernel"]
    )
    x = torch.from_numpy(rest["inputs"])  # [50, 20, 1], TF ran it from the zero state
    with torch.no_grad():
        pred, _ = model(x, model.cell.zero_state(x.shape[0]))
    np.testing.assert_allclose(pred.numpy(), rest["out:pred"], rtol=1e-5, atol=1e-5)


def test_wrong_size_preset_is_refused():
    cfg = TASKS["sine"].resolve_config("default", {})  # cell_size 32, the checkpoint has 10
    model = SineModel(cfg["cell_size"], cfg["init"])
    with pytest.raises(
        ValueError,
        match=r"load_tf_checkpoint: shape mismatch \[in_hidden/weights: expected \(1, 32\)",
    ):
        rk.load_tf_checkpoint(model, prefix("sine_seed000"), scope=None)


def test_seed000_mnist_checkpoint_predicts_like_tf():
    """Seed 000's MNIST graph (16 units instead of 128 to keep the fixture small), trained 3 steps by TF."""
    from rnnkit.tasks.mnist import MnistModel, MnistTask

    _, _, rest = expected("mnist_seed000")
    m = dict(MnistTask.presets["seed000"]["model"], num_units=16, input_dense=16)
    model = MnistModel(m)
    assert rk.load_tf_checkpoint(model, prefix("mnist_seed000"), scope=None) == ([], [])
    with torch.no_grad():
        logits = model(torch.from_numpy(rest["inputs"]))
    np.testing.assert_allclose(logits.numpy(), rest["out:logits"], rtol=1e-5, atol=1e-5)
