"""AttentionCellWrapper and HighwayWrapper beyond the contract suite and the TF fixtures: the attention window,
the state forms, builds, and the highway gate's limits."""

from __future__ import annotations

import torch

import rnnkit as rk

B, D = 3, 4


def _x(seed=0, t=6):
    return torch.randn(B, t, D, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_attention_state_is_cell_state_attns_and_window():
    cell = rk.AttentionCellWrapper(rk.LSTMCell(5), attn_length=3, attn_size=2).double()
    assert cell.state_size == (rk.LSTMStateTuple(5, 5), 2, 6) and cell.output_size == 2
    state = cell.zero_state(B, torch.float64)
    x = _x()[:, 0]
    out, (cell_state, attns, window) = cell(x, state)  # builds lazily from the inputs
    assert cell.built and cell.input_size == D
    assert isinstance(cell_state, rk.LSTMStateTuple) and attns.shape == (B, 2)
    # The window drops its oldest entry and appends the output.
    torch.testing.assert_close(window[:, -2:], out)
    out2, (_, _, window2) = cell(x, (cell_state, attns, window))
    torch.testing.assert_close(window2[:, :4], window[:, 2:])
    torch.testing.assert_close(window2[:, 4:], out2)


def test_attention_concatenated_state_equals_tuple_state():
    tup = rk.AttentionCellWrapper(rk.GRUCell(3), attn_length=2, input_size=5)
    cat = rk.AttentionCellWrapper(rk.GRUCell(3), attn_length=2, input_size=5, state_is_tuple=False)
    tup.build(D)
    cat.build(D)
    tup, cat = tup.double(), cat.double()
    cat.load_state_dict(tup.state_dict())
    assert cat.state_size == 3 + 3 + 6
    out_t, st_t = rk.dynamic_rnn(tup, _x(), sequence_length=[6, 0, 3])
    out_c, st_c = rk.dynamic_rnn(cat, _x(), sequence_length=[6, 0, 3])
    torch.testing.assert_close(out_t, out_c)
    torch.testing.assert_close(torch.cat(rk.nest.flatten(st_t), 1), st_c)


def test_attention_input_size_is_the_cells_input_not_the_depth():
    """TF's ``input_size`` sizes the linear layer before the cell; the input depth comes from build / the inputs."""
    cell = rk.AttentionCellWrapper(rk.BasicLSTMCell(4), attn_length=2, input_size=7)
    cell.build(D)
    shapes = {k: tuple(v.shape) for k, v in rk.tf_variables(cell).items()}
    assert shapes["rnn/attention_cell_wrapper/kernel"] == (D + 4, 7)
    assert shapes["rnn/attention_cell_wrapper/basic_lstm_cell/kernel"] == (7 + 4, 16)


def test_highway_gate_limits():
    cell = rk.HighwayWrapper(rk.GRUCell(D, input_size=D), carry_bias_init=50.0).double()
    assert torch.equal(cell.carry_b, torch.full((D,), 50.0, dtype=torch.float64))
    with torch.no_grad():
        cell.carry_w.zero_()
    x = _x()
    out, _ = rk.dynamic_rnn(cell, x)
    torch.testing.assert_close(out, x)  # carry ~ 1: the inputs pass through
    with torch.no_grad():
        cell.carry_b.fill_(-50.0)
    gru_out, _ = rk.dynamic_rnn(cell.cell, x)
    torch.testing.assert_close(rk.dynamic_rnn(cell, x)[0], gru_out)  # carry ~ 0: the cell's output


def test_highway_uncoupled_creates_transform_weights_with_negated_bias():
    cell = rk.HighwayWrapper(rk.GRUCell(D), couple_carry_transform_gates=False, carry_bias_init=0.5)
    assert not cell.built
    cell.build(D)
    names = list(rk.tf_variables(cell))
    assert names[-4:] == ["rnn/carry_w", "rnn/carry_b", "rnn/transform_w", "rnn/transform_b"]
    assert torch.equal(cell.transform_b, torch.full((D,), -0.5))
