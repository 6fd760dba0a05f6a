"""The sequence kernels (``rnnkit.kernels``) against a plain float64 step loop of the same math: values, every
gradient (autograd through the loop vs the hand-written backward), gradcheck, sequence_length (0, partial, full),
initial states."""

from __future__ import annotations

import pytest
import torch

from rnnkit.kernels import layer_norm_lstm_sequence

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
        new_c = _ln(c * torch.sigmoid(f + forget_bias) + torch.sigmoid(i) * torch.tanh(j), gamma_s, beta_s)
        new_h = torch.tanh(new_c) * torch.sigmoid(o)
        live = torch.ones(h.shape[0], 1, dtype=torch.bool) if lengths is None else (t < lengths)[:, None]
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
