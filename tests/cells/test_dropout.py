"""DropoutWrapper: keep rate and 1/keep scaling, variational mask sharing, the state filter, train/eval, seeds,
tensor keep probabilities and the error messages."""

from __future__ import annotations

import math

import pytest
import torch

import rnnkit as rk
from tests.contract import cases_of
from tests.contract.test_cell_contract import *  # noqa: F403  (the contract checks, over `case` below)

# the registry cases of this file's cells, for the contract checks imported above
case = cases_of(rk.DropoutWrapper)

B, D = 400, 50


class PassThrough(rk.RNNCell):
    """output = inputs, new state = LSTMStateTuple(c=inputs, h=inputs): makes every mask visible."""

    @property
    def state_size(self):
        return rk.LSTMStateTuple(D, D)

    @property
    def output_size(self):
        return D

    def forward(self, inputs, state):
        return inputs, rk.LSTMStateTuple(inputs, inputs)


def _ones(b=B):
    return torch.ones(b, D, dtype=torch.float64)


def _zero_state(b=B):
    return PassThrough().zero_state(b, torch.float64)


@pytest.mark.parametrize("which", ["input_keep_prob", "output_keep_prob"])
@pytest.mark.parametrize("keep", [0.3, 0.8])
def test_keep_rate_and_inverted_scaling(which, keep):
    cell = rk.DropoutWrapper(PassThrough(), **{which: keep}, seed=0)
    out, _ = cell(_ones(), _zero_state())
    kept = out != 0
    rate = kept.double().mean().item()
    assert abs(rate - keep) < 4 * math.sqrt(keep * (1 - keep) / out.numel())
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / keep))  # inverted dropout


def test_default_state_filter_never_drops_c():
    cell = rk.DropoutWrapper(PassThrough(), state_keep_prob=0.5, seed=1)
    _, state = cell(_ones(), _zero_state())
    assert torch.equal(state.c, _ones())  # c untouched
    assert 0.4 < (state.h == 0).double().mean().item() < 0.6
    assert set(state.h.unique().tolist()) == {0.0, 2.0}


def test_custom_state_filter_visitor():
    drop_all = rk.DropoutWrapper(
        PassThrough(), state_keep_prob=0.5, seed=1, dropout_state_filter_visitor=lambda s: True
    )
    _, state = drop_all(_ones(), _zero_state())
    assert (state.c == 0).any() and (state.h == 0).any()
    only_c = rk.DropoutWrapper(
        PassThrough(),
        state_keep_prob=0.5,
        seed=1,
        dropout_state_filter_visitor=lambda s: (
            rk.LSTMStateTuple(c=True, h=False) if isinstance(s, rk.LSTMStateTuple) else True
        ),
    )
    _, state = only_c(_ones(), _zero_state())
    assert (state.c == 0).any() and torch.equal(state.h, _ones())


def test_default_filter_in_a_multi_cell_keeps_every_c():
    cell = rk.MultiRNNCell([rk.BasicLSTMCell(3, input_size=2), rk.BasicLSTMCell(3, input_size=3)])
    wrapped = rk.DropoutWrapper(cell, state_keep_prob=0.5, seed=0)
    x, state = torch.randn(64, 2), cell.zero_state(64)
    torch.manual_seed(0)
    _, want = cell(x, state)
    _, got = wrapped(x, state)
    for w, g in zip(want, got):
        torch.testing.assert_close(g.c, w.c)
        assert (g.h == 0).any()


def test_variational_masks_shared_over_time_and_batch_fresh_per_unroll():
    cell = rk.DropoutWrapper(
        PassThrough(),
        input_keep_prob=0.5,
        output_keep_prob=0.6,
        state_keep_prob=0.7,
        variational_recurrent=True,
        seed=2,
    )
    x = torch.ones(8, 6, D, dtype=torch.float64)
    out, state = rk.dynamic_rnn(cell, x)
    first = out[0, 0]
    assert (first == 0).any() and (first != 0).any()
    assert torch.equal(out, first.expand_as(out))  # one mask for every row and every step
    again, _ = rk.dynamic_rnn(cell, x)
    assert not torch.equal(again, out)  # a new unroll call draws new masks
    static, _ = rk.static_rnn(cell, list(x.unbind(1)))
    assert all(torch.equal(s, static[0]) for s in static)
    assert not torch.equal(static[0], again[:, 0])
    # state: the h mask (keep 0.7) is [1, D] too, c untouched
    assert torch.equal(state.h, state.h[:1].expand_as(state.h))


def test_variational_masks_per_direction_in_bidirectional():
    cell_fw = rk.DropoutWrapper(
        PassThrough(), output_keep_prob=0.5, variational_recurrent=True, seed=3
    )
    cell_bw = rk.DropoutWrapper(
        PassThrough(), output_keep_prob=0.5, variational_recurrent=True, seed=4
    )
    x = torch.ones(3, 5, D, dtype=torch.float64)
    (out_fw, out_bw), _ = rk.bidirectional_dynamic_rnn(
        cell_fw, cell_bw, x, sequence_length=[5, 5, 5]
    )
    for out in (out_fw, out_bw):
        assert torch.equal(out, out[0, 0].expand_as(out))
    assert not torch.equal(out_fw, out_bw)


def test_non_variational_masks_differ_over_time_and_rows():
    cell = rk.DropoutWrapper(PassThrough(), output_keep_prob=0.5, seed=5)
    out, _ = rk.dynamic_rnn(cell, torch.ones(4, 3, D, dtype=torch.float64))
    assert not torch.equal(out[:, 0], out[:, 1])
    assert not torch.equal(out[0, 0], out[1, 0])


def test_manual_step_loop_uses_begin_sequence():
    cell = rk.DropoutWrapper(
        PassThrough(), output_keep_prob=0.5, variational_recurrent=True, seed=6
    )
    x, s = _ones(2), _zero_state(2)
    a, _ = cell(x, s)
    b, _ = cell(x, s)
    assert torch.equal(a, b)  # same sequence until told otherwise
    rk.begin_sequence(cell)
    c, _ = cell(x, s)
    assert not torch.equal(a, c)


def test_eval_mode_is_the_identity():
    inner = rk.LSTMCell(5, use_peepholes=True, input_size=4)
    cell = rk.DropoutWrapper(
        inner,
        input_keep_prob=0.2,
        output_keep_prob=0.3,
        state_keep_prob=0.4,
        variational_recurrent=True,
    ).eval()
    x = torch.randn(3, 7, 4)
    out, state = rk.dynamic_rnn(cell, x, sequence_length=[7, 0, 2])
    want_out, want_state = rk.dynamic_rnn(inner, x, sequence_length=[7, 0, 2])
    # The wrapped cell alone takes the fast step loop (input matmul for all steps at once), the wrapper the
    # per-step calls: equal to float32 rounding.
    for got, want in [(out, want_out), (state.c, want_state.c), (state.h, want_state.h)]:
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    cell.train()
    assert not torch.equal(rk.dynamic_rnn(cell, x)[0], rk.dynamic_rnn(inner, x)[0])


def test_seed_makes_masks_reproducible():
    def run(seed):
        cell = rk.DropoutWrapper(
            rk.GRUCell(4, input_size=3),
            input_keep_prob=0.5,
            output_keep_prob=0.5,
            state_keep_prob=0.5,
            seed=seed,
        )
        torch.manual_seed(0)
        with torch.no_grad():
            for p in cell.parameters():
                p.copy_(torch.linspace(-1, 1, p.numel()).view_as(p))
        torch.manual_seed(123)  # the global generator must not matter when a seed is given
        a = rk.dynamic_rnn(cell, torch.ones(2, 6, 3))[0]
        torch.manual_seed(999)
        b = rk.dynamic_rnn(cell, torch.ones(2, 6, 3))[0]
        return a, b

    a1, b1 = run(7)
    a2, b2 = run(7)
    a3, _ = run(8)
    assert torch.equal(a1, a2) and torch.equal(b1, b2)
    assert not torch.equal(a1, b1)  # later calls continue the stream
    assert not torch.equal(a1, a3)


def test_keep_probability_as_a_tensor_is_read_every_step():
    keep = torch.tensor(1.0)
    cell = rk.DropoutWrapper(PassThrough(), output_keep_prob=keep, seed=0)
    out, _ = cell(_ones(), _zero_state())
    assert torch.equal(out, _ones())  # fed 1.0: identity (the TF1 test-time idiom)
    keep.fill_(0.25)
    out, _ = cell(_ones(), _zero_state())
    assert abs((out != 0).double().mean().item() - 0.25) < 0.02
    assert set(out.unique().tolist()) == {0.0, 4.0}


def test_gradients_flow_through_kept_units_only():
    x = _ones(4).requires_grad_(True)
    cell = rk.DropoutWrapper(PassThrough(), input_keep_prob=0.5, seed=0)
    out, _ = cell(x, _zero_state(4))
    (grad,) = torch.autograd.grad(out.sum(), x)
    torch.testing.assert_close(grad, out.detach())  # 2 where kept, 0 where dropped


def test_names_pass_through():
    inner = rk.BasicLSTMCell(3, input_size=2)
    cell = rk.DropoutWrapper(inner, output_keep_prob=0.5)
    assert list(rk.tf_variables(cell)) == ["rnn/basic_lstm_cell/kernel", "rnn/basic_lstm_cell/bias"]
    assert cell.state_size == inner.state_size and cell.output_size == 3 and cell.built


@pytest.mark.parametrize(
    "bad", [0.0, -0.1, 1.5, float("nan"), torch.tensor(0.0), torch.tensor(2.0)]
)
@pytest.mark.parametrize("which", ["input_keep_prob", "output_keep_prob", "state_keep_prob"])
def test_keep_probabilities_outside_0_1_are_rejected(which, bad):
    with pytest.raises(ValueError, match=rf"DropoutWrapper: expected {which} in \(0, 1\], got"):
        rk.DropoutWrapper(PassThrough(), **{which: bad})


def test_a_tensor_fed_outside_0_1_is_rejected_at_the_call():
    keep = torch.tensor(0.5)
    cell = rk.DropoutWrapper(PassThrough(), state_keep_prob=keep)
    keep.fill_(0.0)
    with pytest.raises(
        ValueError, match=r"DropoutWrapper: expected state_keep_prob in \(0, 1\], got 0.0"
    ):
        cell(_ones(2), _zero_state(2))


@pytest.mark.parametrize("bad", ["0.5", None, True, torch.tensor([0.5, 0.5])])
def test_keep_probability_of_the_wrong_kind(bad):
    with pytest.raises(
        TypeError, match="DropoutWrapper: expected output_keep_prob to be a float or a 0-d"
    ):
        rk.DropoutWrapper(PassThrough(), output_keep_prob=bad)


def test_wrapping_something_that_is_not_a_cell():
    with pytest.raises(
        TypeError, match=r"DropoutWrapper: expected cell to be an rnnkit RNNCell, got LSTM"
    ):
        rk.DropoutWrapper(torch.nn.LSTM(3, 4))
    with pytest.raises(
        TypeError, match=r"DropoutWrapper: expected cell to be an rnnkit RNNCell, got int"
    ):
        rk.DropoutWrapper(3)


def test_bad_state_filter_visitor():
    with pytest.raises(
        TypeError, match="DropoutWrapper: expected dropout_state_filter_visitor to be callable"
    ):
        rk.DropoutWrapper(PassThrough(), dropout_state_filter_visitor=3)
    cell = rk.DropoutWrapper(
        PassThrough(), state_keep_prob=0.5, dropout_state_filter_visitor=lambda s: "yes"
    )
    with pytest.raises(
        ValueError, match="DropoutWrapper: expected dropout_state_filter_visitor to return a bool"
    ):
        cell(_ones(2), _zero_state(2))


def test_bad_seed_and_input_size():
    with pytest.raises(
        TypeError, match="DropoutWrapper: expected seed to be an int or None, got float"
    ):
        rk.DropoutWrapper(PassThrough(), seed=1.5)
    cell = rk.DropoutWrapper(
        PassThrough(), input_keep_prob=0.5, variational_recurrent=True, input_size=7
    )
    with pytest.raises(
        ValueError, match=r"DropoutWrapper: built for input_size=7, got input depths \[50\]"
    ):
        cell(_ones(2), _zero_state(2))
