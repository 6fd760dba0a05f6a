"""``dynamic_rnn(..., swap_memory=True)``: activation checkpointing over chunks of time (unroll/checkpointed.py).

It must change memory, never numbers: outputs, final state and every gradient equal the plain loop's (float64),
for every registry cell (nested states and MultiRNNCell included), with and without ``sequence_length``.
"""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.unroll.checkpointed import default_chunk_size, run_steps_checkpointed
from rnnkit.unroll.dynamic import split_time
from tests.registry import CASE_IDS, CASES, D

B, T = 4, 11
LENGTHS = [
    11,
    0,
    6,
    4,
]  # full, empty, ends mid-chunk, ends on a chunk boundary (T=11: chunks of 4 steps)


def _random_state(cell, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return rk.nest.map_structure(
        lambda n: torch.randn(B, n, generator=gen, dtype=torch.float64, requires_grad=True),
        cell.state_size,
    )


def _run(cell, x, init, lengths, swap_memory, time_major=False):
    """Outputs, final state and the gradients of a loss touching all of them (params, inputs, initial state)."""
    out, state = rk.dynamic_rnn(
        cell,
        x,
        sequence_length=lengths,
        initial_state=init,
        swap_memory=swap_memory,
        time_major=time_major,
    )
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    loss = (out * weights).sum() + sum((s**2).sum() for s in rk.nest.flatten(state))
    leaves = [*cell.parameters(), x, *rk.nest.flatten(init)]
    grads = torch.autograd.grad(loss, leaves)
    return out.detach(), [s.detach() for s in rk.nest.flatten(state)], grads


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_swap_memory_equals_plain_loop(case, lengths):
    cell = case.make_cell().double()
    x = torch.randn(
        B, T, D, generator=torch.Generator().manual_seed(0), dtype=torch.float64, requires_grad=True
    )
    init = _random_state(cell)
    plain = _run(cell, x, init, lengths, swap_memory=False)
    swapped = _run(cell, x, init, lengths, swap_memory=True)
    torch.testing.assert_close(swapped[0], plain[0], rtol=0, atol=1e-12)
    for a, b in zip(swapped[1], plain[1]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert len(swapped[2]) == len(plain[2])
    for a, b in zip(swapped[2], plain[2]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 10, 11, 50])
def test_any_chunk_size_gives_the_plain_results(chunk_size):
    cell = rk.MultiRNNCell(
        [rk.BasicLSTMCell(4, input_size=D), rk.GRUCell(3, input_size=4)]
    ).double()
    x = torch.randn(
        B, T, D, generator=torch.Generator().manual_seed(3), dtype=torch.float64, requires_grad=True
    )
    lengths = torch.tensor(LENGTHS)
    steps, batch, _, _ = split_time("test", x, False)
    state = cell.zero_state(B, torch.float64)
    ref_out, ref_state = rk.dynamic_rnn(cell, x, sequence_length=lengths)
    outs, final = run_steps_checkpointed(cell, steps, state, lengths, batch, chunk_size=chunk_size)
    out = torch.stack(outs, 1)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-12)
    rk.nest.assert_same_structure(ref_state, final)
    g_ref = torch.autograd.grad(ref_out.sum() + ref_state[1].sum(), [x, *cell.parameters()])
    g = torch.autograd.grad(out.sum() + final[1].sum(), [x, *cell.parameters()])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_time_major_and_lazy_build():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(T, B, D, generator=gen, dtype=torch.float64)
    torch.manual_seed(0)
    lazy = rk.LSTMCell(
        4, use_peepholes=True, num_proj=2
    )  # built inside the first checkpointed chunk
    out, state = rk.dynamic_rnn(lazy, x, time_major=True, swap_memory=True)
    assert lazy.built and lazy.kernel.dtype == torch.float64
    out.sum().backward()
    assert all(p.grad is not None for p in lazy.parameters())
    ref_out, ref_state = rk.dynamic_rnn(lazy, x, time_major=True)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-12)
    torch.testing.assert_close(state.h, ref_state.h, rtol=0, atol=1e-12)


def test_no_grad_and_all_rows_ended_paths():
    cell = rk.BasicLSTMCell(4, input_size=D).double()
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        out, _ = rk.dynamic_rnn(cell, x, swap_memory=True)
    ref_out, _ = rk.dynamic_rnn(cell, x)  # (may run on a fused kernel: equal to float64 rounding)
    torch.testing.assert_close(out, ref_out.detach(), rtol=0, atol=1e-12)
    # every row ends in the first chunk: later chunks make no cell call and give zeros
    out, _ = rk.dynamic_rnn(cell, x, sequence_length=[2, 0, 1, 3], swap_memory=True)
    assert not out[:, 3:].any()
    out.sum().backward()
    assert cell.kernel.grad is not None and cell.kernel.grad.abs().sum() > 0


def _saved_bytes(swap_memory, time):
    """Bytes autograd keeps for backward outside checkpointed regions, counted with saved_tensors_hooks."""
    cell = rk.BasicLSTMCell(16, input_size=8)
    x = torch.randn(4, time, 8, requires_grad=True)
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        rk.dynamic_rnn(cell, x, swap_memory=swap_memory)
    return total


def test_swap_memory_keeps_far_fewer_activations():
    plain, swapped = _saved_bytes(False, 256), _saved_bytes(True, 256)
    # Plain: every step's activations. swap_memory (a fused stack: recomputed chunks of about 3 * sqrt(T) steps)
    # keeps only the last chunk's, 43 of 256 steps: the chunks before it are re-run in backward, their starting
    # states and inputs held by reference, not as saved activations.
    assert swapped * 5 < plain, (swapped, plain)
    # and what it keeps grows like sqrt(T): 4x the steps, about 2x the bytes (plain: 4x)
    plain_4x, swapped_4x = _saved_bytes(False, 1024), _saved_bytes(True, 1024)
    assert plain_4x > 3.5 * plain and swapped_4x < 2.5 * swapped, (
        swapped,
        swapped_4x,
        plain,
        plain_4x,
    )
    assert swapped_4x * 10 < plain_4x, (swapped_4x, plain_4x)


def test_default_chunk_size_is_ceil_sqrt():
    assert [default_chunk_size(t) for t in (1, 2, 4, 5, 100, 101, 10_000)] == [
        1,
        2,
        2,
        3,
        10,
        11,
        100,
    ]


def test_bad_chunk_size_message():
    cell = rk.BasicRNNCell(2, input_size=D)
    steps, batch, _, _ = split_time("test", torch.zeros(1, 3, D), False)
    with pytest.raises(
        ValueError, match="run_steps_checkpointed: expected chunk_size to be a positive int, got 0"
    ):
        run_steps_checkpointed(cell, steps, cell.zero_state(1), None, batch, chunk_size=0)


def test_swap_memory_uses_the_per_step_path(monkeypatch):
    # The fast path computes the input matmul for all T steps at once; checkpointed chunks would keep that
    # [B, T, 4H] tensor whole, which is most of what swap_memory is meant to save (BENCHMARKS.md).
    cell = rk.BasicLSTMCell(4, input_size=D)
    original = type(cell).input_projection

    def one_step_only(self, x):
        assert x.dim() == 2, "all-steps projection under swap_memory"
        return original(self, x)

    monkeypatch.setattr(type(cell), "input_projection", one_step_only)
    out, _ = rk.dynamic_rnn(cell, torch.randn(B, T, D), swap_memory=True)
    assert out.shape == (B, T, 4)
