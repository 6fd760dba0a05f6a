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
    assert len(calls) == 2  # 40 steps in chunks of 20 (3 * ceil(sqrt(40)) = 21, made equal)
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
    out, _ = rk.dynamic_rnn(cell, torch.randn(2, 6, 3, dtype=torch.float64), swap_memory=True)
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
    workspace kept), and only the backward's re-run records."""
    seen: list[bool] = []
    run_fused = checkpointed.run_fused

    def spying(*args, **kwargs):
        seen.append(torch.is_grad_enabled())
        return run_fused(*args, **kwargs)

    monkeypatch.setattr(checkpointed, "run_fused", spying)
    cell = _stack()
    x = torch.randn(2, 40, 3, dtype=torch.float64, requires_grad=True)
    out, _ = rk.dynamic_rnn(cell, x, swap_memory=True)
    assert seen == [False, False]
    out.sum().backward()
    assert seen == [False, False, True, True]
