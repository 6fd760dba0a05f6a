"""rk.RNN / rk.BidirectionalRNN: the unrolls as nn.Module layers, stateful streaming, learned initial state."""

import pytest
import torch

import rnnkit as rk


def _close(a, b, tol=1e-6):
    for x, y in zip(rk.nest.flatten(a), rk.nest.flatten(b)):
        torch.testing.assert_close(x, y, atol=tol, rtol=tol)


@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize("time_major", [False, True])
def test_layer_equals_dynamic_rnn(fused, time_major, gen):
    cell = rk.MultiRNNCell([rk.BasicLSTMCell(5, input_size=3), rk.GRUCell(4, input_size=5)])
    layer = rk.RNN(cell, time_major=time_major, fused=fused)
    x = torch.randn(6, 4, 3, generator=gen)  # [T, B, D] or [B, T, D] alike: both axes > 1
    lengths = torch.tensor([6, 0, 3, 5]) if time_major else torch.tensor([4, 0, 2, 3, 1, 4])
    got = layer(x, sequence_length=lengths)
    want = rk.dynamic_rnn(cell, x, sequence_length=lengths, time_major=time_major, fused=fused)
    _close(got, want)


def test_layer_registers_parameters_and_keeps_tf_names():
    cell = rk.LSTMCell(4, use_peepholes=True, input_size=3)
    layer = rk.RNN(cell)
    assert [id(p) for p in layer.parameters()] == [id(p) for p in cell.parameters()]
    assert set(layer.state_dict()) == {f"cell.{k}" for k in cell.state_dict()}
    names = [n for n, _ in layer.named_tf_variables()]
    assert names == list(rk.tf_variables(cell, scope="rnn"))
    assert [n for n, _ in rk.RNN(cell, scope="encoder").named_tf_variables()][
        0
    ] == "encoder/lstm_cell/kernel"


def test_layer_follows_to_and_hooks(gen):
    layer = rk.RNN(rk.BasicRNNCell(3, input_size=2)).to(torch.float64)
    seen = []
    layer.register_forward_hook(lambda m, args, out: seen.append(out[0].dtype))
    layer(torch.randn(2, 3, 2, generator=gen, dtype=torch.float64))
    assert seen == [torch.float64]


def test_trainable_initial_state_is_used_named_and_learns(gen):
    cell = rk.BasicLSTMCell(4, input_size=3)
    layer = rk.RNN(cell, trainable_initial_state=True)
    assert [n for n, _ in layer.named_tf_variables()][-2:] == [
        "rnn/initial_state_0",
        "rnn/initial_state_1",
    ]
    x = torch.randn(2, 5, 3, generator=gen)
    # zero-initialised: the same as the zero state
    _close(layer(x), rk.dynamic_rnn(cell, x))
    with torch.no_grad():
        for v in layer.initial_state.vectors:
            v.normal_(generator=gen)
    c0, h0 = (v.expand(2, 4) for v in layer.initial_state.vectors)
    _close(layer(x), rk.dynamic_rnn(cell, x, initial_state=rk.LSTMStateTuple(c0, h0)))
    out, state = layer(x)
    (out.sum() + state.c.sum()).backward()
    grads = [v.grad for v in layer.initial_state.vectors]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    # the explicit initial_state argument wins over the learned one
    zeros = cell.zero_state(2)
    _close(layer(x, initial_state=zeros), rk.dynamic_rnn(cell, x, initial_state=zeros))


def test_trainable_initial_state_module():
    init = rk.TrainableInitialState(rk.MultiRNNCell([rk.GRUCell(3), rk.BasicLSTMCell(2)]))
    state = init(4)
    assert [tuple(t.shape) for t in rk.nest.flatten(state)] == [(4, 3), (4, 2), (4, 2)]
    assert isinstance(state[1], rk.LSTMStateTuple)
    assert [n for n, _ in init.named_tf_variables("s/")] == [
        "s/initial_state_0",
        "s/initial_state_1",
        "s/initial_state_2",
    ]


def test_stateful_streaming_equals_one_long_call(gen):
    cell = rk.GRUCell(4, input_size=2)
    x = torch.randn(3, 10, 2, generator=gen)
    whole, final = rk.dynamic_rnn(cell, x)
    layer = rk.RNN(cell, stateful=True)
    first, _ = layer(x[:, :6])
    second, kept = layer(x[:, 6:])
    _close(torch.cat([first, second], 1), whole)
    _close(kept, final)
    assert not layer.state.requires_grad  # kept detached: truncated backprop between calls


def test_stateful_reset_rows_and_all(gen):
    cell = rk.BasicLSTMCell(3, input_size=2)
    layer = rk.RNN(cell, stateful=True)
    x = torch.randn(2, 4, 2, generator=gen)
    layer(x)
    kept_row1 = layer.state.h[1].clone()
    layer.reset_state(torch.tensor([True, False]))
    assert torch.equal(layer.state.h[0], torch.zeros(3)) and torch.equal(
        layer.state.h[1], kept_row1
    )
    out, _ = layer(x)
    fresh, _ = rk.dynamic_rnn(cell, x[:1])
    _close(out[:1], fresh)
    layer.reset_state()
    assert layer.state is None
    layer(torch.randn(5, 4, 2, generator=gen))  # a new batch size after a full reset


def test_bidirectional_layer_equals_function(gen):
    fw, bw = rk.BasicLSTMCell(3, input_size=2), rk.GRUCell(4, input_size=2)
    layer = rk.BidirectionalRNN(fw, bw)
    x, lengths = torch.randn(3, 5, 2, generator=gen), torch.tensor([5, 2, 0])
    _close(
        layer(x, sequence_length=lengths),
        rk.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=lengths),
    )
    names = [n for n, _ in layer.named_tf_variables()]
    assert names == list(rk.tf_variables_bidirectional(fw, bw))


def test_bidirectional_layer_settings_live_in_its_two_rnns(gen):
    # One copy of each setting: the direction layers' own, which the unroll and the learned initial state both
    # read (a second copy on the bidirectional layer went stale when a user changed layer.fw.time_major).
    fw, bw = rk.BasicLSTMCell(3, input_size=2), rk.GRUCell(4, input_size=2)
    layer = rk.BidirectionalRNN(fw, bw, trainable_initial_state=True)
    layer.fw.time_major = layer.bw.time_major = True
    x = torch.randn(5, 3, 2, generator=gen)  # [T=5, B=3, D]
    (out_fw, out_bw), (state_fw, state_bw) = layer(x)
    assert out_fw.shape == (5, 3, 3) and out_bw.shape == (5, 3, 4)
    assert state_fw.h.shape == (3, 3) and state_bw.shape == (3, 4)
    start_fw, start_bw = layer.fw.start_state(3, x), layer.bw.start_state(3, x)
    _close(
        (out_fw, out_bw),
        rk.bidirectional_dynamic_rnn(
            fw, bw, x, initial_state_fw=start_fw, initial_state_bw=start_bw, time_major=True
        )[0],
    )


def test_stateful_full_reset_allows_a_new_batch_size(gen):
    layer = rk.RNN(rk.GRUCell(2, input_size=2), stateful=True)
    layer(torch.randn(2, 3, 2, generator=gen))
    layer.reset_state()
    out, _ = layer(torch.randn(3, 3, 2, generator=gen))
    assert out.shape == (3, 3, 2) and layer.state.shape == (3, 2)
