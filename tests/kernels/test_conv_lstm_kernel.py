"""kernels.conv_lstm_sequence (contrib's convolutional LSTMs) against the cells' own step calls: values and every
gradient in float64, both layouts, sequence_length patterns, gradcheck, double backward, the no-grad path, the
dispatch (the kernel runs, or says why not) and every error message."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import conv_lstm, conv_lstm_sequence, kernel_for, native

B, T = 3, 4
# (cell factory, input shape [*S, C], window): odd and even windows in 1, 2 and 3 spatial dimensions
CASES = {
    "1d": (rk.Conv1DLSTMCell, [6, 2], [3], {}),
    "1d_even_nobias": (rk.Conv1DLSTMCell, [5, 3], [4], {"use_bias": False}),
    "2d": (rk.Conv2DLSTMCell, [4, 5, 2], [3, 3], {"forget_bias": 0.3}),
    "2d_even": (rk.Conv2DLSTMCell, [4, 3, 2], [2, 3], {}),
    "3d": (rk.Conv3DLSTMCell, [3, 2, 4, 1], [3, 1, 2], {"forget_bias": -0.4}),
    "any_2d": (lambda **kw: rk.ConvLSTMCell(2, **kw), [3, 3, 1], [1, 3], {}),
}
LENGTHS = {"none": None, "partial": [4, 0, 2], "all_zero": [0, 0, 0], "short": [2, 1, 2]}


def _make(key, seed=0, units=2):
    cls, shape, window, kwargs = CASES[key]
    cell = cls(input_shape=shape, output_channels=units, kernel_shape=window, **kwargs).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # random, non-symmetric weights (the biases start at zeros)
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.6)
    x = torch.randn(B, T, *shape, generator=gen, dtype=torch.float64)
    state = tuple(
        torch.randn(B, *shape[:-1], units, generator=gen, dtype=torch.float64) for _ in range(2)
    )
    return cell, x, rk.LSTMStateTuple(*state)


def _step_loop(cell, x, state, lengths, time_major):
    """The cell called once per step, TF's sequence_length rule by hand."""
    outputs = []
    for t, x_t in enumerate(x.unbind(0 if time_major else 1)):
        out, new = cell(x_t, state)
        live = torch.ones(B, dtype=torch.bool) if lengths is None else t < torch.tensor(lengths)
        live = live.view(B, *[1] * (out.dim() - 1))
        outputs.append(torch.where(live, out, 0.0))
        state = rk.LSTMStateTuple(*(torch.where(live, n, o) for n, o in zip(new, state)))
    return torch.stack(outputs, 0 if time_major else 1), state


@pytest.fixture
def kernel_calls(monkeypatch):
    """How many times dynamic_rnn ran the sequence kernel."""
    calls = []
    real = conv_lstm.conv_lstm_sequence

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(conv_lstm, "conv_lstm_sequence", spy)
    return calls


@pytest.fixture(params=["native", "torch"])
def steps(request, monkeypatch):
    """Each step's pointwise work in the native loops (CPU float32/float64) or in torch ops (CUDA, elsewhere)."""
    if request.param == "native":
        if native.library() is None:
            pytest.skip(f"the native loops are not available: {native.unavailable_reason()}")
    else:
        monkeypatch.setattr(conv_lstm, "_native_steps", lambda like: False)
    return request.param


def test_native_steps_run_on_cpu_float32_and_float64_only():
    x = torch.zeros(2)
    assert conv_lstm._native_steps(x) == (native.library() is not None)
    assert conv_lstm._native_steps(x.double()) == (native.library() is not None)
    assert not conv_lstm._native_steps(x.half())
    assert not conv_lstm._native_steps(x.to("meta"))


def _grads(result, weights, leaves):
    out, (c, h) = result
    loss = (out * weights[0]).sum() + (c * weights[1]).sum() + (h * weights[2]).sum()
    return torch.autograd.grad(loss, leaves, allow_unused=True)


@pytest.mark.parametrize("lengths", list(LENGTHS))
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("key", list(CASES))
def test_kernel_equals_the_step_loop_values_and_every_gradient(
    key, time_major, lengths, kernel_calls, steps
):
    cell, x, state = _make(key)
    lens = LENGTHS[lengths]
    x = (x.transpose(0, 1).contiguous() if time_major else x).requires_grad_()
    state = rk.LSTMStateTuple(*(s.requires_grad_() for s in state))
    got = rk.dynamic_rnn(cell, x, initial_state=state, sequence_length=lens, time_major=time_major)
    assert kernel_calls  # (1-D runs as 2-D: a second, inner call)
    want = _step_loop(cell, x, state, lens, time_major)
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-12)
    for g, w in zip(got[1], want[1]):
        torch.testing.assert_close(g, w, rtol=0, atol=1e-12)
    gen = torch.Generator().manual_seed(1)
    weights = [torch.randn(t.shape, generator=gen, dtype=t.dtype) for t in (got[0], *got[1])]
    leaves = [x, *state, *cell.parameters()]
    for name, g, w in zip(["x", "c0", "h0", "kernel", "biases"], _grads(got, weights, leaves),
                          _grads(want, weights, leaves)):  # fmt: skip
        torch.testing.assert_close(g, w, rtol=0, atol=1e-10, msg=name)


@pytest.mark.parametrize("key", ["1d_even_nobias", "2d_even", "3d"])
def test_gradcheck_every_input(key, steps):
    cell, x, state = _make(key)
    x = x[:2, :3].transpose(0, 1).contiguous().requires_grad_()
    c0, h0 = (s[:2].clone().requires_grad_() for s in state)
    kernel = cell.kernel.detach().clone().requires_grad_()
    biases = None if cell.biases is None else cell.biases.detach().clone().requires_grad_()
    lengths = torch.tensor([3, 1])

    def run(x, kernel, c0, h0, *biases):
        out, c, h = conv_lstm_sequence(x, kernel, biases[0] if biases else None, c0, h0,
                                       lengths, forget_bias=0.7)  # fmt: skip
        return out, c, h

    inputs = (x, kernel, c0, h0) + (() if biases is None else (biases,))
    assert torch.autograd.gradcheck(run, inputs)


def test_gradgradcheck_on_a_tiny_even_window():
    """Second order (the torch-op recomputation), kept tiny: each check costs a forward per number squared."""
    gen = torch.Generator().manual_seed(3)
    x, kernel, biases, c0, h0 = (
        torch.randn(*shape, generator=gen, dtype=torch.float64).requires_grad_()
        for shape in ((2, 2, 3, 1), (2, 2, 4), (4,), (2, 3, 1), (2, 3, 1))
    )
    lengths = torch.tensor([2, 1])
    run = lambda *a: conv_lstm_sequence(*a, lengths, 0.4)  # noqa: E731
    assert torch.autograd.gradgradcheck(run, (x, kernel, biases, c0, h0))


def test_double_backward_equals_the_step_loop(steps):
    """A gradient penalty through the kernel (create_graph=True: NOTE [double backward])."""
    cell, x, state = _make("2d_even")
    x = x.requires_grad_()
    lens = [4, 1, 0]
    penalties = []
    for run in (
        lambda: rk.dynamic_rnn(cell, x, initial_state=state, sequence_length=lens),
        lambda: _step_loop(cell, x, state, lens, False),
    ):
        out, (c, h) = run()
        (g,) = torch.autograd.grad((out.sin().sum() + (c * h).sum()), x, create_graph=True)
        penalty = g.square().sum()
        penalties.append((penalty, *torch.autograd.grad(penalty, list(cell.parameters()))))
    for a, b in zip(*penalties):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("key", ["1d", "2d_even"])
def test_no_grad_and_inference_mode_equal_the_training_forward(key, steps):
    cell, x, state = _make(key)
    x = x.transpose(0, 1).contiguous()
    args = (cell.kernel, cell.biases, *state, torch.tensor([4, 2, 0]), 0.5)
    with_grad = conv_lstm_sequence(x, *args)
    assert with_grad[0].requires_grad
    with torch.no_grad():
        plain = conv_lstm_sequence(x, *args)
    with torch.inference_mode():
        inference = conv_lstm_sequence(x, *args)
    for a, b, c in zip(with_grad, plain, inference):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(a, c, rtol=0, atol=0)


def test_float32_close_to_float64_and_pooled_buffers_never_leak(steps):
    """float32 runs (oneDNN's channels-last convolutions); a second call reuses the first's buffers, and the first
    call's outputs and gradients keep their values."""
    cell, x, state = _make("2d")
    cell32 = CASES["2d"][0](input_shape=CASES["2d"][1], output_channels=2, kernel_shape=[3, 3],
                            forget_bias=0.3)  # fmt: skip
    cell32.load_state_dict({k: v.float() for k, v in cell.state_dict().items()})
    x32 = x.float().requires_grad_()
    out, final = rk.dynamic_rnn(cell32, x32, sequence_length=[4, 3, 1])
    (g,) = torch.autograd.grad(out.sum() + final.c.sum(), x32)
    first = (out.detach().clone(), g.clone())
    out2, _ = rk.dynamic_rnn(cell32, x32 * 2, sequence_length=[4, 3, 1])
    torch.autograd.grad(out2.sum(), x32)
    torch.testing.assert_close(out.detach(), first[0], rtol=0, atol=0)
    torch.testing.assert_close(g, first[1], rtol=0, atol=0)
    want, want_final = rk.dynamic_rnn(cell, x, sequence_length=[4, 3, 1])
    torch.testing.assert_close(out.double(), want, rtol=0, atol=2e-6)
    torch.testing.assert_close(final.c.double(), want_final.c, rtol=0, atol=2e-6)


def test_devices_follow_the_inputs():
    """Every tensor the kernel makes follows the inputs' device (CUDA): run end to end on the meta device, where
    a stray CPU tensor would fail."""
    cell, x, state = _make("2d_even")
    args = [
        t.to("meta").requires_grad_() for t in (x.transpose(0, 1), cell.kernel, cell.biases, *state)
    ]
    out, c, h = conv_lstm_sequence(args[0], args[1], args[2], args[3], args[4])
    assert out.device.type == "meta" and out.shape == (T, B, 4, 3, 2)
    grads = torch.autograd.grad(out.sum() + c.sum() + h.sum(), args)
    assert [g.shape for g in grads] == [a.shape for a in args]


def test_a_state_of_another_dtype_is_promoted_as_the_step_loop_does():
    cell, x, state = _make("1d")
    state32 = rk.LSTMStateTuple(*(s.float() for s in state))
    got = rk.dynamic_rnn(cell, x, initial_state=state32)
    want = _step_loop(cell, x, state32, None, False)
    assert got[1].c.dtype == want[1].c.dtype == torch.float64
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-12)


class _OwnConv(rk.Conv2DLSTMCell):
    def _conv(self, x):
        return super()._conv(x) * 0.5


class _OwnForward(rk.Conv1DLSTMCell):
    def forward(self, inputs, state):
        return super().forward(inputs, state)


def test_fallback_reasons_and_explain():
    cell = rk.Conv2DLSTMCell(input_shape=[4, 4, 2], output_channels=3, kernel_shape=[3, 3])
    assert kernel_for(cell)[1] == (
        "kernels.conv_lstm_sequence: torch's convolutions, the steps' pointwise work native on CPU "
        "float32/float64 (one autograd node per unroll)"
    )
    assert "kernels.conv_lstm_sequence" in rk.fused.explain(cell)
    own = _OwnConv(input_shape=[4, 4, 2], output_channels=3, kernel_shape=[3, 3])
    assert kernel_for(own) == (None, "_OwnConv overrides _conv, which the kernel would skip")
    fwd = _OwnForward(input_shape=[4, 2], output_channels=3, kernel_shape=[3])
    assert kernel_for(fwd) == (None, "_OwnForward overrides forward, which the kernel would skip")
    hooked = rk.Conv1DLSTMCell(input_shape=[4, 2], output_channels=3, kernel_shape=[3])
    hooked.register_forward_hook(lambda *args: None)
    assert kernel_for(hooked) == (None, "the cell has forward hooks, which must see every step")
    assert "forward hooks" in rk.fused.explain(hooked)


def test_a_fallback_cell_runs_its_own_step(kernel_calls):
    own = _OwnConv(input_shape=[4, 4, 2], output_channels=3, kernel_shape=[3, 3])
    x = torch.randn(2, 3, 4, 4, 2)
    out, _ = rk.dynamic_rnn(own, x)
    assert kernel_calls == []
    torch.testing.assert_close(out, _step_loop_b2(own, x), rtol=0, atol=0)


def _step_loop_b2(cell, x):
    state, outs = cell.zero_state(2, x.dtype), []
    for t in range(x.shape[1]):
        out, state = cell(x[:, t], state)
        outs.append(out)
    return torch.stack(outs, 1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("key", ["1d", "2d_even", "3d"])
def test_cuda_equals_cpu(key):
    cell, x, state = _make(key)
    lens = [4, 0, 2]
    x = x.requires_grad_()
    want = rk.dynamic_rnn(cell, x, initial_state=state, sequence_length=lens)
    want_grads = torch.autograd.grad(want[0].sum() + want[1].c.sum(), [x, *cell.parameters()])
    cell.cuda()
    xc = x.detach().cuda().requires_grad_()
    got = rk.dynamic_rnn(
        cell, xc, initial_state=tuple(s.cuda() for s in state), sequence_length=lens
    )
    grads = torch.autograd.grad(got[0].sum() + got[1].c.sum(), [xc, *cell.parameters()])
    torch.testing.assert_close(got[0].cpu(), want[0], rtol=0, atol=1e-10)
    for g, w in zip(grads, want_grads):
        torch.testing.assert_close(g.cpu(), w, rtol=0, atol=1e-10)


def test_dynamic_rnn_keeps_the_cells_error_messages():
    cell = rk.Conv2DLSTMCell(input_shape=[4, 4, 2], output_channels=3, kernel_shape=[3, 3])
    with pytest.raises(
        ValueError, match=r"Conv2DLSTMCell: expected inputs of shape \[B, 4, 4, 2\], got"
    ):
        rk.dynamic_rnn(cell, torch.randn(2, 3, 4, 5, 2))
    with pytest.raises(TypeError, match=r"Conv2DLSTMCell: expected torch.float32 inputs on cpu"):
        rk.dynamic_rnn(cell, torch.randn(2, 3, 4, 4, 2, dtype=torch.float64))
    bad_state = rk.LSTMStateTuple(torch.zeros(2, 4, 4, 3), torch.zeros(2, 4, 3, 3))
    with pytest.raises(
        ValueError, match=r"Conv2DLSTMCell: expected a state \(c, h\) of two \[2, 4, 4, 3\]"
    ):
        rk.dynamic_rnn(cell, torch.randn(2, 3, 4, 4, 2), initial_state=bad_state)


def _args(**change):
    args = {
        "x": torch.zeros(3, 2, 5, 4, 2),
        "kernel": torch.zeros(3, 3, 5, 12),
        "biases": torch.zeros(12),
        "c0": torch.zeros(2, 5, 4, 3),
        "h0": torch.zeros(2, 5, 4, 3),
    }
    args.update(change)
    return args


ERRORS = [
    (
        {"x": [1.0]},
        TypeError,
        "conv_lstm_sequence: expected x as a floating-point tensor, got list",
    ),
    (
        {"kernel": torch.zeros(3, 3, 5, 12, dtype=torch.int64)},
        TypeError,
        "conv_lstm_sequence: expected kernel as a floating-point tensor, got a torch.int64 tensor",
    ),
    (
        {"c0": torch.zeros(2, 5, 4, 3, dtype=torch.float64)},
        TypeError,
        "conv_lstm_sequence: expected c0 as torch.float32 on cpu like x, got torch.float64 on cpu",
    ),
    (
        {"x": torch.zeros(3, 2, 2)},
        ValueError,
        "conv_lstm_sequence: expected non-empty x [T, B, *S, C] with 1 to 3 spatial dimensions, got [3, 2, 2]",
    ),
    (
        {"x": torch.zeros(0, 2, 5, 4, 2)},
        ValueError,
        "conv_lstm_sequence: expected non-empty x [T, B, *S, C] with 1 to 3 spatial dimensions, got [0, 2, 5, 4, 2]",
    ),
    (
        {"h0": torch.zeros(2, 5, 3, 3)},
        ValueError,
        "conv_lstm_sequence: expected c0 and h0 [B, *S, K] = [2, 5, 4, K], got [2, 5, 4, 3] and [2, 5, 3, 3]",
    ),
    (
        {"kernel": torch.zeros(3, 5, 12)},
        ValueError,
        "conv_lstm_sequence: expected kernel [*k (2 ints), C+K=5, 4K=12], got [3, 5, 12]",
    ),
    (
        {"kernel": torch.zeros(3, 3, 6, 12)},
        ValueError,
        "conv_lstm_sequence: expected kernel [*k (2 ints), C+K=5, 4K=12], got [3, 3, 6, 12]",
    ),
    (
        {"biases": torch.zeros(8)},
        ValueError,
        "conv_lstm_sequence: expected biases [4K] = [12], got [8]",
    ),
]


@pytest.mark.parametrize("change, error, message", ERRORS)
def test_error_messages(change, error, message):
    with pytest.raises(error) as info:
        conv_lstm_sequence(**_args(**change))
    assert str(info.value) == message


def test_valid_arguments_of_the_error_table_run():
    out, c, h = conv_lstm_sequence(**_args())
    assert out.shape == (3, 2, 5, 4, 3) and c.shape == h.shape == (2, 5, 4, 3)
