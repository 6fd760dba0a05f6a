"""tf_variables / load_tf_variables: scopes, order, round trips, strict and non-strict loading."""

import numpy as np
import pytest
import torch

import rnnkit as rk


def _stack():
    return rk.MultiRNNCell(
        [rk.BasicLSTMCell(4, input_size=3), rk.LSTMCell(5, num_proj=2, input_size=4)]
    )


def test_scope_and_name_change_the_prefix():
    cell = rk.GRUCell(3, input_size=2, name="encoder_gru")
    assert list(rk.tf_variables(cell, scope="seq2seq/encoder")) == [
        "seq2seq/encoder/encoder_gru/gates/kernel",
        "seq2seq/encoder/encoder_gru/gates/bias",
        "seq2seq/encoder/encoder_gru/candidate/kernel",
        "seq2seq/encoder/encoder_gru/candidate/bias",
    ]
    assert list(rk.tf_variables(cell, scope=None))[0] == "encoder_gru/gates/kernel"


def test_named_tf_variables_is_the_cells_own_part():
    """The public per-cell hook: names relative to the given prefix, None for a parameter not built yet."""
    stack = _stack()
    names = [name for name, _ in stack.named_tf_variables()]
    assert names[0] == "multi_rnn_cell/cell_0/basic_lstm_cell/kernel"
    assert [name for name, _ in stack.named_tf_variables("rnn/")] == list(rk.tf_variables(stack))
    lazy = rk.GRUCell(3)
    assert [(name, p) for name, p in lazy.named_tf_variables("x/")][0] == (
        "x/gru_cell/gates/kernel",
        None,
    )
    wrapped = rk.BasicRNNCell(2, input_size=1)
    assert list(rk.DropoutWrapper(wrapped).named_tf_variables("s/")) == list(
        wrapped.named_tf_variables("s/")
    )


def test_tf_variables_are_the_module_parameters():
    cell = _stack()
    by_name = rk.tf_variables(cell)
    assert {id(p) for p in by_name.values()} == {id(p) for p in cell.parameters()}


def test_round_trip_between_two_stacks_gives_identical_outputs():
    src, dst = _stack(), _stack()
    arrays = {name + ":0": p.detach().numpy().copy() for name, p in rk.tf_variables(src).items()}
    result = rk.load_tf_variables(dst, arrays)
    assert result.missing == [] and result.unexpected == []
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(rk.dynamic_rnn(dst, x)[0], rk.dynamic_rnn(src, x)[0], rtol=0, atol=0)


def test_load_converts_dtype_and_accepts_tensors():
    cell = rk.BasicRNNCell(2, input_size=1, dtype=torch.float64)
    values = {
        "rnn/basic_rnn_cell/kernel": torch.ones(3, 2),
        "rnn/basic_rnn_cell/bias": np.full(2, 0.5, np.float32),
    }
    rk.load_tf_variables(cell, values)
    assert (
        cell.kernel.dtype == torch.float64
        and cell.bias.tolist() == [0.5, 0.5]
        and cell.kernel.sum().item() == 6.0
    )


def test_strict_error_lists_missing_unexpected_and_mismatched_at_once():
    cell = _stack()
    values = {k: v.detach().numpy() for k, v in rk.tf_variables(cell).items()}
    del values["rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias"]
    values["rnn/extra/kernel"] = np.zeros(1)
    values["rnn/multi_rnn_cell/cell_1/lstm_cell/projection/kernel"] = np.zeros((7, 2))
    before = cell.cells[0].kernel.detach().clone()
    with pytest.raises(ValueError) as info:
        rk.load_tf_variables(
            cell, {**values, "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel": np.ones((7, 16))}
        )
    message = str(info.value)
    assert message.startswith("load_tf_variables: expected")
    assert "missing ['rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias']" in message
    assert "unexpected ['rnn/extra/kernel']" in message
    assert (
        "rnn/multi_rnn_cell/cell_1/lstm_cell/projection/kernel: expected (5, 2), got (7, 2)"
        in message
    )
    torch.testing.assert_close(cell.cells[0].kernel, before, rtol=0, atol=0)  # nothing was copied


def test_non_strict_loads_the_intersection_and_reports_the_rest():
    cell = rk.BasicLSTMCell(2, input_size=1)
    result = rk.load_tf_variables(
        cell, {"rnn/basic_lstm_cell/bias": np.arange(8.0), "other": np.zeros(2)}, strict=False
    )
    assert result.missing == ["rnn/basic_lstm_cell/kernel"] and result.unexpected == ["other"]
    assert cell.bias.tolist() == list(range(8))


def test_unbuilt_cell_is_reported():
    with pytest.raises(
        ValueError,
        match=r"tf_variables: expected a built cell, got BasicLSTMCell whose variable "
        r"rnn/basic_lstm_cell/kernel does not exist yet",
    ):
        rk.tf_variables(rk.BasicLSTMCell(3))


def test_lazy_build_on_first_call_then_names_exist():
    cell = rk.LSTMCell(3, use_peepholes=True)
    rk.dynamic_rnn(cell, torch.randn(1, 2, 5))
    assert [tuple(p.shape) for p in rk.tf_variables(cell).values()] == [
        (8, 12),
        (12,),
        (3,),
        (3,),
        (3,),
    ]
