"""Old (TF 0.x / 1.0-1.1) RNN variable names are matched to the current ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint.legacy_names import modern_name
from rnnkit.tf_checkpoint.loading import load_tf_checkpoint

from ._fixtures import expected


@pytest.mark.parametrize(
    "old, new",
    [
        # TF 0.x: _linear's Matrix/Bias under CamelCase cell scopes
        ("RNN/BasicLSTMCell/Linear/Matrix", "rnn/basic_lstm_cell/kernel"),
        ("RNN/BasicLSTMCell/Linear/Bias", "rnn/basic_lstm_cell/bias"),
        ("RNN/BasicRNNCell/Linear/Matrix", "rnn/basic_rnn_cell/kernel"),
        ("RNN/GRUCell/Gates/Linear/Matrix", "rnn/gru_cell/gates/kernel"),
        ("RNN/GRUCell/Gates/Linear/Bias", "rnn/gru_cell/gates/bias"),
        ("RNN/GRUCell/Candidate/Linear/Matrix", "rnn/gru_cell/candidate/kernel"),
        ("RNN/GRUCell/Candidate/Linear/Bias", "rnn/gru_cell/candidate/bias"),
        ("RNN/LSTMCell/W_0", "rnn/lstm_cell/kernel"),
        ("RNN/LSTMCell/B", "rnn/lstm_cell/bias"),
        ("RNN/LSTMCell/W_F_diag", "rnn/lstm_cell/w_f_diag"),
        ("RNN/LSTMCell/W_I_diag", "rnn/lstm_cell/w_i_diag"),
        ("RNN/LSTMCell/W_O_diag", "rnn/lstm_cell/w_o_diag"),
        ("RNN/LSTMCell/W_P_0", "rnn/lstm_cell/projection/kernel"),
        (
            "RNN/MultiRNNCell/Cell1/BasicLSTMCell/Linear/Matrix",
            "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel",
        ),
        ("BiRNN/FW/BasicLSTMCell/Linear/Bias", "bidirectional_rnn/fw/basic_lstm_cell/bias"),
        ("BiRNN/BW/GRUCell/Gates/Linear/Matrix", "bidirectional_rnn/bw/gru_cell/gates/kernel"),
        ("encoder/RNN/BasicLSTMCell/Linear/Matrix", "encoder/rnn/basic_lstm_cell/kernel"),
        # TF 1.0 / 1.1: weights / biases
        ("rnn/basic_lstm_cell/weights", "rnn/basic_lstm_cell/kernel"),
        ("rnn/basic_rnn_cell/biases", "rnn/basic_rnn_cell/bias"),
        ("rnn/gru_cell/gates/weights", "rnn/gru_cell/gates/kernel"),
        ("rnn/gru_cell/candidate/biases", "rnn/gru_cell/candidate/bias"),
        ("rnn/lstm_cell/weights", "rnn/lstm_cell/kernel"),
        ("rnn/lstm_cell/projection/weights", "rnn/lstm_cell/projection/kernel"),
        ("rnn/multi_rnn_cell/cell_0/lstm_cell/biases", "rnn/multi_rnn_cell/cell_0/lstm_cell/bias"),
        # current names and non-RNN variables are left alone
        ("rnn/basic_lstm_cell/kernel", "rnn/basic_lstm_cell/kernel"),
        ("out_hidden/weights", "out_hidden/weights"),
        ("dense/Linear/Matrix", "dense/Linear/Matrix"),
        ("global_step", "global_step"),
        ("rnn/lstm_cell/W_1", "rnn/lstm_cell/W_1"),  # sharded old weights: not mapped
    ],
)
def test_modern_name(old, new):
    assert modern_name(old) == new


def test_old_gru_names_load_and_predict_like_tf(tmp_path):
    """The TF-saved GRU fixture's values rewritten under TF 0.x names still predict TF's outputs."""
    values, _, rest = expected("gru")
    old = {
        "RNN/GRUCell/Gates/Linear/Matrix": values["rnn/gru_cell/gates/kernel"],
        "RNN/GRUCell/Gates/Linear/Bias": values["rnn/gru_cell/gates/bias"],
        "RNN/GRUCell/Candidate/Linear/Matrix": values["rnn/gru_cell/candidate/kernel"],
        "RNN/GRUCell/Candidate/Linear/Bias": values["rnn/gru_cell/candidate/bias"],
    }
    tc.write(tmp_path / "old.ckpt", old)
    cell = rk.GRUCell(4, input_size=3)
    load_tf_checkpoint(cell, tmp_path / "old.ckpt")
    outputs, _ = rk.dynamic_rnn(
        cell, torch.from_numpy(rest["inputs"]), sequence_length=torch.from_numpy(rest["lengths"])
    )
    np.testing.assert_allclose(outputs.detach().numpy(), rest["out:outputs"], rtol=1e-5, atol=1e-5)


def test_exact_name_wins_over_an_old_one(tmp_path):
    tc.write(
        tmp_path / "m",
        {
            "rnn/basic_rnn_cell/kernel": np.ones((5, 2)),
            "rnn/basic_rnn_cell/weights": np.zeros((5, 2)),
            "rnn/basic_rnn_cell/bias": np.zeros(2),
        },
    )
    cell = rk.BasicRNNCell(2, input_size=3)
    result = load_tf_checkpoint(cell, tmp_path / "m", strict=False)
    assert result.unexpected == ["rnn/basic_rnn_cell/weights"]
    assert float(cell.kernel.detach().sum()) == 10.0
