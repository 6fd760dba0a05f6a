"""The fused path's TF -> torch LSTM re-layout (cells/lstm_layout.py): one autograd node whose forward and
backward are the index shuffle of TF's gate order, checked against an independent gather and by gradcheck."""

from __future__ import annotations

import torch

from rnnkit.cells.lstm_layout import tf_lstm_to_torch


def _reference(kernel, bias, d, forget):
    """Block indices written out: torch's gate rows i, f, j, o are TF's columns i, j, f, o at 0, 2, 1, 3."""
    h = kernel.shape[1] // 4
    cols = torch.cat([torch.arange(g * h, (g + 1) * h) for g in (0, 2, 1, 3)])
    return kernel[:d, cols].t(), kernel[d:, cols].t(), bias[cols] + forget


def _inputs(d=3, p=5, h=4):
    g = torch.Generator().manual_seed(0)
    kernel = torch.randn(d + p, 4 * h, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(4 * h, generator=g, dtype=torch.float64, requires_grad=True)
    forget = torch.zeros(4 * h, dtype=torch.float64)
    forget[h : 2 * h] = 1.0
    return kernel, bias, d, forget


def test_values_and_gradients_equal_an_index_gather():
    kernel, bias, d, forget = _inputs()
    for tracing in (False, True):
        got = tf_lstm_to_torch(kernel, bias, d, forget, tracing)
        want = _reference(kernel, bias, d, forget)
        assert all(g.is_contiguous() for g in got)
        grads = [torch.randn_like(w) for w in want]
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=0, atol=0)
        g_got = torch.autograd.grad(got, [kernel, bias], grads)
        g_want = torch.autograd.grad(want, [kernel, bias], grads)
        for a, b in zip(g_got, g_want):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_gradcheck_and_gradgradcheck():
    kernel, bias, d, forget = _inputs(d=2, p=3, h=2)

    def f(k, b):
        return tf_lstm_to_torch(k, b, d, forget)

    assert torch.autograd.gradcheck(f, (kernel, bias))
    assert torch.autograd.gradgradcheck(f, (kernel, bias))


def test_an_unused_output_gets_zero_gradient():
    kernel, bias, d, forget = _inputs()
    w_ih, _, _ = tf_lstm_to_torch(kernel, bias, d, forget)
    (g,) = torch.autograd.grad(w_ih.sum(), kernel)
    assert torch.equal(g[:d], torch.ones_like(g[:d])) and not g[d:].any()
