"""Checkpoints saved by TensorFlow load into rnnkit cells and predict what TF predicted (1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint import CheckpointError
from rnnkit.tf_checkpoint.loading import load_tf_checkpoint

from ._fixtures import expected, prefix

TOL = {"rtol": 1e-5, "atol": 1e-5}


def _inputs(name):
    _, _, rest = expected(name)
    lengths = torch.from_numpy(rest["lengths"]) if "lengths" in rest else None
    return torch.from_numpy(rest["inputs"]), lengths, rest


def _close(got: torch.Tensor, want: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(got.detach().numpy(), want, **TOL, err_msg=what)


def test_basic_lstm():
    x, _, tf_out = _inputs("basic_lstm")
    cell = rk.BasicLSTMCell(4, input_size=3)
    assert load_tf_checkpoint(cell, prefix("basic_lstm")) == ([], [])
    outputs, state = rk.dynamic_rnn(cell, x)
    _close(outputs, tf_out["out:outputs"], "outputs")
    _close(state.c, tf_out["out:final_c"], "c")
    _close(state.h, tf_out["out:final_h"], "h")


def test_multi_lstm_with_peepholes_clip_and_projection():
    x, _, tf_out = _inputs("multi_lstm_peep_proj")
    cell = rk.MultiRNNCell(
        [
            rk.LSTMCell(5, use_peepholes=True, num_proj=3, cell_clip=0.8, input_size=3),
            rk.LSTMCell(4, use_peepholes=True, num_proj=2, input_size=3),
        ]
    )
    load_tf_checkpoint(cell, prefix("multi_lstm_peep_proj"))
    outputs, state = rk.dynamic_rnn(cell, x)
    _close(outputs, tf_out["out:outputs"], "outputs")
    for i in range(2):
        _close(state[i].c, tf_out[f"out:final_{i}_c"], f"layer {i} c")
        _close(state[i].h, tf_out[f"out:final_{i}_h"], f"layer {i} h")


def test_gru_with_sequence_length():
    x, lengths, tf_out = _inputs("gru")
    cell = rk.GRUCell(4, input_size=3)
    load_tf_checkpoint(cell, prefix("gru"))
    outputs, state = rk.dynamic_rnn(cell, x, sequence_length=lengths)
    _close(outputs, tf_out["out:outputs"], "outputs")
    _close(state, tf_out["out:final_state"], "state")


def _reverse_rows(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """TF's reverse_sequence: each row reversed over its own length only."""
    out = x.clone()
    for b, n in enumerate(lengths.tolist()):
        out[b, :n] = x[b, :n].flip(0)
    return out


def test_bidirectional():
    x, lengths, tf_out = _inputs("bidirectional")
    fw, bw = rk.LSTMCell(4, input_size=3), rk.LSTMCell(3, input_size=3)
    load_tf_checkpoint(fw, prefix("bidirectional"), scope="bidirectional_rnn/fw")
    load_tf_checkpoint(bw, prefix("bidirectional"), scope="bidirectional_rnn/bw")
    out_fw, st_fw = rk.dynamic_rnn(fw, x, sequence_length=lengths)
    out_bw, st_bw = rk.dynamic_rnn(bw, _reverse_rows(x, lengths), sequence_length=lengths)
    out_bw = _reverse_rows(out_bw, lengths)
    _close(out_fw, tf_out["out:outputs_fw"], "fw outputs")
    _close(out_bw, tf_out["out:outputs_bw"], "bw outputs")
    _close(st_fw.h, tf_out["out:fw_h"], "fw h")
    _close(st_bw.c, tf_out["out:bw_c"], "bw c")


def test_bidirectional_with_rnnkit_unroll():
    x, lengths, tf_out = _inputs("bidirectional")
    fw, bw = rk.LSTMCell(4, input_size=3), rk.LSTMCell(3, input_size=3)
    load_tf_checkpoint(fw, prefix("bidirectional"), scope="bidirectional_rnn/fw")
    load_tf_checkpoint(bw, prefix("bidirectional"), scope="bidirectional_rnn/bw")
    (out_fw, out_bw), (st_fw, st_bw) = rk.bidirectional_dynamic_rnn(
        fw, bw, x, sequence_length=lengths
    )
    _close(out_fw, tf_out["out:outputs_fw"], "fw outputs")
    _close(out_bw, tf_out["out:outputs_bw"], "bw outputs")
    _close(st_bw.h, tf_out["out:bw_h"], "bw h")


def test_pre_1_2_names_load_like_current_ones():
    x, _, tf_out = _inputs("basic_lstm")
    cell = rk.BasicLSTMCell(4, input_size=3)
    load_tf_checkpoint(cell, prefix("legacy_names"))  # RNN/BasicLSTMCell/Linear/{Matrix,Bias}
    outputs, _ = rk.dynamic_rnn(cell, x)
    _close(outputs, tf_out["out:outputs"], "outputs")


class SineModel(torch.nn.Module):
    """Seed 000's sine->cosine graph: dense 1->10 (in_hidden), BasicLSTMCell(10) in LSTM_cell/rnn,
    dense 10->1 (out_hidden), with the seed's variable names."""

    def __init__(self) -> None:
        super().__init__()
        self.w_in = torch.nn.Parameter(torch.zeros(1, 10))
        self.b_in = torch.nn.Parameter(torch.zeros(10))
        self.cell = rk.BasicLSTMCell(10, input_size=10)
        self.w_out = torch.nn.Parameter(torch.zeros(10, 1))
        self.b_out = torch.nn.Parameter(torch.zeros(1))

    def tf_variables(self) -> dict[str, torch.nn.Parameter]:
        return {
            "in_hidden/weights": self.w_in,
            "in_hidden/biases": self.b_in,
            **rk.tf_variables(self.cell, "LSTM_cell/rnn"),
            "out_hidden/weights": self.w_out,
            "out_hidden/biases": self.b_out,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = rk.dynamic_rnn(self.cell, x @ self.w_in + self.b_in)
        return outputs @ self.w_out + self.b_out


def test_seed000_sine_model_trained_by_tf():
    x, _, tf_out = _inputs("sine_seed000")
    model = SineModel()
    result = load_tf_checkpoint(model, prefix("sine_seed000"))  # Adam slots and beta powers ignored
    assert result == ([], [])
    _close(model(x), tf_out["out:pred"], "predictions")


def test_cell_slots_are_ignored_under_the_scope():
    cell = rk.BasicLSTMCell(10, input_size=10)
    assert load_tf_checkpoint(cell, prefix("sine_seed000"), scope="LSTM_cell/rnn") == ([], [])


def test_wrong_scope_names_what_is_there():
    cell = rk.BasicLSTMCell(4, input_size=3)
    with pytest.raises(
        CheckpointError,
        match=r"model\.ckpt: load_tf_checkpoint: expected the cell's TF variables under scope 'encoder', "
        r"got no variable there; RNN scopes in the checkpoint: \['rnn'\] \(closest: 'rnn'\)$",
    ):
        load_tf_checkpoint(cell, prefix("basic_lstm"), scope="encoder")


def test_extra_layer_in_checkpoint_is_unexpected():
    cell = rk.MultiRNNCell([rk.LSTMCell(5, use_peepholes=True, num_proj=3, input_size=3)])
    with pytest.raises(
        CheckpointError, match=r"unexpected \['rnn/multi_rnn_cell/cell_1/lstm_cell/bias'"
    ):
        load_tf_checkpoint(cell, prefix("multi_lstm_peep_proj"))
    result = load_tf_checkpoint(cell, prefix("multi_lstm_peep_proj"), strict=False)
    assert (
        result.missing == [] and len(result.unexpected) == 6
    )  # kernel, bias, 3 diagonals, projection


def test_non_strict_reports_missing_and_loads_the_rest():
    cell = rk.LSTMCell(4, use_peepholes=True, input_size=3)
    result = load_tf_checkpoint(
        cell, prefix("bidirectional"), scope="bidirectional_rnn/fw", strict=False
    )
    assert result.missing == [
        "bidirectional_rnn/fw/lstm_cell/w_f_diag",
        "bidirectional_rnn/fw/lstm_cell/w_i_diag",
        "bidirectional_rnn/fw/lstm_cell/w_o_diag",
    ]
    values, _, _ = expected("bidirectional")
    np.testing.assert_array_equal(
        cell.kernel.detach().numpy(), values["bidirectional_rnn/fw/lstm_cell/kernel"]
    )


def test_shape_mismatch():
    cell = rk.BasicLSTMCell(5, input_size=3)
    with pytest.raises(ValueError, match=r"shape mismatch"):
        load_tf_checkpoint(cell, prefix("basic_lstm"))


def test_float64_cell_gets_float64_values():
    cell = rk.GRUCell(4, input_size=3, dtype=torch.float64)
    load_tf_checkpoint(cell, prefix("gru"))
    values, _, _ = expected("gru")
    assert cell.gates_kernel.dtype == torch.float64
    np.testing.assert_array_equal(
        cell.gates_kernel.detach().numpy(), values["rnn/gru_cell/gates/kernel"]
    )


def test_wrong_kind_of_object():
    with pytest.raises(
        TypeError,
        match="load_tf_checkpoint: expected an rnnkit cell, a module named with rk.tf_name, or a module with a ",
    ):
        load_tf_checkpoint(torch.nn.Linear(2, 2), prefix("gru"))


def test_save_tf_checkpoint_writes_what_tf_saved(tmp_path):
    from rnnkit.tf_checkpoint.loading import save_tf_checkpoint

    cell = rk.MultiRNNCell(
        [
            rk.LSTMCell(5, use_peepholes=True, num_proj=3, cell_clip=0.8, input_size=3),
            rk.LSTMCell(4, use_peepholes=True, num_proj=2, input_size=3),
        ]
    )
    load_tf_checkpoint(cell, prefix("multi_lstm_peep_proj"))
    save_tf_checkpoint(cell, tmp_path / "model.ckpt")
    values, _, _ = expected("multi_lstm_peep_proj")
    got = tc.read(tmp_path)
    assert set(got) == set(values)
    for name, value in values.items():
        np.testing.assert_array_equal(got[name], value)


def test_tf_name_map_and_safetensors_to_tf(tmp_path):
    from safetensors.torch import save_file

    from rnnkit.tf_checkpoint.convert import safetensors_to_checkpoint
    from rnnkit.tf_checkpoint.loading import tf_name_map

    model = SineModel()
    load_tf_checkpoint(model, prefix("sine_seed000"))
    names = tf_name_map(model)
    assert names["w_in"] == "in_hidden/weights"
    assert names["cell.kernel"] == "LSTM_cell/rnn/basic_lstm_cell/kernel"
    save_file(model.state_dict(), str(tmp_path / "run.safetensors"))
    safetensors_to_checkpoint(
        tmp_path / "run.safetensors", tmp_path / "tf" / "model.ckpt", rename=names
    )
    fresh = SineModel()
    load_tf_checkpoint(fresh, tmp_path / "tf")
    x, _, tf_out = _inputs("sine_seed000")
    _close(fresh(x), tf_out["out:pred"], "predictions after run -> TF checkpoint -> model")
