"""The GRU and LSTM native loops read the inputs and the outputs' gradient where they lie (time- or batch-major,
any row strides) and add the kernels' gradients up every few steps (``native.weight_grad_chunk``): each way in
must give the cell loop's values and gradients (float64, random non-symmetric weights)."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import gru_sequence, native, peephole_lstm_sequence
from tests.kernels._cell_loop import assert_kernel_equals_cell_loop, cell_loop
from tests.kernels._cells import _cell, _state
from tests.kernels._native import needs_native

torch.set_num_threads(1)

pytestmark = needs_native

KINDS = ["gru", "peepholes", "both"]


def test_weight_grad_chunk_covers_about_128_rows():
    assert [native.weight_grad_chunk(b) for b in (1, 40, 64, 128, 500)] == [128, 3, 2, 1, 1]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("time_major", [False, True])
def test_uneven_weight_gradient_chunks_equal_the_cell_loop(kind, time_major):
    """40 rows: a partial product every 3 steps, so 7 steps end on a chunk of 1 ([6, 7), [3, 6), [0, 3))."""
    assert native.weight_grad_chunk(40) == 3
    cell = _cell(kind, seed=4)
    shape = (7, 40, 3) if time_major else (40, 7, 3)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    lens = torch.randint(0, 8, (40,), generator=torch.Generator().manual_seed(5))
    assert_kernel_equals_cell_loop(cell, x, _state(cell, 40, seed=6), lens, time_major)


@pytest.mark.parametrize("kind", KINDS)
def test_final_state_alone_gives_the_cell_loops_gradients(kind):
    """No gradient reaches the outputs (the loops read no outputs' gradient: NULL)."""
    cell = _cell(kind, seed=8)
    x = torch.randn(5, 6, 3, dtype=torch.float64, requires_grad=True)
    state = _state(cell, 5, seed=9)
    wrt = [x, *rk.nest.flatten(state), *cell.parameters()]
    final = rk.nest.flatten(rk.dynamic_rnn(cell, x, initial_state=state)[1])[-1]
    want = rk.nest.flatten(cell_loop(cell, x, state, None, False)[1])[-1]
    torch.testing.assert_close(final, want, rtol=1e-12, atol=1e-12)
    got_g = torch.autograd.grad(final.square().sum(), wrt)
    want_g = torch.autograd.grad(want.square().sum(), wrt)
    for g, w in zip(got_g, want_g):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_expanded_outputs_gradient_equals_the_cell_loop(kind):
    """``outputs.sum()`` sends an expanded gradient (every stride 0), which the loops get as a contiguous copy."""
    cell = _cell(kind, seed=10)
    x = torch.randn(4, 6, 3, dtype=torch.float64, requires_grad=True)
    state = _state(cell, 4, seed=11)
    wrt = [x, *cell.parameters()]
    got = torch.autograd.grad(rk.dynamic_rnn(cell, x, initial_state=state)[0].sum(), wrt)
    want = torch.autograd.grad(cell_loop(cell, x, state, None, False)[0].sum(), wrt)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


def test_strided_inputs_equal_contiguous_ones():
    """Inputs whose last dimension is strided (every other column: copied) and batch-major views (read in place)
    give exactly what their contiguous copies give."""
    gen = torch.Generator().manual_seed(12)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)
    h0, c0 = r(3, 5), r(3, 5)
    gates, gates_bias, candidate, candidate_bias = r(7, 10), r(10), r(7, 5), r(5)
    kernel, bias = r(7, 20), r(20)
    for x in (r(6, 3, 4)[..., ::2], r(3, 6, 2).transpose(0, 1)):
        plain = x.contiguous()
        got = gru_sequence(x, gates, gates_bias, candidate, candidate_bias, h0)
        want = gru_sequence(plain, gates, gates_bias, candidate, candidate_bias, h0)
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=0, atol=0)
        got = peephole_lstm_sequence(x, kernel, bias, None, c0, h0)
        want = peephole_lstm_sequence(plain, kernel, bias, None, c0, h0)
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=0, atol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_frozen_weights_give_the_cell_loops_input_and_state_gradients(kind):
    """Kernels that need no gradient (fine-tuning around a frozen RNN): the loops skip their products (NULL) and
    the inputs' and initial state's gradients stay the cell loop's."""
    cell = _cell(kind, seed=13)
    for p in cell.parameters():
        p.requires_grad_(False)
    x = torch.randn(
        40, 5, 3, dtype=torch.float64, requires_grad=True
    )  # 40 rows: products every 3 steps
    state = _state(cell, 40, seed=14)
    wrt = [x, *rk.nest.flatten(state)]
    got = torch.autograd.grad(rk.dynamic_rnn(cell, x, initial_state=state)[0].square().sum(), wrt)
    want = torch.autograd.grad(cell_loop(cell, x, state, None, False)[0].square().sum(), wrt)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)
