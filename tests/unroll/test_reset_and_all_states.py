"""dynamic_rnn(reset=...) and return_all_states=True against a hand-stepped loop of the cell, row by row."""

import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import native


def _cells():
    return {
        "lstm": lambda: rk.BasicLSTMCell(
            4, input_size=3
        ),  # fusable: reset/all_states must leave the kernel
        "multi": lambda: rk.MultiRNNCell(
            [rk.LSTMCell(4, use_peepholes=True, input_size=3), rk.GRUCell(5, input_size=4)]
        ),
        "concat": lambda: rk.BasicLSTMCell(4, state_is_tuple=False, input_size=3),
    }


def _hand_loop(cell, x, lengths, reset, init, restart):
    """Row by row, step by step: reset before the step, TF's rule past the row's length. Returns per-row lists."""
    outs, states, finals = [], [], []
    for b in range(x.shape[0]):
        pick = lambda s: rk.nest.map_structure(lambda t: t[b : b + 1], s)  # noqa: E731
        state, row_out, row_states = pick(init), [], []
        for t in range(x.shape[1]):
            if t < lengths[b]:
                if reset[b, t]:
                    state = pick(restart)
                out, state = cell(x[b : b + 1, t], state)
                row_out.append(out)
                row_states.append(state)
            else:
                row_out.append(None)  # the test checks zeros there itself
                row_states.append(None)
        outs.append(row_out)
        states.append(row_states)
        finals.append(state)
    return outs, states, finals


def _zeros_like_state(cell, like):
    return rk.nest.map_structure(lambda s: torch.zeros(1, s, dtype=like.dtype), cell.state_size)


@pytest.mark.parametrize("kind", list(_cells()))
@pytest.mark.parametrize("swap_memory", [False, True])
@pytest.mark.parametrize("time_major", [False, True])
def test_reset_and_all_states_equal_a_hand_loop(kind, swap_memory, time_major, gen):
    torch.manual_seed(0)
    cell = _cells()[kind]().double()
    B, T = 4, 9
    x = torch.randn(B, T, 3, generator=gen, dtype=torch.float64)
    lengths = [9, 5, 0, 7]
    reset = torch.rand(B, T, generator=gen) < 0.3
    reset[3, 6] = True  # and one inside row 1's padding (t >= 5): no effect
    reset[1, 7] = True
    init = rk.nest.map_structure(
        lambda s: torch.randn(B, s, generator=gen, dtype=torch.float64), cell.state_size
    )
    restart = rk.nest.map_structure(
        lambda s: torch.randn(B, s, generator=gen, dtype=torch.float64), cell.state_size
    )
    tm = (lambda a: a.transpose(0, 1)) if time_major else (lambda a: a)
    out, final, all_states = rk.dynamic_rnn(
        cell, tm(x), sequence_length=lengths, initial_state=init, reset=tm(reset), reset_to=restart,
        return_all_states=True, time_major=time_major, swap_memory=swap_memory,
    )  # fmt: skip
    out, all_states = tm(out), rk.nest.map_structure(tm, all_states)
    want_out, want_states, want_final = _hand_loop(cell, x, lengths, reset, init, restart)
    for b in range(B):
        for t in range(T):
            got_out = out[b : b + 1, t]
            got_state = rk.nest.map_structure(lambda s: s[b : b + 1, t], all_states)
            if t < lengths[b]:
                torch.testing.assert_close(got_out, want_out[b][t])
                for g, w in zip(rk.nest.flatten(got_state), rk.nest.flatten(want_states[b][t])):
                    torch.testing.assert_close(g, w)
            else:  # zeros past the row's length, outputs and states alike
                assert not got_out.any() and not any(s.any() for s in rk.nest.flatten(got_state))
        for g, w in zip(rk.nest.flatten(final), rk.nest.flatten(want_final[b])):
            torch.testing.assert_close(g[b : b + 1], w)


def test_reset_equals_running_the_pieces_separately_with_gradients(gen):
    cell = rk.GRUCell(5, input_size=3).double()
    x = torch.randn(1, 8, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    reset = torch.zeros(1, 8, dtype=torch.bool)
    reset[0, 3] = reset[0, 6] = True
    out, final = rk.dynamic_rnn(cell, x, reset=reset)
    loss = (out * torch.linspace(-1, 1, 5, dtype=torch.float64)).sum() + final.sum()
    grads = torch.autograd.grad(loss, [x, *cell.parameters()])
    pieces = [rk.dynamic_rnn(cell, x[:, a:b]) for a, b in ((0, 3), (3, 6), (6, 8))]
    out2 = torch.cat([p[0] for p in pieces], 1)
    torch.testing.assert_close(out, out2)
    torch.testing.assert_close(final, pieces[-1][1])
    loss2 = (out2 * torch.linspace(-1, 1, 5, dtype=torch.float64)).sum() + pieces[-1][1].sum()
    for g, w in zip(grads, torch.autograd.grad(loss2, [x, *cell.parameters()])):
        torch.testing.assert_close(g, w)


def test_reset_gradient_reaches_the_initial_state(gen):
    cell = rk.BasicLSTMCell(3, input_size=2).double()
    init = rk.LSTMStateTuple(
        *(torch.randn(2, 3, dtype=torch.float64, requires_grad=True) for _ in "ch")
    )
    x = torch.randn(2, 5, 2, generator=gen, dtype=torch.float64)
    reset = torch.zeros(2, 5, dtype=torch.bool)
    reset[0, 2] = True
    assert torch.autograd.gradcheck(
        lambda c, h: rk.dynamic_rnn(cell, x, initial_state=rk.LSTMStateTuple(c, h), reset=reset)[0],
        tuple(init),
    )


def test_all_states_equal_stepping_the_cell(gen):
    cell = rk.LSTMCell(4, num_proj=2, input_size=3)
    x = torch.randn(2, 6, 3, generator=gen)
    out, final, states = rk.dynamic_rnn(cell, x, return_all_states=True)
    state = cell.zero_state(2)
    for t in range(6):
        o, state = cell(x[:, t], state)
        torch.testing.assert_close(out[:, t], o)
        torch.testing.assert_close(states.c[:, t], state.c)
        torch.testing.assert_close(states.h[:, t], state.h)
    torch.testing.assert_close(states.c[:, -1], final.c)


def test_bidirectional_all_states(gen):
    fw, bw = rk.BasicLSTMCell(3, input_size=2), rk.GRUCell(4, input_size=2)
    x, lengths = torch.randn(3, 5, 2, generator=gen), torch.tensor([5, 3, 0])
    (o_fw, o_bw), (s_fw, s_bw), (a_fw, a_bw) = rk.bidirectional_dynamic_rnn(
        fw, bw, x, sequence_length=lengths, return_all_states=True
    )
    (p_fw, p_bw), (q_fw, q_bw) = rk.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=lengths)
    torch.testing.assert_close(o_fw, p_fw)
    torch.testing.assert_close(o_bw, p_bw)
    torch.testing.assert_close(a_fw.h, o_fw)  # an LSTM's h is its output
    torch.testing.assert_close(
        a_bw, o_bw
    )  # a GRU's state is its output, reversed back the same way
    torch.testing.assert_close(s_bw, q_bw)


def test_stateful_layer_resets_to_its_initial_state_not_the_carried_one(gen):
    cell = rk.GRUCell(3, input_size=2)
    layer = rk.RNN(cell, stateful=True)
    x = torch.randn(2, 8, 2, generator=gen)
    layer(x[:, :4])
    reset = torch.zeros(2, 4, dtype=torch.bool)
    reset[0, 1] = True
    out, _, states = layer(x[:, 4:], reset=reset, return_all_states=True)
    fresh, _ = rk.dynamic_rnn(cell, x[:1, 5:])  # row 0 from step 5 on starts from zeros
    torch.testing.assert_close(out[:1, 1:], fresh)
    torch.testing.assert_close(states[:, -1], layer.state)


def test_explain_names_the_path_of_each_option():
    lstm, peep = rk.BasicLSTMCell(4), rk.LSTMCell(4, use_peepholes=True)
    assert rk.fused.explain(lstm, reset=True).startswith("step loop: reset= restarts single rows")
    assert rk.fused.explain(lstm, return_all_states=True).startswith(
        "step loop: return_all_states=True"
    )
    assert rk.fused.explain(lstm, swap_memory=True).startswith("fused, in recomputed chunks")
    assert rk.fused.explain(peep, swap_memory=True).startswith(
        "kernels.peephole_lstm_sequence (one autograd node per unroll"
        if native.library() is not None
        else "step loop with activation checkpointing"  # (RNNKIT_NATIVE=0, no compiler)
    )
    projected = rk.LSTMCell(4, use_peepholes=True, num_proj=2)  # no fused form, no sequence kernel
    assert rk.fused.explain(projected, swap_memory=True).startswith(
        "step loop with activation checkpointing"
    )
    assert rk.fused.explain(lstm).startswith("fused: torch._VF.lstm")
