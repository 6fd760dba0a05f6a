"""swap_memory=True on a fusable stack: each chunk is one ``_RecomputedChunk`` node (fused/checkpointed.py),
forward without autograd, backward re-running the chunk. Its gradients must be the plain fused path's, for
every tensor that requires grad, including a lazily built cell's parameters and second-order terms."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
import rnnkit._recompute as recompute
import rnnkit.fused.checkpointed as checkpointed


def _stack(input_size: int | None = 3) -> rk.MultiRNNCell:
    torch.manual_seed(5)
    return rk.MultiRNNCell(
        [rk.BasicLSTMCell(5, input_size=input_size), rk.LSTMCell(4, num_proj=3, input_size=5)]
    ).double()


def _count_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    apply = recompute._RecomputedChunk.apply

    def counting(*args):
        calls.append(1)
        return apply(*args)

    monkeypatch.setattr(recompute._RecomputedChunk, "apply", counting)
    return calls


def test_a_lazily_built_cell_gets_every_parameter_gradient(monkeypatch):
    """The cell is built by the first chunk's inputs; its parameters must still be inputs of every chunk node
    (otherwise the re-run's parameter gradients would be lost without an error)."""
    calls = _count_chunks(monkeypatch)
    x = torch.randn(
        2, 40, 3, dtype=torch.float64
    )  # no grad on the inputs: only the parameters need it
    lazy = _stack(input_size=None)
    out, _ = rk.dynamic_rnn(lazy, x, swap_memory=True)
    out.square().sum().backward()
    assert (
        len(calls) == 1
    )  # 40 steps in 2 chunks of 20 (3 * ceil(sqrt(40)) = 21, made equal); the last is kept
    swapped = [p.grad.clone() for p in lazy.parameters()]
    assert len(swapped) == 5 and all(g.abs().sum() > 0 for g in swapped)
    lazy.zero_grad()
    rk.dynamic_rnn(lazy, x)[0].square().sum().backward()
    for got, want in zip(swapped, [p.grad for p in lazy.parameters()]):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_double_backward_equals_the_plain_fused_path():
    cell = _stack()
    x = torch.randn(3, 30, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([30, 14, 0])

    def penalty(swap: bool) -> tuple[torch.Tensor, ...]:
        out, _ = rk.dynamic_rnn(cell, x, sequence_length=lens, swap_memory=swap)
        (g,) = torch.autograd.grad(out.tanh().sum(), x, create_graph=True)
        return torch.autograd.grad(g.square().sum(), [x, *cell.parameters()])

    for got, want in zip(penalty(True), penalty(False)):
        assert want.abs().sum() > 0
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_a_parameter_changed_before_backward_is_an_error():
    cell = _stack()
    out, _ = rk.dynamic_rnn(cell, torch.randn(2, 40, 3, dtype=torch.float64), swap_memory=True)
    with torch.no_grad():
        cell.cells[0].kernel.add_(
            1.0
        )  # what an optimizer step between forward and backward would do
    with pytest.raises(
        RuntimeError,
        match=r"dynamic_rnn\(swap_memory=True\): expected the inputs, initial state and parameters to be "
        r"unchanged until backward, got a \(8, 20\) tensor modified in place",
    ):
        out.sum().backward()


def test_the_first_forward_records_nothing(monkeypatch):
    """The point of the node: the fused kernels' first forward runs without autograd (inference kernels, no
    workspace kept), and only the backward's re-run records; the last chunk records at once (backward needs it
    first, and keeping one chunk's activations is what any re-run costs)."""
    seen: list[bool] = []
    run_fused = checkpointed.run_fused

    def spying(*args, **kwargs):
        seen.append(torch.is_grad_enabled())
        return run_fused(*args, **kwargs)

    monkeypatch.setattr(checkpointed, "run_fused", spying)
    cell = _stack()
    x = torch.randn(2, 40, 3, dtype=torch.float64, requires_grad=True)
    out, _ = rk.dynamic_rnn(cell, x, swap_memory=True)
    assert seen == [False, True]
    out.sum().backward()
    assert seen == [False, True, True]


def test_parameter_gradients_under_create_graph_count_each_chunk_once():
    """First-order parameter gradients with create_graph=True (meta-learning's inner step, a penalty on them):
    every chunk's state depends on the parameters through the chunks before it, and the re-run must count only
    its own paths (here the parameter is also the initial state, so it is reached three ways)."""
    torch.manual_seed(2)
    owner = torch.nn.Module()
    owner.w = torch.nn.Parameter(torch.randn(2, 3, dtype=torch.float64))
    x = torch.randn(2, 8, 3, dtype=torch.float64, requires_grad=True)

    def runner(xs, h, lengths, start):
        outs = []
        for x_t in xs.unbind(1):
            h = torch.tanh(x_t * owner.w + h)
            outs.append(h)
        return torch.stack(outs, 1), h

    def grads(chunked: bool) -> tuple[torch.Tensor, ...]:
        if chunked:
            out, _ = recompute.run_in_recomputed_chunks(runner, x, owner.w, None, False, 3, owner)
        else:
            out, _ = runner(x, owner.w, None, 0)
        g_x, g_w = torch.autograd.grad(out.sum(), [x, owner.w], create_graph=True)
        return g_w, *torch.autograd.grad(g_x.square().sum() + g_w.square().sum(), [x, owner.w])

    for got, want in zip(grads(True), grads(False)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_a_write_through_data_between_steps_is_seen_by_the_next_swap_step():
    """Old-style training loops update parameters through ``.data`` (no version bump). The first forward of the
    recomputed chunks runs without autograd, but must not take the across-calls weights cache (keyed by
    versions), or the next step would run on the previous step's weights."""
    cell = _stack()
    x = torch.randn(2, 40, 3, dtype=torch.float64)
    rk.dynamic_rnn(cell, x, swap_memory=True)[0].sum().backward()
    with torch.no_grad():
        for p in cell.parameters():
            p.data.add_(0.1 * p.grad)  # a hand-written SGD step, as legacy PyTorch code writes it
    swapped, _ = rk.dynamic_rnn(cell, x, swap_memory=True)
    plain, _ = rk.dynamic_rnn(cell, x)
    torch.testing.assert_close(swapped, plain, rtol=1e-12, atol=1e-12)


def test_the_chunks_share_one_copy_of_the_re_laid_out_weights():
    from rnnkit.cells import fused_spec

    cell = rk.BasicLSTMCell(5, input_size=3).double()
    store: dict = {}
    with fused_spec.weights_scope(store):
        first = cell._torch_weights()
        second = cell._torch_weights()
    assert len(store) == 1
    for a, b in zip(first[:3], second[:3]):
        assert a.data_ptr() == b.data_ptr() and a is not b and a.grad_fn is not b.grad_fn
    plain = cell._torch_weights()
    grads = [torch.randn_like(w) for w in plain[:3]]
    for got in (first, second):
        for g, w in zip(
            torch.autograd.grad(got[:3], [cell.kernel, cell.bias], grads),
            torch.autograd.grad(plain[:3], [cell.kernel, cell.bias], grads),
        ):
            torch.testing.assert_close(g, w, rtol=0, atol=0)
