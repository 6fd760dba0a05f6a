"""contrib's ``LayerNormLSTMCell`` through the layer-normalised LSTM sequence kernel (``kernels/layer_norm_lstm.py``,
shared with ``LayerNormBasicLSTMCell``): float64 equality with the cell's own step loop (values and every gradient,
both layouts, sequence_length patterns, initial states), an independent reference of the peephole/clip formula,
gradcheck, float32, double backward, every fallback reason and every error message."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import dispatch, layer_norm_lstm_sequence, native
from tests.kernels._cell_loop import assert_double_backward_equal, cell_loop
from tests.kernels._native import needs_native
from tests.tf_fixtures.surface_replay import load_case, replay

FIXTURES = Path(__file__).parents[1] / "fixtures" / "contrib"


torch.set_num_threads(1)

CONFIGS = {
    "ln": dict(forget_bias=0.3),
    "peep": dict(use_peepholes=True),
    "clip": dict(cell_clip=0.35, forget_bias=-0.2),
    "peep_clip": dict(use_peepholes=True, cell_clip=0.3, forget_bias=0.6),
}
LENGTHS = [None, [6, 0, 3, 6], [2, 1, 2, 2], [0, 0, 0, 0]]


def _cell(config, units=5, depth=3, seed=0, dtype=torch.float64, **extra):
    torch.manual_seed(seed)
    kwargs = {**CONFIGS[config], **extra}
    cell = rk.LayerNormLSTMCell(units, layer_norm=True, input_size=depth, dtype=dtype, **kwargs)
    with torch.no_grad():  # random, non-symmetric gains, shifts, peepholes and kernel
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * 0.7)
    return cell


def _state(batch, units, seed):
    gen = torch.Generator().manual_seed(seed)
    return rk.LSTMStateTuple(
        *(
            torch.randn(batch, units, generator=gen, dtype=torch.float64).requires_grad_()
            for _ in "cm"
        )
    )


@pytest.fixture
def kernel_calls(monkeypatch):
    """The kernel's calls from the unroll, each as its ``native`` flag (so a test knows which path ran)."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs["native"])
        return layer_norm_lstm_sequence(*args, **kwargs)

    monkeypatch.setattr(dispatch, "layer_norm_lstm_sequence", counted)
    return calls


@pytest.fixture(params=["native", "torch_ops"])
def path(request, monkeypatch):
    """Both implementations: the native loops (CPU) and the torch-op loop (what runs where they cannot)."""
    if request.param == "torch_ops":
        monkeypatch.setattr(dispatch._inputs, "native_reason", lambda like: "off for this test")
    elif native.library() is None:
        pytest.skip(f"native loops unavailable: {native.unavailable_reason()}")
    return request.param == "native"


@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_kernel_equals_the_cell_loop(config, lengths, time_major, path, kernel_calls):
    cell = _cell(config, seed=len(config))
    shape = (6, 4, 3) if time_major else (4, 6, 3)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    state = _state(4, 5, seed=3)
    lens = None if lengths is None else torch.tensor(lengths)
    got = rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state, time_major=time_major)
    assert kernel_calls == [path]
    want = cell_loop(cell, x, state, lens, time_major)
    flat_got, flat_want = [got[0], *got[1]], [want[0], *want[1]]
    for g, w in zip(flat_got, flat_want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    weights = [torch.randn_like(w) for w in flat_want]
    wrt = [x, *state, *cell.parameters()]
    names = ["x", "c0", "m0", *(n for n, _ in cell.named_parameters())]
    g_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(flat_got, weights)), wrt)
    g_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(flat_want, weights)), wrt)
    for name, g, w in zip(names, g_got, g_want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10, msg=name)
    if (
        lengths is not None and 0 in lengths
    ):  # a row of length 0: zero outputs, initial state unchanged
        row = lengths.index(0)
        out = got[0][:, row] if time_major else got[0][row]
        assert torch.equal(out, torch.zeros_like(out))
        assert torch.equal(got[1].c[row], state.c[row]) and torch.equal(got[1].h[row], state.h[row])


@pytest.mark.parametrize("config", ["clip", "peep_clip"])
def test_the_clip_bites_in_the_clip_tests(config):
    """The clip configurations above would prove nothing if no ``c'`` reached the bound."""
    cell = _cell(config, seed=len(config))
    state, hit = _state(4, 5, seed=3), False
    for x_t in torch.randn(6, 4, 3, dtype=torch.float64):
        _, state = cell(x_t, state)
        hit = hit or bool((state.c.abs() == cell.cell_clip).any())
    assert hit


def _ln(v, gamma, beta):
    mean = v.mean(-1, keepdim=True)
    return (v - mean) / torch.sqrt(
        (v - mean).square().mean(-1, keepdim=True) + 1e-12
    ) * gamma + beta


def _reference(xk, w_h, g4, b4, gs, bs, c, h, peep, clip, forget_bias):
    """The formula of the module docstring written the obvious way (no sequence_length)."""
    outputs = []
    for t in range(xk.shape[0]):
        i, j, f, o = (_ln(p, g4[k], b4[k]) for k, p in enumerate((xk[t] + h @ w_h).chunk(4, 1)))
        f = torch.sigmoid(f + forget_bias + peep[1] * c)
        c = _ln(f * c + torch.sigmoid(i + peep[0] * c) * torch.tanh(j), gs, bs).clamp(-clip, clip)
        h = torch.sigmoid(o + peep[2] * c) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs), c, h


def _raw(steps=5, batch=4, units=6, seed=0):
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0, shift=0.0):
        t = torch.randn(*shape, generator=gen, dtype=torch.float64) * scale + shift
        return t.requires_grad_()

    return [
        rand(steps, batch, 4 * units), rand(units, 4 * units, scale=0.5), rand(4, units, shift=1.0),
        rand(4, units, scale=0.3), rand(units, shift=1.0), rand(units, scale=0.3), rand(batch, units),
        rand(batch, units), rand(3, units, scale=0.8),
    ]  # fmt: skip


@pytest.mark.parametrize("native", [pytest.param(True, marks=needs_native), False])
def test_peepholes_and_clip_equal_an_independent_reference(native):
    *args, peep = _raw()
    got = layer_norm_lstm_sequence(
        *args, forget_bias=0.4, peepholes=peep, cell_clip=0.5, native=native
    )
    want = _reference(*args, peep, 0.5, 0.4)
    assert (want[1].abs() == 0.5).any()  # the clip is reached
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    weights = [torch.randn_like(w) for w in want]
    wrt = [*args, peep]
    g_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(got, weights)), wrt)
    g_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(want, weights)), wrt)
    for g, w in zip(g_got, g_want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("native", [pytest.param(True, marks=needs_native), False])
@pytest.mark.parametrize("lengths", [None, [4, 0, 2]], ids=str)
def test_gradcheck(lengths, native):
    *args, peep = _raw(steps=4, batch=3, units=5, seed=7)
    lens = None if lengths is None else torch.tensor(lengths)

    def run(*a):
        return layer_norm_lstm_sequence(
            *a[:-1], lens, 0.2, peepholes=a[-1], cell_clip=0.6, native=native
        )

    assert torch.autograd.gradcheck(run, [*args, peep], fast_mode=True)


def test_float32_close_to_float64(path, kernel_calls):
    cell = _cell("peep_clip", units=16, depth=4, seed=5)
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    want, _ = rk.dynamic_rnn(cell, x, sequence_length=[7, 2, 5])
    got, _ = rk.dynamic_rnn(cell.float(), x.float(), sequence_length=[7, 2, 5])
    assert got.dtype == torch.float32 and kernel_calls == [path, path]
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("config", ["ln", "peep_clip"])
def test_without_grad_equals_with_grad(config, path):
    cell = _cell(config, seed=9)
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    with_grad, _ = rk.dynamic_rnn(cell, x, sequence_length=[6, 3, 0, 1])
    with torch.inference_mode():
        without, _ = rk.dynamic_rnn(cell, x, sequence_length=[6, 3, 0, 1])
    assert torch.equal(with_grad.detach(), without)


def test_double_backward_equals_the_cell_loop(path, kernel_calls):
    """create_graph=True: a gradient penalty's gradient equals the one through the cell's own step loop."""
    cell = _cell("peep_clip", seed=4)
    x = torch.randn(4, 5, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([5, 2, 0, 4])
    state = _state(4, 5, seed=1)

    assert_double_backward_equal(cell, x, lens, state, rtol=1e-9)
    assert kernel_calls == [path]


def test_bias_buffer_gets_no_gradient_through_the_kernel():
    cell = _cell("peep")
    rk.dynamic_rnn(cell, torch.randn(2, 3, 3, dtype=torch.float64))[0].sum().backward()
    assert "bias" in dict(cell.named_buffers()) and cell.bias.grad is None
    assert all(p.grad is not None for p in cell.parameters())


class _OwnProjection(rk.LayerNormLSTMCell):
    def _project(self, m):
        return m * 2


class _OwnStep(rk.LayerNormLSTMCell):
    def recurrent_step(self, projected_t, state):
        return super().recurrent_step(projected_t, state)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: rk.LayerNormLSTMCell(4, input_size=3), "layer_norm=False (the kernel is for the"),
        (lambda: rk.LayerNormLSTMCell(4, layer_norm=True, activation="relu", input_size=3),
         "activation relu; the kernel has tanh only"),
        (lambda: rk.LayerNormLSTMCell(4, layer_norm=True, num_proj=2, input_size=3),
         "num_proj (the kernel has no projection)"),
        (lambda: _OwnProjection(4, layer_norm=True, input_size=3),
         "_OwnProjection overrides _project, which the kernel would skip"),
        (lambda: _OwnStep(4, layer_norm=True, input_size=3),
         "_OwnStep overrides recurrent_step, which the kernel would skip"),
    ],
)  # fmt: skip
def test_every_fallback_says_why_and_keeps_the_cell_math(make, reason, kernel_calls):
    cell = make().double()
    runner, why = rk.kernels.kernel_for(cell)
    assert runner is None and why.startswith(reason)
    assert reason in rk.fused.explain(cell)
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    got, _ = rk.dynamic_rnn(cell, x, sequence_length=[4, 1])
    assert kernel_calls == []
    want, _ = cell_loop(cell, x, cell.zero_state(2, torch.float64), torch.tensor([4, 1]), False)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_hooked_cell_runs_every_step_through_its_call(kernel_calls):
    cell = _cell("peep")
    calls = []
    cell.register_forward_hook(lambda *a: calls.append(1))
    assert "forward hooks" in rk.fused.explain(cell)
    rk.dynamic_rnn(cell, torch.randn(2, 4, 3, dtype=torch.float64))
    assert len(calls) == 4 and kernel_calls == []


@pytest.mark.parametrize("config", list(CONFIGS))
def test_explain_names_the_kernel(config):
    assert "kernels.layer_norm_lstm_sequence" in rk.fused.explain(_cell(config))


def test_bad_peepholes_and_clip_raise_clear_errors():
    *args, peep = _raw(units=6)
    with pytest.raises(
        ValueError,
        match=r"layer_norm_lstm_sequence: expected peepholes of shape \[3, 6\], got \[2, 6\]",
    ):
        layer_norm_lstm_sequence(*args, peepholes=peep[:2])
    with pytest.raises(
        ValueError, match=r"layer_norm_lstm_sequence: expected cell_clip > 0 or None, got -1.0"
    ):
        layer_norm_lstm_sequence(*args, cell_clip=-1.0)


@pytest.mark.parametrize("case_id, calls", [("ln_lstm_ln", 1), ("bidir_ln_lstm_peep_clip_init", 2)])
def test_tf_fixtures_run_through_the_kernel(case_id, calls, path, kernel_calls):
    """TF's numbers (tests/fixtures/contrib, tools/make_tf_fixtures_contrib.py) through the kernel: layer_norm
    alone (batch-major, a row of length 0), and peepholes with cell_clip forward plus peepholes backward over
    time-major inputs from random initial states."""
    case, arrays = load_case(case_id, FIXTURES)
    diffs, names = replay(case, arrays)
    assert kernel_calls == [path] * calls  # each direction's unroll ran the kernel
    assert names == case["variables"]
    assert {"outputs", "final_state", "grad_inputs", "grad_var"} <= set(diffs)
    for quantity, diff in diffs.items():
        assert diff <= 1e-5, f"{case_id}: {quantity} differs from TF by {diff:.2e}"


@needs_native
def test_native_bad_tensors_get_a_clear_error_not_a_native_call(monkeypatch):
    *args, peep = _raw(units=6)  # xk [5, 4, 24], w_h [6, 24], ..., c0, h0 [4, 6]
    where = "layer_norm_lstm_sequence"
    with pytest.raises(
        ValueError, match=rf"{where}: expected w_h of shape \[6, 24\], got \[5, 24\]"
    ):
        layer_norm_lstm_sequence(args[0], args[1][:5], *args[2:], native=True)
    with pytest.raises(
        ValueError, match=rf"{where}: expected xk of shape \[5, 4, 24\], got \[5, 4, 20\]"
    ):
        layer_norm_lstm_sequence(args[0][..., :20], *args[1:], native=True)
    with pytest.raises(
        TypeError, match=rf"{where}: expected h0 as a CPU float32 or float64 tensor like"
    ):
        layer_norm_lstm_sequence(*args[:7], args[7].float(), native=True)
    with pytest.raises(
        ValueError,
        match=rf"{where}: expected x \[T, B, D\] and c0 \[B, H\], got \[4, 24\], \[4, 6\]",
    ):
        layer_norm_lstm_sequence(args[0][0], *args[1:], native=True)
    monkeypatch.setattr(rk.kernels.native, "_state", {"lib": None, "reason": "test"})
    with pytest.raises(RuntimeError, match=rf"{where}: the native loops are not available here"):
        layer_norm_lstm_sequence(*args, native=True)


def test_without_the_native_loops_the_torch_op_kernel_runs(monkeypatch, kernel_calls):
    monkeypatch.setattr(rk.kernels.native, "_state", {"lib": None, "reason": "test"})
    cell = _cell("peep_clip")
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    got, _ = rk.dynamic_rnn(cell, x, sequence_length=[4, 2])
    assert kernel_calls == [False]
    want, _ = cell_loop(cell, x, cell.zero_state(2, torch.float64), torch.tensor([4, 2]), False)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
