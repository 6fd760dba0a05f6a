"""The native sequence kernels (TF's GRUCell and LSTMCell with peepholes / cell_clip, ``rnnkit.kernels.native``)
against the cell called once per step (autograd through the cell's own math) and against the NumPy reference of
``tests/reference``: values, every gradient, gradcheck, sequence_length (0, partial, full), initial states, the
pooled buffers, and every reason the step loop runs instead."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import gru_sequence, kernel_for, peephole_lstm_sequence
from tests.kernels._cell_loop import (
    assert_double_backward_equal,
    assert_kernel_equals_cell_loop,
)
from tests.kernels._cells import CELLS, _cell, _state
from tests.kernels._native import needs_native
from tests.reference import numpy_cells, numpy_contrib

torch.set_num_threads(1)

pytestmark = needs_native

LENGTHS = [None, [6, 0, 3, 6], [2, 1, 2, 2], [0, 0, 0, 0]]


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_dynamic_rnn_native_kernel_equals_the_cell_loop(kind, time_major, lengths):
    cell = _cell(kind, seed=len(str(lengths)))
    assert "native loops" in kernel_for(cell)[1]
    shape = (6, 4, 3) if time_major else (4, 6, 3)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    state = _state(cell, 4, seed=3)
    lens = None if lengths is None else torch.tensor(lengths)
    assert_kernel_equals_cell_loop(cell, x, state, lens, time_major)


def _numpy_weights(cell):
    """``{"gates/kernel": array, ...}``: the cell's TF variables without the cell's own scope."""
    return {name.split("/", 1)[1]: p.detach().numpy() for name, p in cell.named_tf_variables()}


@pytest.mark.parametrize(
    "kind",
    [
        "gru",
        "peepholes",
        "both",
        "indrnn_relu",
        "indy_gru",
        "indy_lstm",
        "sru",
        "ugrnn",
        "nas_bias",
        "intersection",
    ],
)
def test_native_kernel_equals_the_numpy_reference(kind):
    cell = _cell(kind, seed=7)
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    lengths = [6, 2, 0, 5]
    state = _state(cell, 4, seed=8)
    got, final = rk.dynamic_rnn(cell, x, sequence_length=torch.tensor(lengths), initial_state=state)
    w = _numpy_weights(cell)
    steps = {
        "gru": lambda x_t, h: numpy_cells.gru(w, x_t, h),
        "indrnn_relu": lambda x_t, h: numpy_contrib.indrnn(w, x_t, h, act="relu"),
        "indy_gru": lambda x_t, h: numpy_contrib.indy_gru(w, x_t, h),
        "indy_lstm": lambda x_t, s: numpy_contrib.indy_lstm(
            w, x_t, s, forget_bias=cell.forget_bias
        ),
        "sru": lambda x_t, c: numpy_contrib.sru(w, x_t, c),
        "ugrnn": lambda x_t, h: numpy_contrib.ugrnn(w, x_t, h, forget_bias=cell.forget_bias),
        "nas_bias": lambda x_t, s: numpy_contrib.nas(w, x_t, s, use_bias=True),
        "intersection": lambda x_t, h: numpy_contrib.intersection(
            w, x_t, h, forget_bias=cell.forget_bias
        ),
    }
    options = {"forget_bias": getattr(cell, "forget_bias", 1.0), "use_peepholes": True}
    options["cell_clip"] = getattr(cell, "cell_clip", None)
    step = steps.get(kind, lambda x_t, s: numpy_cells.lstm(w, x_t, s, **options))
    start = (
        tuple(s.detach().numpy() for s in state)
        if isinstance(state, tuple)
        else state.detach().numpy()
    )
    want, want_final = numpy_cells.unroll(step, x.numpy(), start, lengths)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    for g, v in zip(rk.nest.flatten(final), rk.nest.flatten(want_final)):
        np.testing.assert_allclose(g.detach().numpy(), v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["gru", "both"])
def test_float32_native_kernel_close_to_float64(kind):
    cell = _cell(kind, seed=2)
    x = torch.randn(3, 9, 3, dtype=torch.float64)
    want, _ = rk.dynamic_rnn(cell, x)
    got, _ = rk.dynamic_rnn(cell.float(), x.float())
    torch.testing.assert_close(got.double(), want, rtol=0, atol=2e-6)


@pytest.mark.parametrize("lengths", [None, [3, 0, 2]], ids=str)
def test_gru_sequence_gradcheck(lengths):
    gen = torch.Generator().manual_seed(1)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).requires_grad_()
    lens = None if lengths is None else torch.tensor(lengths)
    args = (
        r(3, 3, 2),
        r(6, 8),
        r(8),
        r(6, 4),
        r(4),
        r(3, 4),
    )  # x, gates kernel/bias, candidate's, h0
    assert torch.autograd.gradcheck(lambda *a: gru_sequence(*a, lens), args)


@pytest.mark.parametrize("peep, clip", [(True, None), (True, 0.3), (False, 0.3)])
def test_peephole_lstm_sequence_gradcheck(peep, clip):
    gen = torch.Generator().manual_seed(2)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).requires_grad_()
    lens = torch.tensor([3, 1, 2])
    peepholes = r(3, 4) if peep else None
    args = (
        r(3, 3, 2),
        r(6, 16),
        r(16),
        peepholes,
        r(3, 4),
        r(3, 4),
    )  # x, kernel, bias, peepholes, c0, m0
    fn = lambda x, k, b, p, c, m: peephole_lstm_sequence(x, k, b, p, c, m, 0.7, clip, lens)
    assert torch.autograd.gradcheck(fn, args)


@pytest.mark.parametrize(
    "kind",
    [
        "gru",
        "both",
        "block",
        "indrnn",
        "indy_gru",
        "indy_lstm",
        "sru",
        "ugrnn",
        "nas_bias",
        "intersection",
    ],
)
def test_double_backward_equals_the_cell_loop(kind):
    """create_graph=True through the kernel gives differentiable gradients: a gradient penalty's gradient equals
    the one through the cell's own step loop (no second-order term is dropped)."""
    cell = _cell(kind, seed=9)
    x = torch.randn(3, 4, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([4, 2, 0])
    state = _state(cell, 3, seed=1)

    assert_double_backward_equal(cell, x, lens, state)


def test_non_contiguous_weights_give_the_same_values_and_gradients():
    """The kernels hand C contiguous copies but save (and differentiate) the arguments themselves."""
    gen = torch.Generator().manual_seed(3)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)
    x, h0 = r(3, 2, 2), r(2, 4)
    wg_t, wc_t = r(8, 6).requires_grad_(), r(4, 6).requires_grad_()  # stored transposed
    bg, bc = r(8), r(4)
    got = gru_sequence(x, wg_t.t(), bg, wc_t.t(), bc, h0)  # non-contiguous kernels
    g_got = torch.autograd.grad(got[0].square().sum(), [wg_t, wc_t])
    wg, wc = (
        wg_t.detach().t().contiguous().requires_grad_(),
        wc_t.detach().t().contiguous().requires_grad_(),
    )
    want = gru_sequence(x, wg, bg, wc, bc, h0)
    g_want = torch.autograd.grad(want[0].square().sum(), [wg, wc])
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=0)
    for g, w in zip(g_got, g_want):
        torch.testing.assert_close(g, w.t(), rtol=1e-12, atol=1e-12)
