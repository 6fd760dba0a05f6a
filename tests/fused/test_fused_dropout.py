"""Input / output ``DropoutWrapper`` dropout on a fusable stack runs the fused kernels (issue 19, "no cliffs").

Seeded wrappers draw the step loop's masks exactly on CPU (NOTE [fused dropout masks] in fused/dropout.py), so
the fused path is checked against the step loop with the SAME masks: values, final states, gradients. Unseeded
(torch's global generator): structural facts — the share of zeros, kept values = the undropped output / keep,
the state not dropped. State and variational dropout keep the step loop, and ``explain`` says why.
"""

from __future__ import annotations

import math

import pytest
import torch

import rnnkit as rk
from tests.registry import randomize

B, T, D, H = 4, 6, 3, 5
TOL = {"rtol": 1e-11, "atol": 1e-12}


def _lstm(d, h=H, seed=0, **kw):
    cell = rk.BasicLSTMCell(h, input_size=d, forget_bias=0.4, **kw)
    cell.build(d)
    return randomize(cell.double(), seed=seed)


def _wrap(cell, seed=None, **keeps):
    return rk.DropoutWrapper(cell, seed=seed, **keeps)


STACKS = {
    # the mnist seed001 model: output dropout on every layer of a MultiRNNCell
    "output_per_layer": lambda s: rk.MultiRNNCell(
        [
            _wrap(_lstm(D, seed=1), s, output_keep_prob=0.6),
            _wrap(_lstm(H, seed=2), s + 1, output_keep_prob=0.7),
        ]
    ),
    "input_and_output": lambda s: rk.MultiRNNCell(
        [
            _wrap(_lstm(D, seed=1), s, input_keep_prob=0.5, output_keep_prob=0.6),
            _wrap(_lstm(H, seed=2), s + 1, input_keep_prob=0.8, output_keep_prob=0.9),
        ]
    ),
    "around_a_stack": lambda s: _wrap(
        rk.MultiRNNCell([_lstm(D, seed=1), _lstm(H, 4, seed=2)]),
        s,
        input_keep_prob=0.7,
        output_keep_prob=0.5,
    ),
    "nested": lambda s: _wrap(
        _wrap(_lstm(D, seed=3), s, output_keep_prob=0.8, input_keep_prob=0.9),
        s + 1,
        output_keep_prob=0.6,
        input_keep_prob=0.75,
    ),
    "mixed_kinds": lambda s: rk.MultiRNNCell(
        [
            _wrap(_lstm(D, seed=1, state_is_tuple=False), s, output_keep_prob=0.6),
            _wrap(
                randomize(rk.BasicRNNCell(3, input_size=H).double(), seed=4),
                s + 1,
                input_keep_prob=0.7,
                output_keep_prob=0.9,
            ),
        ]
    ),  # fmt: skip
}


def _grads(cell, x, init, lengths, time_major, fused, swap_memory=False):
    x = x.clone().requires_grad_(True)
    init = rk.nest.map_structure(lambda s: s.clone().requires_grad_(True), init)
    out, final = rk.dynamic_rnn(
        cell, x, sequence_length=lengths, initial_state=init, time_major=time_major,
        fused=fused, swap_memory=swap_memory,
    )  # fmt: skip
    gen = torch.Generator().manual_seed(7)
    leaves = [out, *rk.nest.flatten(final)]
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in leaves)
    wrt = [x, *rk.nest.flatten(init), *cell.parameters()]
    grads = torch.autograd.grad(loss, wrt, allow_unused=True)
    grads = [torch.zeros_like(w) if g is None else g for w, g in zip(wrt, grads)]
    return [t.detach() for t in leaves], grads


def _inputs(time_major=False, seed=0):
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x.transpose(0, 1).contiguous() if time_major else x


def _state(cell, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return rk.nest.map_structure(
        lambda n: torch.randn(B, n, generator=gen, dtype=torch.float64), cell.state_size
    )


@pytest.mark.parametrize("time_major", [False, True], ids=["batch_major", "time_major"])
@pytest.mark.parametrize(
    "lengths", [None, [6, 0, 3, 1], [2, 2, 1, 2]], ids=["full", "mixed", "short"]
)
@pytest.mark.parametrize("name", list(STACKS))
def test_seeded_dropout_fused_equals_the_step_loop_with_the_same_masks(name, lengths, time_major):
    fused_cell, loop_cell = STACKS[name](11), STACKS[name](11)  # the same seeds: the same masks
    assert rk.fused.explain(fused_cell).startswith(
        "fused:"
    ) and "dropout (keep" in rk.fused.explain(fused_cell)
    x, init = _inputs(time_major), _state(fused_cell)
    f_vals, f_grads = _grads(fused_cell, x, init, lengths, time_major, True)
    l_vals, l_grads = _grads(loop_cell, x, init, lengths, time_major, False)
    assert torch.equal(f_vals[0] == 0, l_vals[0] == 0)  # the same dropped elements
    assert (f_vals[0] == 0).any() and (f_vals[0] != 0).any()
    for a, b in zip(f_vals + f_grads, l_vals + l_grads):
        torch.testing.assert_close(a, b, **TOL)
    # a second call draws the next masks, as the step loop's next call does
    f2, _ = _grads(fused_cell, x, init, lengths, time_major, True)
    l2, _ = _grads(loop_cell, x, init, lengths, time_major, False)
    torch.testing.assert_close(f2[0], l2[0], **TOL)
    assert not torch.equal(f2[0] == 0, f_vals[0] == 0)


@pytest.mark.parametrize("lengths", [None, [6, 0, 3, 1]], ids=["full", "mixed"])
def test_swap_memory_uses_the_forward_masks_in_backward(lengths):
    """Checkpointed chunks re-run the kernels in backward: the masks must be the forward's."""
    cells = [STACKS["input_and_output"](5) for _ in range(2)]
    x, init = _inputs(), _state(cells[0])
    assert rk.fused.explain(cells[0], swap_memory=True).startswith("fused, in recomputed chunks")
    plain = _grads(cells[0], x, init, lengths, False, True)
    swapped = _grads(cells[1], x, init, lengths, False, True, swap_memory=True)
    for a, b in zip(plain[0] + plain[1], swapped[0] + swapped[1]):
        torch.testing.assert_close(a, b, **TOL)


def test_bidirectional_with_dropout_equals_the_step_loop():
    def cells():
        return (
            _wrap(_lstm(D, seed=1), 3, output_keep_prob=0.6, input_keep_prob=0.8),
            _wrap(_lstm(D, seed=2), 4, output_keep_prob=0.7),
        )

    x, lengths = _inputs(), [6, 0, 3, 1]
    (f_fw, f_bw), f_states = rk.bidirectional_dynamic_rnn(*cells(), x, lengths, fused=True)
    (l_fw, l_bw), l_states = rk.bidirectional_dynamic_rnn(*cells(), x, lengths, fused=False)
    for a, b in zip(
        rk.nest.flatten([f_fw, f_bw, f_states]), rk.nest.flatten([l_fw, l_bw, l_states])
    ):
        torch.testing.assert_close(a, b, **TOL)
    assert (f_fw[0] == 0).any() and (f_bw[0] == 0).any()


# --- torch's global generator: structural facts of the law ---


def test_unseeded_output_dropout_structure_and_gradients():
    keep, big_b, big_t = 0.7, 16, 40
    bare = _lstm(D, seed=1)
    stack = rk.MultiRNNCell(
        [_wrap(bare, output_keep_prob=keep), _wrap(_lstm(H, seed=2), output_keep_prob=keep)]
    )
    x = torch.randn(big_b, big_t, D, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(0)
    first, _ = rk.dynamic_rnn(rk.MultiRNNCell([stack.cells[0]]), x, fused=True)
    want, want_state = rk.dynamic_rnn(bare, x, fused=False)
    # layer 1: every element is 0 or exactly the undropped output / keep; the state passed on is not dropped
    kept = first != 0
    torch.testing.assert_close(first[kept], (want / keep)[kept], **TOL)
    n = kept.numel()
    zeros = n - int(kept.sum())
    assert abs(zeros - n * (1 - keep)) < 5 * math.sqrt(n * keep * (1 - keep))  # binomial, 5 sigma
    _, state = rk.dynamic_rnn(rk.MultiRNNCell([stack.cells[0]]), x, fused=True)
    torch.testing.assert_close(state[0].c, want_state.c, **TOL)
    torch.testing.assert_close(state[0].h, want_state.h, **TOL)
    # the whole stack: fresh masks per step, gradients reach every parameter and the inputs
    out, _ = rk.dynamic_rnn(stack, x, fused=True)
    masks = (out == 0).float()
    assert 0 < masks.mean(dim=(0, 2)).min() and masks.mean(dim=(0, 2)).max() < 1
    assert not torch.equal(masks[:, 0], masks[:, 1])  # not one mask for every step
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in stack.parameters())
    torch.manual_seed(3)
    again = rk.dynamic_rnn(stack, x, fused=True)[0]
    torch.manual_seed(3)
    torch.testing.assert_close(rk.dynamic_rnn(stack, x, fused=True)[0], again, rtol=0, atol=0)


def test_sequence_length_zero_rows_keep_their_initial_state():
    cell = STACKS["output_per_layer"](2)
    x, init = _inputs(), _state(cell)
    out, final = rk.dynamic_rnn(
        cell, x, sequence_length=[6, 0, 3, 1], initial_state=init, fused=True
    )
    for b, n in enumerate([6, 0, 3, 1]):
        assert not out[b, n:].any()
    for got, start in zip(rk.nest.flatten(final), rk.nest.flatten(init)):
        torch.testing.assert_close(got[1], start[1], rtol=0, atol=0)


# --- which path, and why ---


@pytest.mark.parametrize("how", ["eval", "keep_1"])
def test_identity_dropout_per_layer_is_the_bare_stack(how):
    def wrap(cell):
        w = _wrap(
            cell,
            input_keep_prob=0.5 if how == "eval" else 1.0,
            output_keep_prob=0.5 if how == "eval" else 1.0,
        )
        return w.eval() if how == "eval" else w

    bare = rk.MultiRNNCell([_lstm(D, seed=1), _lstm(H, seed=2)])
    wrapped = rk.MultiRNNCell([wrap(c) for c in bare.cells])
    assert rk.fused.explain(wrapped) == "fused: torch._VF.lstm(num_layers=2, hidden_size=5)"
    x = _inputs()
    got = rk.dynamic_rnn(wrapped, x, sequence_length=[6, 0, 3, 1], fused=True)
    want = rk.dynamic_rnn(bare, x, sequence_length=[6, 0, 3, 1], fused=False)
    for g, w in zip(rk.nest.flatten(got), rk.nest.flatten(want)):
        torch.testing.assert_close(g, w, **TOL)


def test_explain_names_the_dropout_between_kernel_calls():
    cell = rk.MultiRNNCell(
        [
            _wrap(rk.BasicLSTMCell(8), output_keep_prob=0.5),
            _wrap(rk.BasicLSTMCell(8), output_keep_prob=0.5),
        ]
    )
    assert rk.fused.explain(cell) == (
        "fused: torch._VF.lstm(num_layers=1, hidden_size=8) + output dropout (keep 0.5)"
        " + torch._VF.lstm(num_layers=1, hidden_size=8) + output dropout (keep 0.5)"
    )
    inputs = _wrap(rk.BasicRNNCell(4), input_keep_prob=0.25)
    assert (
        rk.fused.explain(inputs)
        == "fused: input dropout (keep 0.25) + torch._VF.rnn_tanh(num_layers=1, hidden_size=4)"
    )


STEP_LOOP = {
    "state": (
        lambda: _wrap(rk.BasicLSTMCell(4), state_keep_prob=0.5, output_keep_prob=0.5),
        "step loop: DropoutWrapper drops the state (state_keep_prob < 1): a mask inside the recurrence",
    ),
    "state_filter": (
        lambda: rk.MultiRNNCell(
            [
                _wrap(
                    rk.BasicLSTMCell(4),
                    state_keep_prob=0.9,
                    dropout_state_filter_visitor=lambda s: True,
                )
            ]
        ),
        "step loop: cells[0]: DropoutWrapper drops the state (state_keep_prob < 1): a mask inside the recurrence",
    ),
    "variational": (
        lambda: _wrap(rk.BasicLSTMCell(4), output_keep_prob=0.5, variational_recurrent=True),
        "step loop: DropoutWrapper has variational_recurrent=True: one mask shared by every step",
    ),
    "inner_not_fusable": (
        lambda: _wrap(rk.LSTMCell(4, use_peepholes=True), output_keep_prob=0.5),
        "step loop: LSTMCell uses peepholes, which torch's fused LSTM lacks",
    ),
}


@pytest.mark.parametrize("name", list(STEP_LOOP))
def test_state_and_variational_dropout_keep_the_step_loop_and_say_why(name):
    make, message = STEP_LOOP[name]
    cell = make()
    assert rk.fused.explain(cell) == message
    # eval: the bare cell's path (the peephole cell's is the step loop too)
    assert rk.fused.explain(cell.eval()).startswith(
        "step loop" if "peephole" in message else "fused:"
    )
    cell.train()
    with pytest.raises(ValueError, match="fused=True, but torch's fused kernels cannot run this"):
        rk.dynamic_rnn(cell, torch.randn(2, 3, 4), fused=True)


def test_hooks_on_the_wrapped_cell_keep_the_step_loop():
    inner = rk.BasicLSTMCell(4)
    calls = []
    inner.register_forward_hook(lambda *a: calls.append(1))
    cell = _wrap(inner, output_keep_prob=0.5)
    assert (
        rk.fused.explain(cell)
        == "step loop: BasicLSTMCell has forward hooks, which a fused kernel would skip"
    )
    rk.dynamic_rnn(cell, torch.randn(2, 3, 4))
    assert len(calls) == 3


def test_input_size_is_checked_on_the_fused_path_as_in_the_loop():
    cell = rk.DropoutWrapper(rk.BasicLSTMCell(4), input_keep_prob=0.5, input_size=5)
    x = torch.randn(2, 3, 4)
    for fused in (True, False):
        with pytest.raises(
            ValueError, match=r"DropoutWrapper: built for input_size=5, got input depths \[4\]"
        ):
            rk.dynamic_rnn(cell, x, fused=fused)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_a_lazy_wrapped_cell_is_built_on_the_fused_path(train):
    cell = rk.DropoutWrapper(rk.LSTMCell(8), output_keep_prob=0.5).train(train)
    out, _ = rk.dynamic_rnn(cell, torch.randn(2, 3, 4), fused=True)
    assert cell.built and out.shape == (2, 3, 8)
