"""Whole TF1 models (embedding, RNN, softmax) load from a real checkpoint by TF names given with ``rk.tf_name``;
strict mode tells weights from what training leaves behind (fixtures: tools/make_tf_model_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import rnnkit as rk
import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint import CheckpointError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf_models"
PTB = FIXTURES / "ptb" / "model.ckpt"


def ptb_arrays() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "ptb.npz") as npz:
        return {k: npz[k] for k in npz.files}


class PTBModel(nn.Module):
    """tensorflow/models' ptb_word_lm, as the docs' worked example rebuilds it."""

    def __init__(self, vocab: int = 11, size: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, size)
        self.cell = rk.MultiRNNCell(
            [rk.BasicLSTMCell(size, forget_bias=0.0, input_size=size) for _ in range(layers)]
        )
        self.softmax = nn.Linear(size, vocab)
        rk.tf_name(self.embedding, "Model/embedding")
        rk.tf_name(self.cell, "Model/RNN")
        rk.tf_name(
            self.softmax, "Model", {"weight": ("softmax_w", rk.TRANSPOSE), "bias": "softmax_b"}
        )

    def forward(self, ids: torch.Tensor, state=None):
        outputs, state = rk.dynamic_rnn(self.cell, self.embedding(ids), initial_state=state)
        return self.softmax(outputs), state


def test_ptb_model_loads_whole_and_reproduces_tf_logits():
    arrays = ptb_arrays()
    model = PTBModel()
    result = rk.load_tf_checkpoint(model, PTB)
    assert result == ([], [])
    assert sorted(result.not_weights) == sorted(
        ["Model/Variable", "beta1_power", "beta2_power", "global_step", "learning_rate"]
        + [n[4:] for n in arrays if n.startswith("var:") and n.endswith(("/Adam", "/Adam_1"))]
    )
    logits, _ = model(torch.from_numpy(arrays["ids"]).long())
    np.testing.assert_allclose(logits.detach().numpy(), arrays["out:logits"], rtol=2e-5, atol=2e-5)
    np.testing.assert_array_equal(
        model.softmax.weight.detach().numpy(), arrays["var:Model/softmax_w"].T
    )


def test_save_writes_tf_layout_and_loads_back(tmp_path):
    model = PTBModel()
    rk.load_tf_checkpoint(model, PTB)
    rk.save_tf_checkpoint(model, tmp_path / "m")
    saved = tc.read(tmp_path / "m")
    assert sorted(saved) == sorted(rk.model_tf_variables(model))
    np.testing.assert_array_equal(saved["Model/softmax_w"], ptb_arrays()["var:Model/softmax_w"])
    other = PTBModel()
    assert rk.load_tf_checkpoint(other, tmp_path / "m") == ([], [])
    for a, b in zip(model.parameters(), other.parameters()):
        assert torch.equal(a, b)


def test_a_weight_the_model_lacks_is_an_error_that_names_it():
    class NoSoftmax(PTBModel):
        def __init__(self) -> None:
            super().__init__()
            del self.softmax

    with pytest.raises(
        CheckpointError, match=r"unexpected \['Model/softmax_b', 'Model/softmax_w'\]"
    ):
        rk.load_tf_checkpoint(NoSoftmax(), PTB)
    result = rk.load_tf_checkpoint(NoSoftmax(), PTB, strict=False)
    assert (
        result.unexpected == ["Model/softmax_b", "Model/softmax_w"]
        and "global_step" in result.not_weights
    )


def test_a_parameter_without_a_tf_name_is_named_in_the_error():
    model = PTBModel()
    model.extra = nn.Linear(2, 2)
    with pytest.raises(
        ValueError,
        match=r"load_tf_checkpoint: expected a TF name for every parameter of "
        r"PTBModel, got none for \['extra.weight', 'extra.bias'\]",
    ):
        rk.load_tf_checkpoint(model, PTB)


def test_wrong_scope_in_a_model_hints_the_closest_name():
    model = PTBModel()
    rk.tf_name(model.embedding, "model/embedding")
    with pytest.raises(
        CheckpointError,
        match=r"missing \['model/embedding'\] \(closest checkpoint names: "
        r"\{'model/embedding': 'Model/embedding'\}\)",
    ):
        rk.load_tf_checkpoint(model, PTB)


def test_wrong_rnn_scope_names_the_scopes_and_the_closest():
    """The trap: ``scope="rnn"`` for a ptb checkpoint used to answer with a list of missing names only."""
    cell = rk.MultiRNNCell([rk.BasicLSTMCell(4, input_size=4), rk.BasicLSTMCell(4, input_size=4)])
    with pytest.raises(
        CheckpointError,
        match=r"expected the cell's TF variables under scope 'rnn', got no "
        r"variable there; RNN scopes in the checkpoint: \['Model/RNN'\] \(closest: 'Model/RNN'\)",
    ):
        rk.load_tf_checkpoint(cell, PTB, strict=False)
    assert rk.load_tf_checkpoint(cell, PTB, scope="Model/RNN") == ([], [])


def test_initialize_like_a_variable_scope_initializer():
    model = PTBModel()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(5.0)
    done = rk.initialize(model, lambda t: torch.nn.init.uniform_(t, -0.1, 0.1))
    assert (
        "Model/RNN/multi_rnn_cell/cell_0/basic_lstm_cell/bias" not in done
    )  # TF: zeros of its own
    assert set(done) == set(rk.model_tf_variables(model)) - {
        f"Model/RNN/multi_rnn_cell/cell_{i}/basic_lstm_cell/bias" for i in range(2)
    }
    for name, var in rk.model_tf_variables(model).items():
        if name in done:
            assert float(var.param.detach().abs().max()) <= 0.1, name
        else:
            assert bool((var.param == 5.0).all()), name


def test_tf_name_defaults_and_errors():
    lin = rk.tf_name(nn.Linear(3, 2), "dense")
    assert {n: v.tf_shape for n, v in rk.model_tf_variables(lin).items()} == {
        "dense/kernel": (3, 2),
        "dense/bias": (2,),
    }
    norm = rk.tf_name(nn.LayerNorm(3), "LayerNorm")
    assert list(rk.model_tf_variables(norm)) == ["LayerNorm/gamma", "LayerNorm/beta"]
    with pytest.raises(TypeError, match=r"tf_name: expected names= for a Conv1d"):
        rk.tf_name(nn.Conv1d(1, 1, 1), "conv")
    with pytest.raises(
        ValueError,
        match=r"expected a TF name for every parameter of Linear, got none for \['bias'\]",
    ):
        rk.tf_name(nn.Linear(3, 2), "d", {"weight": ("w", rk.TRANSPOSE)})


def test_learning_rate_variable_no_longer_breaks_a_strict_load_by_tf_variables_method():
    """The trap: a model with a ``tf_variables()`` method failed strict loading on ``Model/Variable``."""
    model = PTBModel()
    model.tf_variables = lambda: {
        n: v.param for n, v in rk.model_tf_variables(model).items() if "softmax" not in n
    }
    result = rk.load_tf_checkpoint(model, PTB, strict=False)
    assert "Model/Variable" in result.not_weights and "Model/Variable" not in result.unexpected
    assert result.unexpected == ["Model/softmax_b", "Model/softmax_w"]


def test_char_rnn_cell_loads_strictly_beside_its_softmax():
    """The trap: ``rnnlm/softmax_w`` inside the RNN's scope made a strict load of the RNN fail."""
    cell = rk.MultiRNNCell([rk.GRUCell(3, input_size=3), rk.GRUCell(3, input_size=3)])
    assert rk.load_tf_checkpoint(cell, FIXTURES / "char_rnn" / "model.ckpt", scope="rnnlm") == (
        [],
        [],
    )
    extra = rk.MultiRNNCell(
        [rk.GRUCell(3, input_size=3)]
    )  # a layer short: cell_1 is this RNN's, an error
    with pytest.raises(
        CheckpointError, match=r"unexpected \['rnnlm/multi_rnn_cell/cell_1/gru_cell/candidate/bias'"
    ):
        rk.load_tf_checkpoint(extra, FIXTURES / "char_rnn" / "model.ckpt", scope="rnnlm")
