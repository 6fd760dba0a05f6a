"""NOTE [pooled kernel weights] (cells/fused_spec.py), while recording: the re-layout's autograd node leases a
large LSTM layer's kernel weights from the pool and holds the lease until its graph is gone. Each step must
compute and differentiate with its own parameters, a graph still alive must keep its buffers (a second forward
before the first backward), the buffers must go back to the pool as soon as the graph is dropped (no reference
cycle that only the garbage collector would break), and only the fused path's own call leases."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import _workspace, lstm_layout
from tests.fused._pooled import D, H, unpooled
from tests.kernels._native import needs_native

torch.set_num_threads(1)

pytestmark = needs_native


@pytest.fixture(autouse=True)
def small_leases(monkeypatch):
    """Lease from 64 KB up, so that these small shapes take the pooled route."""
    monkeypatch.setattr(lstm_layout, "_LEASE_MIN_BYTES", 2**16)


@pytest.fixture
def stacks() -> tuple[rk.MultiRNNCell, rk.MultiRNNCell]:
    """Two stacks with the same random parameters: one runs pooled, the other with new weight tensors."""

    def one() -> rk.MultiRNNCell:
        torch.manual_seed(0)
        stack = rk.MultiRNNCell(
            [rk.BasicLSTMCell(H, input_size=D), rk.LSTMBlockCell(H, input_size=H)]
        )
        with torch.no_grad():
            rk.dynamic_rnn(stack, torch.randn(2, 3, D))  # builds
            for p in stack.parameters():
                p.copy_(torch.randn_like(p) * 0.3)
        return stack

    return one(), one()


@pytest.fixture
def leases(stacks, monkeypatch) -> list[weakref.ref]:
    """Weak references to every lease taken once the stacks are built (a strong one would keep it alive)."""
    seen: list[weakref.ref] = []
    original = _workspace.lease

    def watched(shapes, like):
        lease = original(shapes, like)
        seen.append(weakref.ref(lease))
        return lease

    monkeypatch.setattr(_workspace, "lease", watched)
    return seen


def _loss(out: torch.Tensor) -> torch.Tensor:
    return (out * out.detach().cos()).sum()


def test_training_steps_differentiate_with_their_parameters_in_reused_buffers(
    stacks, leases, monkeypatch
):
    pooled, plain = stacks
    optimizers = [torch.optim.Adam(s.parameters(), lr=0.05) for s in (pooled, plain)]
    x = torch.randn(4, 6, D)
    for _ in range(4):
        outs = [rk.dynamic_rnn(pooled, x)[0], unpooled(plain, x, monkeypatch)]
        assert torch.equal(outs[0], outs[1])
        for opt, out in zip(optimizers, outs):
            opt.zero_grad()
            _loss(out).backward()
        for p, q in zip(pooled.parameters(), plain.parameters()):
            assert torch.equal(p.grad, q.grad)
        for opt in optimizers:
            opt.step()
    assert len(leases) == 8  # both layers, every step (the unpooled stack's calls lease nothing)
    assert all(
        ref() is None for ref in leases[:6]
    )  # the earlier graphs are gone, their leases with them
    assert _workspace.pooled_bytes() > 0


def test_a_graph_still_alive_keeps_its_buffers(stacks, leases, monkeypatch):
    pooled, plain = stacks
    x, y = torch.randn(4, 6, D), torch.randn(4, 6, D)
    first = rk.dynamic_rnn(pooled, x)[0]
    with torch.no_grad():
        for p in (
            pooled.parameters()
        ):  # a step between the two forwards, as gradient accumulation may take
            p.mul_(0.9)
    second = rk.dynamic_rnn(pooled, y)[0]
    held = [ref() for ref in leases]
    assert len(held) == 4 and all(lease is not None for lease in held)
    pointers = [b.data_ptr() for lease in held for b in lease.buffers]
    assert len(set(pointers)) == len(pointers)  # no buffer in two live leases
    del held
    grads = torch.autograd.grad(_loss(first) + _loss(second), list(pooled.parameters()))
    want_first = unpooled(plain, x, monkeypatch)
    with torch.no_grad():
        for p in plain.parameters():
            p.mul_(0.9)
    want_second = unpooled(plain, y, monkeypatch)
    want = torch.autograd.grad(_loss(want_first) + _loss(want_second), list(plain.parameters()))
    for g, w in zip(grads, want):
        assert torch.equal(g, w)


def test_the_buffers_go_back_when_the_graph_is_dropped_without_the_collector(stacks, leases):
    pooled, _ = stacks
    x = torch.randn(4, 6, D)
    gc.disable()
    try:
        out = rk.dynamic_rnn(pooled, x)[0]
        _loss(out).backward()
        assert [ref() is not None for ref in leases] == [True, True]  # held by the graph
        first = {b.data_ptr() for ref in leases for b in ref().buffers}
        del out
        assert [ref() is None for ref in leases] == [True, True]
        out = rk.dynamic_rnn(pooled, x)[0]  # the next step finds them in the pool
        assert out.grad_fn is not None
        assert {b.data_ptr() for ref in leases[2:] for b in ref().buffers} == first
    finally:
        gc.enable()


def test_only_the_fused_call_leases(stacks, leases):
    pooled, _ = stacks
    layer = pooled.cells[0].fused_spec().layers[0]
    a, b = layer.weights(), layer.weights()  # recording: the public contract gives new tensors
    assert a[0].grad_fn is not None and leases == []
    assert all(u.data_ptr() != v.data_ptr() for u, v in zip(a[:3], b[:3]))
    frozen = pooled.requires_grad_(False)
    x = torch.randn(4, 6, D, requires_grad=True)  # the kernel records (for x) and saves its weights
    rk.dynamic_rnn(frozen, x)[0].sum().backward()
    assert (
        leases == [] and x.grad is not None
    )  # no autograd node of ours to hold a lease: new tensors
