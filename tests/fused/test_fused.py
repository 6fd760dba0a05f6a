"""The fused path (torch's RNN kernels) against the step loop: outputs, final states and gradients in float64,
for every fusable stack, with and without sequence_length (0 included), both time layouts; plus the decision
(``fused=True`` raises with the reason, ``explain``, the debug log)."""

from __future__ import annotations

import logging

import pytest
import torch

import rnnkit as rk
from rnnkit.fused.plan import make_plan
from rnnkit.fused.run import run_fused_bidirectional
from tests.registry import randomize

B, T, D = 4, 6, 3
LENGTHS = [6, 0, 3, 1]
TOL = {"rtol": 1e-11, "atol": 1e-12}

FUSABLE = {
    "basic_lstm": lambda: rk.BasicLSTMCell(5, forget_bias=0.7, input_size=D),
    "basic_lstm_concat": lambda: rk.BasicLSTMCell(4, state_is_tuple=False, input_size=D),
    "lstm": lambda: rk.LSTMCell(5, forget_bias=0.3, input_size=D),
    "lstm_proj": lambda: rk.LSTMCell(5, num_proj=2, input_size=D),
    "lstm_proj_concat": lambda: rk.LSTMCell(5, num_proj=3, state_is_tuple=False, input_size=D),
    "rnn_tanh": lambda: rk.BasicRNNCell(4, input_size=D),
    "rnn_relu": lambda: rk.BasicRNNCell(4, activation="relu", input_size=D),
    "multi_lstm": lambda: rk.MultiRNNCell(
        [rk.BasicLSTMCell(4, input_size=D), rk.BasicLSTMCell(4, input_size=4)]
    ),
    "multi_lstm_sizes_proj": lambda: rk.MultiRNNCell(
        [rk.LSTMCell(5, num_proj=3, input_size=D), rk.LSTMCell(5, num_proj=3), rk.BasicLSTMCell(2)]
    ),
    "multi_rnn_concat": lambda: rk.MultiRNNCell(
        [
            rk.BasicRNNCell(3, activation="relu", input_size=D),
            rk.BasicRNNCell(3, activation="relu"),
        ],
        state_is_tuple=False,
    ),
    "multi_lstm_concat": lambda: rk.MultiRNNCell(
        [
            rk.BasicLSTMCell(3, state_is_tuple=False, input_size=D),
            rk.LSTMCell(4, state_is_tuple=False),
        ],
        state_is_tuple=False,
    ),
    "multi_mixed_kinds": lambda: rk.MultiRNNCell(
        [rk.BasicLSTMCell(4, input_size=D), rk.BasicRNNCell(3)]
    ),
}


def _make(name: str, dtype=torch.float64) -> rk.RNNCell:
    cell = FUSABLE[name]()
    cell.build(D)
    cell = cell.to(dtype)
    return randomize(cell, seed=len(name))


def _random_state(cell, batch=B, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return rk.nest.map_structure(
        lambda n: torch.randn(batch, n, generator=gen, dtype=torch.float64), cell.state_size
    )


def _run_with_grads(cell, x, init, lengths, time_major, fused):
    """Outputs, final state and the gradients of a fixed random projection of both w.r.t. x, init, params."""
    x = x.clone().requires_grad_(True)
    init = rk.nest.map_structure(lambda s: s.clone().requires_grad_(True), init)
    out, final = rk.dynamic_rnn(
        cell, x, sequence_length=lengths, initial_state=init, time_major=time_major, fused=fused
    )
    gen = torch.Generator().manual_seed(7)
    loss = sum(
        (t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum()
        for t in [out, *rk.nest.flatten(final)]
    )
    wrt = [x, *rk.nest.flatten(init), *cell.parameters()]
    grads = torch.autograd.grad(
        loss, wrt, allow_unused=True
    )  # all lengths 0: the loop never reads x
    grads = [torch.zeros_like(w) if g is None else g for w, g in zip(wrt, grads)]
    return out.detach(), [s.detach() for s in rk.nest.flatten(final)], grads, final


@pytest.mark.parametrize("time_major", [False, True], ids=["batch_major", "time_major"])
@pytest.mark.parametrize(
    "lengths",
    [None, LENGTHS, [6, 6, 6, 6], [0, 0, 0, 0]],
    ids=["full", "mixed", "all_full", "all_zero"],
)
@pytest.mark.parametrize("name", list(FUSABLE))
def test_fused_equals_loop(name, lengths, time_major):
    cell = _make(name)
    assert rk.fused.fusable(cell), rk.fused.explain(cell)
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    if time_major:
        x = x.transpose(0, 1).contiguous()
    init = _random_state(cell)
    f_out, f_state, f_grads, f_struct = _run_with_grads(cell, x, init, lengths, time_major, True)
    l_out, l_state, l_grads, l_struct = _run_with_grads(cell, x, init, lengths, time_major, False)
    rk.nest.assert_same_structure(l_struct, f_struct)
    assert type(f_struct) is type(l_struct)
    torch.testing.assert_close(f_out, l_out, **TOL)
    for a, b in zip(f_state, l_state):
        torch.testing.assert_close(a, b, **TOL)
    for a, b in zip(f_grads, l_grads):
        torch.testing.assert_close(a, b, **TOL)
    if lengths is not None:  # TF's rule, checked directly: zeros past each row's length
        batch_major = f_out.transpose(0, 1) if time_major else f_out
        for b, n in enumerate(lengths):
            assert not batch_major[b, n:].any()


def test_fused_lazy_build_and_float32():
    cell = rk.MultiRNNCell([rk.BasicLSTMCell(4), rk.BasicLSTMCell(4)])
    x = torch.randn(B, T, D)
    out, state = rk.dynamic_rnn(cell, x, fused=True)
    assert cell.built and out.dtype == torch.float32 and state[1].h.dtype == torch.float32
    loop_out, loop_state = rk.dynamic_rnn(cell, x, fused=False)
    torch.testing.assert_close(out, loop_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state[1].c, loop_state[1].c, rtol=1e-5, atol=1e-6)


def test_fused_checks_inputs_like_the_cell():
    cell = rk.BasicLSTMCell(4, input_size=D)
    with pytest.raises(
        ValueError, match="BasicLSTMCell: built for input_size=3, got inputs.shape\\[-1\\]=5"
    ):
        rk.dynamic_rnn(cell, torch.zeros(2, 3, 5), fused=True)
    with pytest.raises(TypeError, match="BasicLSTMCell: expected torch.float32 inputs"):
        rk.dynamic_rnn(cell, torch.zeros(2, 3, D, dtype=torch.float64), fused=True)


NOT_FUSABLE = [
    (lambda: rk.GRUCell(4), "GRUCell"),
    (lambda: rk.LSTMCell(4, use_peepholes=True), "peepholes"),
    (lambda: rk.LSTMCell(4, cell_clip=1.0), "cell_clip"),
    (lambda: rk.LSTMCell(4, num_proj=2, proj_clip=1.0), "proj_clip"),
    (lambda: rk.BasicLSTMCell(4, activation="relu"), "activation relu"),
    (lambda: rk.BasicRNNCell(4, activation="sigmoid"), "activation sigmoid"),
    (lambda: rk.MultiRNNCell([rk.BasicLSTMCell(4), rk.GRUCell(4)]), "cells\\[1\\]: GRUCell"),
]


@pytest.mark.parametrize("make, reason", NOT_FUSABLE, ids=[r for _, r in NOT_FUSABLE])
def test_fused_true_raises_with_the_reason(make, reason):
    cell = make()
    assert not rk.fused.fusable(cell)
    assert rk.fused.explain(cell).startswith("step loop")  # a sequence kernel is a step loop, too
    with pytest.raises(
        ValueError,
        match=f"dynamic_rnn: fused=True, but torch's fused kernels cannot run this: .*{reason}",
    ):
        rk.dynamic_rnn(cell, torch.zeros(2, 3, D), fused=True)
    out, _ = rk.dynamic_rnn(cell, torch.zeros(2, 3, D))  # auto falls back to the loop
    assert out.shape[:2] == (2, 3)


def test_fused_true_rejects_nested_inputs_and_hooks():
    cell = rk.BasicLSTMCell(4, input_size=D)
    with pytest.raises(ValueError, match="nested structure"):
        rk.dynamic_rnn(cell, (torch.zeros(2, 3, D),), fused=True)
    calls = []
    cell.register_forward_hook(lambda *args: calls.append(1))
    assert "forward hooks" in rk.fused.explain(cell)
    rk.dynamic_rnn(cell, torch.zeros(2, 3, D))
    assert len(calls) == 3  # auto respected the hook by running the loop


def test_fused_argument_type():
    with pytest.raises(
        TypeError, match="dynamic_rnn: expected fused to be None, True or False, got 'yes'"
    ):
        rk.dynamic_rnn(rk.BasicLSTMCell(4), torch.zeros(2, 3, D), fused="yes")


def test_explain_and_debug_log(caplog):
    cell = rk.MultiRNNCell(
        [rk.LSTMCell(8, num_proj=4, input_size=D), rk.LSTMCell(8, num_proj=4), rk.BasicRNNCell(2)]
    )
    text = rk.fused.explain(cell)
    assert text == (
        "fused: torch._VF.lstm(num_layers=2, hidden_size=8, proj_size=4) + torch._VF.rnn_tanh(num_layers=1, hidden_size=2)"
    )
    with caplog.at_level(logging.DEBUG, logger="rnnkit.fused"):
        rk.dynamic_rnn(cell, torch.zeros(2, 3, D))
        rk.dynamic_rnn(cell, torch.zeros(2, 3, D), fused=False)
        rk.dynamic_rnn(rk.GRUCell(3), torch.zeros(2, 3, D))
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("dynamic_rnn: fused path (torch._VF.lstm(num_layers=2")
    assert messages[1] == "dynamic_rnn: step loop (fused=False)"
    assert messages[2].startswith("dynamic_rnn: step loop (GRUCell has no fused form")


def _reverse_rows(x, lengths):
    """TF reverse_sequence on [B, T, ...], written per row."""
    rows = []
    for b in range(x.shape[0]):
        n = x.shape[1] if lengths is None else lengths[b]
        rows.append(torch.cat([x[b, :n].flip(0), x[b, n:]]))
    return torch.stack(rows)


BIDI = {
    "one_call_lstm": (
        lambda: rk.BasicLSTMCell(4, input_size=D),
        lambda: rk.BasicLSTMCell(4, input_size=D),
    ),
    "one_call_rnn": (
        lambda: rk.BasicRNNCell(3, input_size=D),
        lambda: rk.BasicRNNCell(3, input_size=D),
    ),
    "two_calls": (
        lambda: rk.MultiRNNCell(
            [rk.LSTMCell(4, num_proj=2, input_size=D), rk.LSTMCell(4, num_proj=2)]
        ),
        lambda: rk.BasicLSTMCell(3, input_size=D),
    ),
}


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("name", list(BIDI))
def test_fused_bidirectional_equals_two_loops(name, lengths):
    make_fw, make_bw = BIDI[name]
    fw, bw = make_fw(), make_bw()
    fw.build(D)
    bw.build(D)
    fw, bw = randomize(fw.double(), seed=1), randomize(bw.double(), seed=2)
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    s_fw, s_bw = _random_state(fw, seed=4), _random_state(bw, seed=5)
    lens = None if lengths is None else torch.tensor(lengths)
    (o_fw, o_bw), (f_fw, f_bw) = run_fused_bidirectional(
        make_plan(fw)[0], make_plan(bw)[0], x, s_fw, s_bw, lens, time_major=False
    )
    want_fw, want_sfw = rk.dynamic_rnn(
        fw, x, sequence_length=lengths, initial_state=s_fw, fused=False
    )
    rev_out, want_sbw = rk.dynamic_rnn(
        bw, _reverse_rows(x, lengths), sequence_length=lengths, initial_state=s_bw, fused=False
    )
    torch.testing.assert_close(o_fw, want_fw, **TOL)
    torch.testing.assert_close(o_bw, _reverse_rows(rev_out, lengths), **TOL)
    for got, want in zip(rk.nest.flatten((f_fw, f_bw)), rk.nest.flatten((want_sfw, want_sbw))):
        torch.testing.assert_close(got, want, **TOL)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["basic_lstm", "lstm_proj", "multi_lstm", "rnn_relu"])
def test_fused_equals_loop_on_cuda(name):
    cell = _make(name).cuda()
    x = torch.randn(B, T, D, dtype=torch.float64, device="cuda")
    init = rk.nest.map_structure(lambda s: s.cuda(), _random_state(cell))
    f = _run_with_grads(cell, x, init, LENGTHS, False, True)
    loop = _run_with_grads(cell, x, init, LENGTHS, False, False)
    torch.testing.assert_close(f[0], loop[0], rtol=1e-9, atol=1e-10)
    for a, b in zip(f[1] + list(f[2]), loop[1] + list(loop[2])):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("name", list(BIDI))
def test_bidirectional_dynamic_rnn_fused_equals_loop(name, lengths):
    make_fw, make_bw = BIDI[name]
    fw, bw = make_fw(), make_bw()
    fw.build(D)
    bw.build(D)
    fw, bw = randomize(fw.double(), seed=1), randomize(bw.double(), seed=2)
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    results = []
    for fused in (None, False):
        xg = x.clone().requires_grad_(True)
        (o_fw, o_bw), states = rk.bidirectional_dynamic_rnn(
            fw, bw, xg, sequence_length=lengths, fused=fused
        )
        leaves = [o_fw, o_bw, *rk.nest.flatten(states)]
        gen = torch.Generator().manual_seed(9)
        loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in leaves)
        grads = torch.autograd.grad(loss, [xg, *fw.parameters(), *bw.parameters()])
        results.append([t.detach() for t in leaves] + list(grads))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, **TOL)


def test_bidirectional_fused_true_names_the_direction():
    fw, bw = rk.BasicLSTMCell(3), rk.GRUCell(3)
    with pytest.raises(
        ValueError, match=r"bidirectional_dynamic_rnn \(cell_bw\): fused=True, but .*GRUCell"
    ):
        rk.bidirectional_dynamic_rnn(fw, bw, torch.zeros(2, 4, D), fused=True)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("name", ["basic_lstm", "multi_lstm_sizes_proj", "rnn_relu"])
def test_nan_padding_with_empty_rows_never_reaches_gradients(name, fused):
    """NOTE [padding never reaches the gradient], with a length-0 row (which the fused path runs one step on)."""
    clean = torch.randn(B, T, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for b, n in enumerate(LENGTHS):
        clean[b, n:] = 0.0
    dirty = clean.clone()
    dirty[1] = float("nan")  # the length-0 row
    dirty[2, 3:, 0] = float("inf")
    results = []
    for x in (clean, dirty):
        cell = _make(name)
        out, state = rk.dynamic_rnn(cell, x, sequence_length=LENGTHS, fused=fused)
        loss = out.sum() + sum(s.sum() for s in rk.nest.flatten(state))
        grads = torch.autograd.grad(loss, list(cell.parameters()))
        results.append([out.detach(), *grads])
    for a, b in zip(*results):
        assert torch.isfinite(b).all()
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_bidirectional_under_autocast_takes_the_loop_like_dynamic_rnn(caplog):
    """dynamic_rnn's rule (autocast: auto means the step loop, which keeps float32 states) holds for both."""
    fw, bw = rk.BasicLSTMCell(4, input_size=D), rk.BasicLSTMCell(4, input_size=D)
    x = torch.randn(B, T, D)
    with caplog.at_level(logging.DEBUG, logger="rnnkit.fused"):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            _, (s_fw, s_bw) = rk.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=LENGTHS)
    messages = [r.getMessage() for r in caplog.records]
    assert messages and all("fused path" not in m for m in messages), messages
    assert s_fw.c.dtype == s_bw.h.dtype == torch.float32


def test_bidirectional_swap_memory_takes_the_loop_like_dynamic_rnn(caplog):
    fw, bw = rk.BasicLSTMCell(4, input_size=D), rk.BasicLSTMCell(4, input_size=D)
    with caplog.at_level(logging.DEBUG, logger="rnnkit.fused"):
        rk.bidirectional_dynamic_rnn(fw, bw, torch.randn(B, T, D), swap_memory=True)
    messages = [r.getMessage() for r in caplog.records]
    assert messages and all("fused path" not in m for m in messages), messages


def test_the_public_namespace_is_the_contract():
    assert sorted(rk.fused.__all__) == ["FusedLayer", "FusedSpec", "explain", "fusable"]
    for internal in ("decide", "run_fused", "FusedPlan", "logger", "make_plan"):
        assert not hasattr(rk.fused, internal), internal


class _DoubledLSTM(rk.BasicLSTMCell):
    """A subclass that changes the math: the spec it inherits no longer describes it."""

    def recurrent_step(self, projected, state):
        out, new_state = super().recurrent_step(projected, state)
        return 2 * out, new_state


def test_a_subclass_that_changes_the_math_is_not_fused():
    cell = _DoubledLSTM(4, input_size=D)
    assert rk.fused.explain(cell) == (
        "step loop: _DoubledLSTM overrides BasicLSTMCell.recurrent_step, which a fused kernel would skip"
    )
    x = torch.randn(B, T, D)
    out, _ = rk.dynamic_rnn(cell, x)
    step_out, _ = cell(x[:, 0], cell.zero_state(B))
    torch.testing.assert_close(
        out[:, 0], step_out
    )  # the doubled output: the subclass's own math ran


def test_spec_weights_are_the_cells_parameters_in_torch_layout():
    cell = randomize(rk.LSTMCell(5, num_proj=2, forget_bias=0.3, input_size=D).double(), seed=3)
    spec = cell.fused_spec()
    assert isinstance(spec, rk.fused.FusedSpec)
    (layer,) = spec.layers
    assert (layer.mode, layer.hidden, layer.proj, layer.out) == ("LSTM", 5, 2, 2)
    w_ih, w_hh, b_ih, b_hh, w_hr = layer.weights()
    torch.testing.assert_close(
        w_ih[5:10], cell.kernel[:D, 10:15].t()
    )  # torch's f block is TF's third
    torch.testing.assert_close(b_ih[5:10], cell.bias[10:15] + 0.3)
    assert not b_hh.any() and w_hr.shape == (2, 5)
    w_ih.sum().backward()
    assert cell.kernel.grad is not None  # computed inside autograd from the TF-layout parameters
    state = _random_state(cell)
    rebuilt = spec.from_kernel(spec.to_kernel(state))
    assert type(rebuilt) is type(state) and all(a is b for a, b in zip(rebuilt, state))
