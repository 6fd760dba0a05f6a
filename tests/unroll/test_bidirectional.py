"""Bidirectional and stacked-bidirectional unrolls: reverse_sequence, the backward direction equals dynamic_rnn
on the length-reversed inputs, return structures, time layouts, TF names, and the error messages (their numbers
against TensorFlow: tests/test_tf_fixtures_surface.py)."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from tests.registry import CASE_IDS, CASES, D

B, T = 4, 6
LENGTHS = [6, 0, 3, 1]

# bidirectional_dynamic_rnn may run both directions in one fused kernel call, dynamic_rnn one direction or the
# fast step loop: the same math in a different order, equal to float64 rounding rather than bit for bit.
SAME = {"rtol": 1e-12, "atol": 1e-12}


def test_reverse_sequence_reverses_each_row_over_its_own_length():
    x = torch.arange(2 * 5, dtype=torch.float64).view(2, 5)[..., None]  # [B, T, 1]
    got = rk.reverse_sequence(x, torch.tensor([3, 5]), seq_axis=1, batch_axis=0)[..., 0]
    assert got.tolist() == [[2, 1, 0, 3, 4], [9, 8, 7, 6, 5]]
    got_tm = rk.reverse_sequence(x.transpose(0, 1), torch.tensor([3, 5]), seq_axis=0, batch_axis=1)
    assert torch.equal(got_tm.transpose(0, 1)[..., 0], got)
    assert torch.equal(rk.reverse_sequence(x, None)[..., 0], x.flip(1)[..., 0])
    zero = rk.reverse_sequence(x, torch.tensor([0, 1]))
    assert torch.equal(zero, x)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_backward_half_equals_dynamic_rnn_on_reversed_inputs(case):
    """The contract-suite property (STYLE rule 10) for every registered cell."""
    cell_fw, cell_bw = case.make_cell().double(), case.make_cell().double()
    x = torch.randn(B, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor(LENGTHS)
    (out_fw, out_bw), (state_fw, state_bw) = rk.bidirectional_dynamic_rnn(
        cell_fw, cell_bw, x, sequence_length=lengths
    )
    want_fw, want_state_fw = rk.dynamic_rnn(cell_fw, x, sequence_length=lengths)
    rev, want_state_bw = rk.dynamic_rnn(
        cell_bw, rk.reverse_sequence(x, lengths), sequence_length=lengths
    )
    torch.testing.assert_close(out_fw, want_fw, **SAME)
    torch.testing.assert_close(out_bw, rk.reverse_sequence(rev, lengths), **SAME)
    for got, want in zip(
        rk.nest.flatten((state_fw, state_bw)), rk.nest.flatten((want_state_fw, want_state_bw))
    ):
        torch.testing.assert_close(got, want, **SAME)
    for b, n in enumerate(LENGTHS):
        assert not out_bw[b, n:].any()


def _pair(seed=0):
    torch.manual_seed(seed)
    return rk.LSTMCell(3, num_proj=2, input_size=D).double(), rk.GRUCell(4, input_size=D).double()


def test_time_major_equals_batch_major_and_static_equals_dynamic():
    fw, bw = _pair()
    x = torch.randn(B, T, D, dtype=torch.float64)
    (o_fw, o_bw), states = rk.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=LENGTHS)
    (t_fw, t_bw), t_states = rk.bidirectional_dynamic_rnn(
        fw, bw, x.transpose(0, 1), sequence_length=LENGTHS, time_major=True
    )
    torch.testing.assert_close(t_fw.transpose(0, 1), o_fw, **SAME)
    torch.testing.assert_close(t_bw.transpose(0, 1), o_bw, **SAME)
    outputs, s_fw, s_bw = rk.static_bidirectional_rnn(
        fw, bw, list(x.unbind(1)), sequence_length=LENGTHS
    )
    assert isinstance(outputs, list) and len(outputs) == T and outputs[0].shape == (B, 2 + 4)
    torch.testing.assert_close(torch.stack(outputs, 1), torch.cat([o_fw, o_bw], -1), **SAME)
    for got, want in zip(rk.nest.flatten((s_fw, s_bw)), rk.nest.flatten(states)):
        torch.testing.assert_close(got, want, **SAME)


def test_nested_inputs_and_initial_states():
    fw, bw = rk.GRUCell(2, input_size=D + 1).double(), rk.BasicRNNCell(2, input_size=D + 1).double()

    class Concat(rk.CellWrapper):  # a cell reading a tuple of two inputs
        def forward(self, inputs, state):
            return self.cell(torch.cat(inputs, -1), state)

    a, b = torch.randn(B, T, D, dtype=torch.float64), torch.randn(B, T, 1, dtype=torch.float64)
    init_fw, init_bw = (
        torch.randn(B, 2, dtype=torch.float64),
        torch.randn(B, 2, dtype=torch.float64),
    )
    (o_fw, o_bw), (s_fw, s_bw) = rk.bidirectional_dynamic_rnn(
        Concat(fw),
        Concat(bw),
        (a, b),
        sequence_length=LENGTHS,
        initial_state_fw=init_fw,
        initial_state_bw=init_bw,
    )
    (w_fw, w_bw), (ws_fw, ws_bw) = rk.bidirectional_dynamic_rnn(
        fw,
        bw,
        torch.cat([a, b], -1),
        sequence_length=LENGTHS,
        initial_state_fw=init_fw,
        initial_state_bw=init_bw,
    )
    torch.testing.assert_close(o_bw, w_bw, **SAME)
    torch.testing.assert_close(s_bw, ws_bw, **SAME)
    torch.testing.assert_close(s_fw[1], init_fw[1], **SAME)  # length 0 keeps the initial state


def test_stacks_feed_concatenated_outputs_to_the_next_layer():
    torch.manual_seed(1)
    fws = [rk.GRUCell(3, input_size=D).double(), rk.BasicLSTMCell(2, input_size=5).double()]
    bws = [rk.BasicRNNCell(2, input_size=D).double(), rk.LSTMCell(2, input_size=5).double()]
    x = torch.randn(B, T, D, dtype=torch.float64)
    out, states_fw, states_bw = rk.stack_bidirectional_dynamic_rnn(
        fws, bws, x, sequence_length=LENGTHS
    )
    (f0, b0), (sf0, sb0) = rk.bidirectional_dynamic_rnn(fws[0], bws[0], x, sequence_length=LENGTHS)
    (f1, b1), (sf1, sb1) = rk.bidirectional_dynamic_rnn(
        fws[1], bws[1], torch.cat([f0, b0], -1), sequence_length=LENGTHS
    )
    torch.testing.assert_close(out, torch.cat([f1, b1], -1), **SAME)
    assert (
        isinstance(states_fw, tuple)
        and len(states_fw) == 2
        and isinstance(states_fw[1], rk.LSTMStateTuple)
    )
    torch.testing.assert_close(states_bw[0], sb0, **SAME)
    static_out, s_fw, s_bw = rk.stack_bidirectional_rnn(
        fws, bws, list(x.unbind(1)), sequence_length=LENGTHS
    )
    torch.testing.assert_close(torch.stack(static_out, 1), out, **SAME)
    assert isinstance(s_fw, tuple) and len(s_bw) == 2


def test_stacks_and_multi_rnn_cell_take_a_module_list():
    # A model that keeps its layers in an nn.ModuleList (so they register as submodules) passes it as it is.
    torch.manual_seed(2)
    fws = torch.nn.ModuleList([rk.GRUCell(3, input_size=D), rk.BasicLSTMCell(2, input_size=5)])
    bws = torch.nn.ModuleList([rk.BasicRNNCell(2, input_size=D), rk.LSTMCell(2, input_size=5)])
    fws, bws = fws.double(), bws.double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    out, _, _ = rk.stack_bidirectional_dynamic_rnn(fws, bws, x, sequence_length=LENGTHS)
    want, _, _ = rk.stack_bidirectional_dynamic_rnn(
        list(fws), list(bws), x, sequence_length=LENGTHS
    )
    torch.testing.assert_close(out, want, **SAME)
    steps, _, _ = rk.stack_bidirectional_rnn(fws, bws, list(x.unbind(1)), sequence_length=LENGTHS)
    torch.testing.assert_close(torch.stack(steps, 1), want, **SAME)
    stack = rk.MultiRNNCell(torch.nn.ModuleList([fws[0], rk.GRUCell(4, input_size=3).double()]))
    assert list(rk.tf_variables(stack))[:2] == [
        "rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel",
        "rnn/multi_rnn_cell/cell_0/gru_cell/gates/bias",
    ]
    torch.testing.assert_close(
        rk.dynamic_rnn(stack, x)[0],
        rk.dynamic_rnn(rk.MultiRNNCell(list(stack.cells)), x)[0],
        **SAME,
    )


def test_tf_names_of_bidirectional_and_stacked_models():
    fw, bw = _pair()
    assert list(rk.tf_variables_bidirectional(fw, bw)) == [
        "bidirectional_rnn/fw/lstm_cell/kernel",
        "bidirectional_rnn/fw/lstm_cell/bias",
        "bidirectional_rnn/fw/lstm_cell/projection/kernel",
        "bidirectional_rnn/bw/gru_cell/gates/kernel",
        "bidirectional_rnn/bw/gru_cell/gates/bias",
        "bidirectional_rnn/bw/gru_cell/candidate/kernel",
        "bidirectional_rnn/bw/gru_cell/candidate/bias",
    ]
    assert list(rk.tf_variables_bidirectional(fw, bw, scope="enc"))[0] == "enc/fw/lstm_cell/kernel"
    cells = [rk.BasicRNNCell(2, input_size=D)], [rk.BasicRNNCell(2, input_size=D)]
    assert list(rk.tf_variables_stack_bidirectional(*cells)) == [
        "stack_bidirectional_rnn/cell_0/bidirectional_rnn/fw/basic_rnn_cell/kernel",
        "stack_bidirectional_rnn/cell_0/bidirectional_rnn/fw/basic_rnn_cell/bias",
        "stack_bidirectional_rnn/cell_0/bidirectional_rnn/bw/basic_rnn_cell/kernel",
        "stack_bidirectional_rnn/cell_0/bidirectional_rnn/bw/basic_rnn_cell/bias",
    ]
    assert list(rk.tf_variables_stack_bidirectional(*cells, static=True))[0] == (
        "stack_bidirectional_rnn/cell_0/fw/basic_rnn_cell/kernel"
    )


def test_load_a_bidirectional_model_by_tf_name():
    fw, bw = _pair()
    names = rk.tf_variables_bidirectional(fw, bw)
    values = {n: torch.full(tuple(p.shape), float(i)) for i, (n, p) in enumerate(names.items())}
    result = rk.load_tf_variable_dict(names, values)
    assert result == ([], [])
    assert torch.all(bw.candidate_bias == 6.0) and torch.all(fw.kernel == 0.0)
    with pytest.raises(
        ValueError,
        match=r"load_tf_variable_dict: expected the model's TF variables, got missing "
        r"\['bidirectional_rnn/bw/gru_cell/candidate/bias'\]",
    ):
        rk.load_tf_variable_dict(
            names, {k: v for k, v in values.items() if not k.endswith("candidate/bias")}
        )
    with pytest.raises(
        ValueError,
        match="tf_variables_stack_bidirectional: expected cells_fw and cells_bw of the "
        "same depth, got 1 and 2",
    ):
        rk.tf_variables_stack_bidirectional([fw], [bw, bw])


def test_sequence_length_mismatches_are_clear_errors():
    fw, bw = _pair()
    x = torch.randn(B, T, D, dtype=torch.float64)
    with pytest.raises(
        ValueError,
        match=r"bidirectional_dynamic_rnn: expected sequence_length of shape \[B\] = "
        r"\(4,\), got shape \(3,\)",
    ):
        rk.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=[1, 2, 3])
    with pytest.raises(
        ValueError,
        match=r"bidirectional_dynamic_rnn: expected sequence_length <= the number of "
        r"time steps \(6\), got 7",
    ):
        rk.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=[7, 1, 1, 1])
    with pytest.raises(
        ValueError,
        match=r"static_bidirectional_rnn: expected sequence_length >= 0, got a minimum "
        r"of -1",
    ):
        rk.static_bidirectional_rnn(fw, bw, list(x.unbind(1)), sequence_length=[-1, 1, 1, 1])
    with pytest.raises(
        ValueError, match=r"stack_bidirectional_dynamic_rnn: expected sequence_length of shape"
    ):
        rk.stack_bidirectional_dynamic_rnn([fw], [bw], x, sequence_length=[1])
    with pytest.raises(
        ValueError, match=r"stack_bidirectional_rnn: expected sequence_length <= the number of"
    ):
        rk.stack_bidirectional_rnn([fw], [bw], list(x.unbind(1)), sequence_length=[9, 1, 1, 1])
    with pytest.raises(
        TypeError, match=r"bidirectional_dynamic_rnn: expected sequence_length to hold integers"
    ):
        rk.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=torch.ones(B))


def test_other_bad_inputs():
    fw, bw = _pair()
    x = torch.randn(B, T, D, dtype=torch.float64)
    with pytest.raises(
        TypeError,
        match="bidirectional_dynamic_rnn: expected cell_bw to be an rnnkit RNNCell, got LSTM",
    ):
        rk.bidirectional_dynamic_rnn(fw, torch.nn.LSTM(3, 3), x)
    with pytest.raises(
        ValueError,
        match=r"bidirectional_dynamic_rnn: expected inputs of rank 3 \[B, T, D\], got "
        r"shape \(4, 3\)",
    ):
        rk.bidirectional_dynamic_rnn(fw, bw, x[:, 0])
    with pytest.raises(
        ValueError,
        match=r"bidirectional_dynamic_rnn \(initial_state_bw\): expected a state tensor "
        r"of shape \[B=4, 4\], got shape \(4, 5\)",
    ):
        rk.bidirectional_dynamic_rnn(
            fw, bw, x, initial_state_bw=torch.zeros(B, 5, dtype=torch.float64)
        )
    with pytest.raises(
        TypeError, match="static_bidirectional_rnn: expected inputs to be a list of"
    ):
        rk.static_bidirectional_rnn(fw, bw, x)
    with pytest.raises(
        ValueError,
        match="stack_bidirectional_dynamic_rnn: expected cells_fw and cells_bw of the "
        "same depth, got 1 and 2",
    ):
        rk.stack_bidirectional_dynamic_rnn([fw], [bw, bw], x)
    with pytest.raises(
        ValueError, match="stack_bidirectional_rnn: expected at least one cell in cells_fw"
    ):
        rk.stack_bidirectional_rnn([], [], list(x.unbind(1)))
    with pytest.raises(
        TypeError, match=r"stack_bidirectional_dynamic_rnn: expected cells_fw\[0\] to be an rnnkit"
    ):
        rk.stack_bidirectional_dynamic_rnn([3], [bw], x)
    with pytest.raises(
        ValueError,
        match="stack_bidirectional_dynamic_rnn: expected initial_states_fw to be a list "
        "of 1 states",
    ):
        rk.stack_bidirectional_dynamic_rnn([fw], [bw], x, initial_states_fw=[None, None])
