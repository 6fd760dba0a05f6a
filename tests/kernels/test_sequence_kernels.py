"""The sequence kernels (``rnnkit.kernels``) against a plain float64 step loop of the same math: values, every
gradient (autograd through the loop vs the hand-written backward), gradcheck, sequence_length (0, partial, full),
initial states."""

from __future__ import annotations

import copy

import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import layer_norm_lstm_sequence
from tests.kernels._cell_loop import cell_loop

torch.set_num_threads(1)


def _ln(x, gamma, beta, eps=1e-12):
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).square().mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta


def _reference(xk, w_h, gamma4, beta4, gamma_s, beta_s, c, h, lengths, forget_bias):
    """The layer-normalised LSTM written the obvious way, TF's sequence_length rule included."""
    outputs = []
    for t in range(xk.shape[0]):
        parts = (xk[t] + h @ w_h).chunk(4, dim=1)
        i, j, f, o = (_ln(p, gamma4[k], beta4[k]) for k, p in enumerate(parts))
        new_c = _ln(
            c * torch.sigmoid(f + forget_bias) + torch.sigmoid(i) * torch.tanh(j), gamma_s, beta_s
        )
        new_h = torch.tanh(new_c) * torch.sigmoid(o)
        live = (
            torch.ones(h.shape[0], 1, dtype=torch.bool)
            if lengths is None
            else (t < lengths)[:, None]
        )
        outputs.append(torch.where(live, new_h, 0.0))
        c, h = torch.where(live, new_c, c), torch.where(live, new_h, h)
    return torch.stack(outputs), c, h


def _inputs(steps, batch, units, seed):
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).requires_grad_()

    return [
        rand(steps, batch, 4 * units),
        rand(units, 4 * units, scale=0.5),
        rand(4, units) + 1,
        rand(4, units, scale=0.3),
        rand(units) + 1,
        rand(units, scale=0.3),
        rand(batch, units),
        rand(batch, units),
    ]


LENGTHS = [None, [5, 0, 2, 5], [3, 1, 2, 3], [0, 0, 0, 0], [5, 5, 5, 5]]


@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
@pytest.mark.parametrize("forget_bias", [1.0, -0.4])
def test_layer_norm_lstm_matches_the_step_loop(lengths, forget_bias):
    args = _inputs(5, 4, 6, seed=len(str(lengths)))
    lens = None if lengths is None else torch.tensor(lengths)
    got = layer_norm_lstm_sequence(*args, lens, forget_bias=forget_bias)
    want = _reference(*args, lens, forget_bias)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    weights = [torch.randn_like(w) for w in want]
    grads_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(got, weights)), args)
    grads_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(want, weights)), args)
    for name, g, w in zip(["xk", "w_h", "g4", "b4", "gs", "bs", "c0", "h0"], grads_got, grads_want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10, msg=name)
    if lengths is not None and min(lengths) == 0:
        row = lengths.index(0)  # a row of length 0: outputs zero, final state = initial state
        assert torch.equal(got[0][:, row], torch.zeros_like(got[0][:, row]))
        assert torch.equal(got[1][row], args[6][row]) and torch.equal(got[2][row], args[7][row])


@pytest.mark.parametrize("lengths", [None, [4, 0, 2]], ids=str)
def test_layer_norm_lstm_gradcheck(lengths):
    args = _inputs(4, 3, 5, seed=7)
    lens = None if lengths is None else torch.tensor(lengths)
    assert torch.autograd.gradcheck(
        lambda *a: layer_norm_lstm_sequence(*a, lens), args, fast_mode=True
    )


def test_layer_norm_lstm_without_grad_equals_with_grad():
    args = _inputs(5, 4, 6, seed=3)
    with_grad = layer_norm_lstm_sequence(*args)
    with torch.inference_mode():
        without = layer_norm_lstm_sequence(*[a.detach() for a in args])
    for a, b in zip(with_grad, without):
        assert torch.equal(a.detach(), b)


# --- dynamic_rnn runs the kernel for LayerNormBasicLSTMCell: the same numbers as the cell called per step ---


def _ln_cell(units, depth, seed, dtype=torch.float64):
    torch.manual_seed(seed)
    cell = rk.LayerNormBasicLSTMCell(units, input_size=depth, forget_bias=0.7, dtype=dtype)
    with torch.no_grad():  # non-trivial gains and shifts, so a swapped gamma/beta would show
        for p in cell.parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.3)
    return cell


@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("lengths", [None, [6, 0, 3, 6], [2, 1, 2, 2]], ids=str)
def test_dynamic_rnn_layer_norm_kernel_equals_the_cell_loop(time_major, lengths):
    cell = _ln_cell(5, 3, seed=11)
    assert rk.kernels.kernel_for(cell)[0] is not None
    shape = (6, 4, 3) if time_major else (4, 6, 3)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    state = rk.LSTMStateTuple(
        *(torch.randn(4, 5, dtype=torch.float64, requires_grad=True) for _ in range(2))
    )
    lens = None if lengths is None else torch.tensor(lengths)
    got = rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state, time_major=time_major)
    want = cell_loop(cell, x, state, lens, time_major)
    flat_got = [got[0], *got[1]]
    flat_want = [want[0], *want[1]]
    for g, w in zip(flat_got, flat_want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    weights = [torch.randn_like(w) for w in flat_want]
    wrt = [x, *state, *cell.parameters()]
    g_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(flat_got, weights)), wrt)
    g_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(flat_want, weights)), wrt)
    for g, w in zip(g_got, g_want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


def test_dynamic_rnn_layer_norm_kernel_float32_close_to_float64():
    cell = _ln_cell(16, 4, seed=5)
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    want, _ = rk.dynamic_rnn(cell, x)
    got, _ = rk.dynamic_rnn(cell.float(), x.float())
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)


def test_explain_names_the_sequence_kernel_and_why_not():
    cell = rk.LayerNormBasicLSTMCell(8, input_size=3)
    assert "sequence kernel" in rk.fused.explain(cell)
    dropout = rk.LayerNormBasicLSTMCell(8, input_size=3, dropout_keep_prob=0.5)
    assert "recurrent dropout is active" in rk.fused.explain(dropout)
    assert "sequence kernel" in rk.fused.explain(dropout.eval())
    plain = rk.LayerNormBasicLSTMCell(8, input_size=3, layer_norm=False)
    assert "layer_norm=False" in rk.fused.explain(plain)


def test_hooked_cell_runs_every_step_through_its_call():
    cell = _ln_cell(5, 3, seed=2)
    calls = []
    cell.register_forward_hook(lambda *a: calls.append(1))
    rk.dynamic_rnn(cell, torch.randn(2, 4, 3, dtype=torch.float64))
    assert len(calls) == 4


# --- no cliffs: a DropoutWrapper that drops nothing takes the bare cell's path ---


@pytest.mark.parametrize("how", ["eval", "keep_1"])
def test_identity_dropout_wrapper_takes_the_fused_path(how):
    torch.manual_seed(0)
    cell = rk.MultiRNNCell([rk.BasicLSTMCell(6, input_size=3), rk.BasicLSTMCell(6, input_size=6)])
    if how == "eval":
        wrapped = rk.DropoutWrapper(cell, input_keep_prob=0.5, output_keep_prob=0.7).eval()
    else:
        wrapped = rk.DropoutWrapper(cell, output_keep_prob=torch.tensor(1.0))
    assert rk.fused.explain(wrapped).startswith("fused:")
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    cell.double()
    lengths = torch.tensor([5, 0, 2, 4])
    got = rk.dynamic_rnn(wrapped, x, sequence_length=lengths, fused=True)
    want = rk.dynamic_rnn(cell, x, sequence_length=lengths, fused=False)
    for g, w in zip(rk.nest.flatten(got), rk.nest.flatten(want)):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)


def test_dropping_wrapper_keeps_the_step_loop_and_says_why():
    wrapped = rk.DropoutWrapper(rk.BasicLSTMCell(6), state_keep_prob=0.7)  # output dropout is fused
    assert rk.fused.explain(wrapped).startswith("step loop")
    per_layer = rk.MultiRNNCell(
        [rk.DropoutWrapper(rk.BasicLSTMCell(6), output_keep_prob=0.7).eval()]
    )
    assert rk.fused.explain(per_layer).startswith("fused:")


def test_identity_dropout_around_layer_norm_cell_runs_the_sequence_kernel():
    inner = _ln_cell(5, 3, seed=4)
    wrapped = rk.DropoutWrapper(inner, output_keep_prob=0.5).eval()
    assert "sequence kernel" in rk.fused.explain(wrapped)
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    got, _ = rk.dynamic_rnn(wrapped, x)
    want, _ = cell_loop(inner, x, inner.zero_state(2, torch.float64), None, False)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


# --- fused at par: no-grad calls read the parameters as they are, however they were changed ---


def _fresh(cell, x):
    """The same stack's outputs from a copy, which has no remembered plan (the reference)."""
    with torch.no_grad():
        return rk.dynamic_rnn(copy.deepcopy(cell), x, fused=True)[0]


def test_no_grad_fused_calls_follow_every_parameter_update():
    torch.manual_seed(1)
    cell = rk.MultiRNNCell(
        [rk.BasicLSTMCell(6, input_size=3), rk.LSTMCell(5, num_proj=4, input_size=6)]
    )
    x = torch.randn(2, 4, 3)
    with torch.no_grad():
        first, _ = rk.dynamic_rnn(cell, x, fused=True)
    optimizer = torch.optim.SGD(cell.parameters(), lr=0.5)
    rk.dynamic_rnn(cell, x, fused=True)[
        0
    ].sum().backward()  # recording: gradients reach the TF parameters
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in cell.parameters())
    optimizer.step()
    with torch.inference_mode():
        after_step, _ = rk.dynamic_rnn(cell, x, fused=True)
    assert not torch.equal(after_step, first)
    torch.testing.assert_close(after_step, _fresh(cell, x), rtol=0, atol=0)
    cell.load_state_dict({k: torch.randn_like(v) for k, v in cell.state_dict().items()})
    with torch.no_grad():
        loaded, _ = rk.dynamic_rnn(cell, x, fused=True)
    torch.testing.assert_close(loaded, _fresh(cell, x), rtol=0, atol=0)
    cell.cells[0].forget_bias = 0.25  # a changed attribute of the math, not a parameter
    with torch.no_grad():
        changed, _ = rk.dynamic_rnn(cell, x, fused=True)
    torch.testing.assert_close(changed, _fresh(cell, x), rtol=0, atol=0)
    assert not torch.equal(changed, loaded)
    assert set(cell.state_dict()) == {k for k, _ in cell.named_parameters()}


@pytest.mark.parametrize(
    "make", [lambda: rk.BasicLSTMCell(8, input_size=3), lambda: rk.BasicRNNCell(8, input_size=3)]
)
def test_inference_mode_first_then_training(make):
    """The cached constants and weights made under inference_mode never reach a recorded call."""
    cell = make()
    x = torch.randn(2, 4, 3)
    with torch.inference_mode():
        first, _ = rk.dynamic_rnn(cell, x)
    out, _ = rk.dynamic_rnn(cell, x)
    out.sum().backward()
    assert cell.kernel.grad.abs().sum() > 0
    torch.testing.assert_close(
        out.detach(), first, rtol=1e-6, atol=1e-6
    )  # kernels may round differently


# --- no cliffs: swap_memory=True on a fusable stack keeps the fused kernels, in checkpointed chunks ---


@pytest.mark.parametrize("lengths", [None, [11, 0, 6, 4]], ids=str)
def test_swap_memory_on_a_fusable_stack_runs_checkpointed_fused_chunks(monkeypatch, lengths):
    import rnnkit.unroll.dynamic as dynamic

    monkeypatch.setattr(dynamic, "run_steps_checkpointed", lambda *a, **k: pytest.fail("step loop"))
    torch.manual_seed(3)
    cell = rk.MultiRNNCell(
        [rk.BasicLSTMCell(5, input_size=3), rk.LSTMCell(4, num_proj=3, input_size=5)]
    ).double()
    x = torch.randn(4, 11, 3, dtype=torch.float64, requires_grad=True)
    lens = None if lengths is None else torch.tensor(lengths)

    def run(swap):
        out, state = rk.dynamic_rnn(cell, x, sequence_length=lens, swap_memory=swap)
        flat = [out, *rk.nest.flatten(state)]
        loss = sum(
            (t * torch.linspace(-1, 1, t.numel(), dtype=t.dtype).view_as(t)).sum() for t in flat
        )
        return flat, torch.autograd.grad(loss, [x, *cell.parameters()])

    (plain, g_plain), (swapped, g_swapped) = run(False), run(True)
    for a, b in zip(plain + list(g_plain), swapped + list(g_swapped)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_layer_norm_kernel_double_backward_equals_the_cell_loop():
    """create_graph=True through the kernel: a gradient penalty's gradient equals the one through the cell's own
    step loop (the kernel's hand-written backward alone would drop every second-order term)."""
    cell = _ln_cell(5, 3, seed=4)
    x = torch.randn(4, 5, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([5, 2, 0, 4])
    state = rk.LSTMStateTuple(*(torch.randn(4, 5, dtype=torch.float64) for _ in range(2)))

    def penalty(run):
        (g,) = torch.autograd.grad(run().square().sum(), x, create_graph=True)
        return torch.autograd.grad(g.square().sum(), [x, *cell.parameters()])

    got = penalty(lambda: rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state)[0])
    want = penalty(lambda: cell_loop(cell, x, state, lens, False)[0])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "make",
    [
        lambda: rk.BasicLSTMCell(
            6, input_size=3
        ),  # a leaf: repeated plain calls take the fast fused call
        lambda: rk.MultiRNNCell(
            [rk.BasicLSTMCell(6, input_size=3), rk.LSTMCell(5, num_proj=4, input_size=6)]
        ),
    ],
)
def test_writes_through_data_and_conversions_are_seen_by_the_next_no_grad_call(make):
    """A hand-written SGD step through ``.data`` bumps no version, ``.double()`` replaces the data under the same
    parameters: a cache of re-laid-out weights keyed by versions served the old weights after the first and failed
    after the second (NOTE [fused weights cache], removed)."""
    torch.manual_seed(2)
    cell = make()
    x = torch.randn(2, 4, 3)
    with torch.no_grad():
        before = rk.dynamic_rnn(cell, x)[0]
        rk.dynamic_rnn(cell, x)
        for p in cell.parameters():
            p.data.add_(0.3)  # no version bump
        after = rk.dynamic_rnn(cell, x)[0]
        assert not torch.allclose(after, before)
        torch.testing.assert_close(after, rk.dynamic_rnn(cell, x, fused=False)[0])
        cell.double()
        doubled = rk.dynamic_rnn(cell, x.double())[0]
        torch.testing.assert_close(doubled, rk.dynamic_rnn(cell, x.double(), fused=False)[0])
