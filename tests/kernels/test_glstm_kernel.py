"""contrib's GLSTMCell through its native sequence kernel (``rnnkit.kernels.glstm_sequence``): against the cell
called once per step (its own math, autograd through it) and the NumPy reference of ``tests/reference``; values,
every gradient (inputs, initial state, every parameter), gradcheck, sequence_length (none, partial, all zero),
both layouts, groups, projection, relu, float32, double backward, every reason the step loop runs instead and
every error message of ``glstm_sequence``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
import rnnkit.unroll.dynamic as dynamic
from rnnkit.kernels import glstm_sequence, kernel_for
from tests.kernels._cell_loop import (
    assert_double_backward_equal,
    assert_kernel_equals_cell_loop,
    cell_loop,
    random_state,
    randomize,
)
from tests.kernels._native import needs_native
from tests.reference import numpy_cells, numpy_contrib

torch.set_num_threads(1)

pytestmark = needs_native

# (num_units, number_of_groups, num_proj, activation, forget_bias), input depth 6
CELLS = {
    "one_group": (4, 1, None, "tanh", 1.0),
    "groups2": (6, 2, None, "tanh", 0.3),
    "groups3_proj": (6, 3, 9, "tanh", 1.0),
    "groups2_proj_relu": (8, 2, 4, "relu", -0.2),
    "groups3_relu": (6, 3, None, "relu", 1.0),
}
DEPTH = 6
LENGTHS = [None, [5, 0, 2, 5], [2, 1, 2, 2], [0, 0, 0, 0]]


def _cell(kind, seed=0, dtype=torch.float64):
    units, groups, proj, act, fb = CELLS[kind]
    torch.manual_seed(seed)
    cell = rk.GLSTMCell(units, num_proj=proj, number_of_groups=groups, forget_bias=fb, activation=act,
                        input_size=DEPTH, dtype=dtype)  # fmt: skip
    return randomize(cell)


_state = random_state


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_kernel_equals_the_cell_loop(kind, time_major, lengths):
    cell = _cell(kind, seed=len(str(lengths)))
    assert kernel_for(cell)[1].startswith("kernels.glstm_sequence")
    shape = (5, 4, DEPTH) if time_major else (4, 5, DEPTH)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    state = _state(cell, 4, seed=3)
    lens = None if lengths is None else torch.tensor(lengths)
    got, want = assert_kernel_equals_cell_loop(cell, x, state, lens, time_major)
    if lengths is not None and 0 in lengths:  # a row of length 0: zero outputs, the initial state
        row = lengths.index(0)
        out = got[0][:, row] if time_major else got[0][row]
        assert torch.equal(out, torch.zeros_like(out))
        for s, s0 in zip(got[1], state):
            assert torch.equal(s[row], s0[row])


@pytest.mark.parametrize("kind", ["groups2", "groups3_proj", "groups2_proj_relu"])
def test_kernel_equals_the_numpy_reference(kind):
    cell = _cell(kind, seed=7)
    units, groups, proj, act, fb = CELLS[kind]
    x = torch.randn(4, 6, DEPTH, dtype=torch.float64)
    lengths = [6, 2, 0, 5]
    state = _state(cell, 4, seed=8)
    got, final = rk.dynamic_rnn(cell, x, sequence_length=torch.tensor(lengths), initial_state=state)
    w = {name.split("/", 1)[1]: p.detach().numpy() for name, p in cell.named_tf_variables()}
    step = lambda x_t, s: numpy_contrib.glstm(
        w, x_t, s, groups=groups, num_proj=proj, forget_bias=fb, act=act
    )
    start = tuple(s.detach().numpy() for s in state)
    want, want_final = numpy_cells.unroll(step, x.numpy(), start, lengths)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    for g, v in zip(rk.nest.flatten(final), rk.nest.flatten(want_final)):
        np.testing.assert_allclose(g.detach().numpy(), v, rtol=1e-12, atol=1e-12)


def _args(groups, proj, seed, batch=3, depth=4, units=4):
    gen = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).requires_grad_()
    out_units = proj or units
    kernels = [r(depth // groups + out_units // groups, 4 * units // groups) for _ in range(groups)]
    biases = [r(units) for _ in range(4)]
    projection = r(units, out_units) if proj else None
    return r(3, batch, depth), kernels, biases, projection, r(batch, units), r(batch, out_units)


@pytest.mark.parametrize("groups, proj, act", [(2, None, "tanh"), (2, 6, "relu"), (1, 2, "tanh")])
@pytest.mark.parametrize("lengths", [None, [3, 0, 2]], ids=str)
def test_glstm_sequence_gradcheck(groups, proj, act, lengths):
    x, kernels, biases, projection, c0, m0 = _args(groups, proj, seed=groups)
    lens = None if lengths is None else torch.tensor(lengths)
    n = len(kernels)

    def fn(x, *rest):
        ks, bs = rest[:n], rest[n : n + 4]
        p = rest[n + 4] if proj else None
        c, m = rest[-2:]
        return glstm_sequence(x, ks, bs, p, c, m, 0.6, act, lens)

    args = (x, *kernels, *biases, *([projection] if proj else []), c0, m0)
    assert torch.autograd.gradcheck(fn, args)


def test_float32_kernel_close_to_float64():
    cell = _cell("groups3_proj", seed=2)
    x = torch.randn(3, 9, DEPTH, dtype=torch.float64)
    want, _ = rk.dynamic_rnn(cell, x)
    got, _ = rk.dynamic_rnn(cell.float(), x.float())
    assert kernel_for(cell, x.float())[0] is not None
    torch.testing.assert_close(got.double(), want, rtol=0, atol=5e-6)


@pytest.mark.parametrize("kind", ["groups2", "groups2_proj_relu"])
def test_double_backward_equals_the_cell_loop(kind):
    """create_graph=True: a gradient penalty through the kernel equals the one through the cell's step loop."""
    cell = _cell(kind, seed=9)
    x = torch.randn(3, 4, DEPTH, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([4, 2, 0])
    state = _state(cell, 3, seed=1)

    assert_double_backward_equal(cell, x, lens, state)


def test_without_grad_equals_with_grad_and_buffers_are_reused():
    cell = _cell("groups3_proj", seed=4)
    x = torch.randn(2, 5, DEPTH, dtype=torch.float64)
    with_grad = rk.dynamic_rnn(cell, x)[0]
    with torch.inference_mode():
        without = rk.dynamic_rnn(cell, x)[0]
    assert torch.equal(with_grad.detach(), without)
    again = rk.dynamic_rnn(cell, x)[
        0
    ]  # the first call's buffers, back in the pool, give the same numbers
    assert torch.equal(again, with_grad)


class _Overridden(rk.GLSTMCell):
    def recurrent_step(self, projected_t, state):
        return super().recurrent_step(projected_t, state)


def test_every_reason_the_step_loop_runs_instead():
    sig = rk.GLSTMCell(4, number_of_groups=2, activation="sigmoid", input_size=DEPTH)
    assert kernel_for(sig) == (None, "activation sigmoid; the kernel has tanh and relu only")
    custom = rk.GLSTMCell(4, activation=lambda t: t * 2, input_size=DEPTH)
    runner, reason = kernel_for(custom)
    assert runner is None and reason.startswith("activation ") and "tanh and relu only" in reason
    over = _Overridden(4, input_size=DEPTH)
    assert kernel_for(over) == (
        None,
        "_Overridden overrides recurrent_step, which the kernel would skip",
    )
    hooked = rk.GLSTMCell(4, input_size=DEPTH)
    hooked.register_forward_hook(lambda *a: None)
    assert kernel_for(hooked) == (None, "the cell has forward hooks, which must see every step")
    plain = rk.GLSTMCell(4, input_size=DEPTH)
    assert kernel_for(plain, torch.zeros(2, 3, DEPTH, dtype=torch.float16))[1] == (
        "the native loops take float32 and float64; the inputs are torch.float16"
    )
    assert "kernels.glstm_sequence" in rk.fused.explain(plain)
    # the step loop still computes the cells the kernel leaves out, and explain says why
    x = torch.randn(2, 3, DEPTH)
    out, _ = rk.dynamic_rnn(sig, x)
    torch.testing.assert_close(out, cell_loop(sig, x, sig.zero_state(2, x.dtype), None, False)[0])
    assert "tanh and relu only" in rk.fused.explain(sig)


def test_error_messages():
    x, kernels, biases, projection, c0, m0 = rk.nest.map_structure(
        lambda t: t.detach(), _args(2, 6, seed=5)
    )
    ok = dict(projection=projection, c0=c0, m0=m0)
    glstm_sequence(
        x, kernels, biases, **ok
    )  # the arguments below differ from these in one place each
    with pytest.raises(ValueError, match=r"glstm_sequence: expected biases \(bias_i, bias_j, bias_f, "
                                         r"bias_o\), got 3 tensors"):  # fmt: skip
        glstm_sequence(x, kernels, biases[:3], **ok)
    with pytest.raises(
        ValueError, match="glstm_sequence: expected activation 'tanh' or 'relu', got 'elu'"
    ):
        glstm_sequence(x, kernels, biases, **ok, activation="elu")
    with pytest.raises(ValueError, match=r"glstm_sequence: expected D, H and P divisible by the number of "
                                         r"kernels \(groups\), got D=4, H=4, P=6 and 3 kernels"):  # fmt: skip
        glstm_sequence(x, [*kernels, kernels[0]], biases, **ok)
    with pytest.raises(ValueError, match="got D=4, H=4, P=6 and 0 kernels"):
        glstm_sequence(x, [], biases, **ok)
    with pytest.raises(
        ValueError, match=r"glstm_sequence: expected kernel1 of shape \[5, 8\], got \[4, 8\]"
    ):
        glstm_sequence(x, [kernels[0], kernels[1][:4]], biases, **ok)
    with pytest.raises(
        ValueError, match=r"glstm_sequence: expected bias_f of shape \[4\], got \[3\]"
    ):
        glstm_sequence(x, kernels, [biases[0], biases[1], biases[2][:3], biases[3]], **ok)
    with pytest.raises(
        ValueError, match=r"glstm_sequence: expected m0 of shape \[3, 6\], got \[3, 4\]"
    ):
        glstm_sequence(x, kernels, biases, projection, c0, c0)
    with pytest.raises(
        ValueError, match=r"glstm_sequence: expected projection of shape \[4, 4\], got \[6\]"
    ):
        glstm_sequence(x, kernels, biases, projection[0], c0, m0)
    with pytest.raises(TypeError, match="glstm_sequence: expected bias_o as a CPU float32 or float64 tensor "
                                        r"like the inputs \(torch.float64\), got torch.float32 on cpu"):  # fmt: skip
        glstm_sequence(x, kernels, [*biases[:3], biases[3].float()], **ok)
    with pytest.raises(ValueError, match=r"glstm_sequence: expected x \[T, B, D\] and c0 \[B, H\], got "
                                         r"\[3, 4\], \[3, 4\]"):  # fmt: skip
        glstm_sequence(x[0], kernels, biases, **ok)


@pytest.mark.parametrize("kind", ["groups3_proj", "groups2_proj_relu"])
def test_swap_memory_runs_the_kernel_in_chunks_with_the_plain_numbers(monkeypatch, kind):
    cell = _cell(kind, seed=6)
    monkeypatch.setattr(dynamic, "run_steps_checkpointed", lambda *a, **k: pytest.fail("step loop"))
    x = torch.randn(3, 30, DEPTH, dtype=torch.float64, requires_grad=True)
    lens, state = torch.tensor([30, 0, 11]), _state(cell, 3, seed=2)

    def run(swap):
        out, final = rk.dynamic_rnn(
            cell, x, sequence_length=lens, initial_state=state, swap_memory=swap
        )
        flat = [out, *final]
        loss = sum(
            (t * (1 + torch.arange(t.numel(), dtype=t.dtype).view_as(t) % 5)).sum() for t in flat
        )
        grads = torch.autograd.grad(loss, [x, *state, *cell.parameters()])
        return [t.detach() for t in flat] + list(grads)

    plain = run(False)
    assert "recomputed chunks" in rk.fused.explain(cell, swap_memory=True)
    for a, b in zip(plain, run(True)):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)
