"""contrib's NASCell with ``num_proj`` through its native sequence kernel (``rnnkit.kernels.nas_sequence`` with a
projection; the projection code is the GLSTM kernel's): against the cell called once per step and the NumPy
reference; values, every gradient, gradcheck, sequence_length (none, partial, all zero), both layouts, float32,
double backward, and the projection's error message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
from rnnkit.cells import contrib
from rnnkit.kernels import kernel_for, nas_sequence
from tests.kernels._cell_loop import (
    assert_double_backward_equal,
    cell_loop,
    random_state,
    randomize,
)
from tests.kernels._native import needs_native
from tests.reference import numpy_cells, numpy_contrib

torch.set_num_threads(1)

pytestmark = needs_native

LENGTHS = [None, [6, 0, 3, 6], [2, 1, 2, 2], [0, 0, 0, 0]]


def _cell(num_proj, use_bias, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    cell = contrib.NASCell(5, num_proj=num_proj, use_bias=use_bias, input_size=3, dtype=dtype)
    return randomize(cell)


_state = random_state


@pytest.mark.parametrize("num_proj, use_bias", [(3, False), (7, True)])
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_projected_nas_kernel_equals_the_cell_loop(num_proj, use_bias, time_major, lengths):
    cell = _cell(num_proj, use_bias, seed=len(str(lengths)))
    assert kernel_for(cell)[1].startswith("kernels.nas_sequence")
    shape = (6, 4, 3) if time_major else (4, 6, 3)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    state = _state(cell, 4, seed=3)
    lens = None if lengths is None else torch.tensor(lengths)
    got = rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state, time_major=time_major)
    want = cell_loop(cell, x, state, lens, time_major)
    flat_got, flat_want = rk.nest.flatten(got), rk.nest.flatten(want)
    assert flat_got[0].shape[-1] == num_proj
    for g, w in zip(flat_got, flat_want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    weights = [torch.randn_like(w) for w in flat_want]
    wrt = [x, *rk.nest.flatten(state), *cell.parameters()]
    g_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(flat_got, weights)), wrt)
    g_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(flat_want, weights)), wrt)
    for g, w in zip(g_got, g_want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


def test_projected_nas_kernel_equals_the_numpy_reference():
    cell = _cell(4, True, seed=7)
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    lengths = [6, 2, 0, 5]
    state = _state(cell, 4, seed=8)
    got, final = rk.dynamic_rnn(cell, x, sequence_length=torch.tensor(lengths), initial_state=state)
    w = {name.split("/", 1)[1]: p.detach().numpy() for name, p in cell.named_tf_variables()}
    step = lambda x_t, s: numpy_contrib.nas(w, x_t, s, num_proj=4, use_bias=True)
    start = tuple(s.detach().numpy() for s in state)
    want, want_final = numpy_cells.unroll(step, x.numpy(), start, lengths)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    for g, v in zip(rk.nest.flatten(final), rk.nest.flatten(want_final)):
        np.testing.assert_allclose(g.detach().numpy(), v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lengths", [None, [3, 0, 2]], ids=str)
def test_projected_nas_sequence_gradcheck(lengths):
    gen = torch.Generator().manual_seed(4)
    r = lambda *s: (torch.randn(*s, generator=gen, dtype=torch.float64) * 0.6).requires_grad_()
    lens = None if lengths is None else torch.tensor(lengths)
    # x, kernel [D, 8H], recurrent_kernel [P, 8H], bias, projection [H, P], c0 [B, H], m0 [B, P]
    args = (r(3, 3, 2), r(2, 24), r(2, 24), r(24), r(3, 2), r(3, 3), r(3, 2))
    fn = lambda x, k, rk_, b, p, c, m: nas_sequence(x, k, rk_, b, c, m, lens, projection=p)
    assert torch.autograd.gradcheck(fn, args)


def test_projected_float32_kernel_close_to_float64():
    cell = _cell(3, True, seed=2)
    x = torch.randn(3, 9, 3, dtype=torch.float64)
    want, _ = rk.dynamic_rnn(cell, x)
    got, _ = rk.dynamic_rnn(cell.float(), x.float())
    torch.testing.assert_close(got.double(), want, rtol=0, atol=5e-6)


def test_projected_double_backward_equals_the_cell_loop():
    cell = _cell(3, True, seed=9)
    x = torch.randn(3, 4, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([4, 2, 0])
    state = _state(cell, 3, seed=1)

    assert_double_backward_equal(cell, x, lens, state)


def test_projection_error_messages():
    gen = torch.Generator().manual_seed(5)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)
    x, k, rk_, p, c0, m0 = r(3, 2, 2), r(2, 16), r(3, 16), r(2, 3), r(2, 2), r(2, 3)
    nas_sequence(x, k, rk_, None, c0, m0, projection=p)  # each call below differs in one place
    with pytest.raises(
        ValueError, match=r"nas_sequence: expected projection of shape \[2, 2\], got \[3\]"
    ):
        nas_sequence(x, k, rk_, None, c0, m0, projection=p[0])
    with pytest.raises(
        ValueError,
        match=r"nas_sequence: expected recurrent_kernel of shape \[3, 16\], got \[2, 16\]",
    ):
        nas_sequence(x, k, rk_[:2], None, c0, m0, projection=p)
    with pytest.raises(
        ValueError, match=r"nas_sequence: expected m0 of shape \[2, 3\], got \[2, 2\]"
    ):
        nas_sequence(x, k, rk_, None, c0, c0, projection=p)
    with pytest.raises(
        TypeError, match="nas_sequence: expected projection as a CPU float32 or float64 tensor"
    ):
        nas_sequence(x, k, rk_, None, c0, m0, projection=p.float())
