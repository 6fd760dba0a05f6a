"""contrib's CoupledInputForgetGateLSTMCell through its native sequence kernel (``kernels/cifg_lstm.py``): against
the cell called once per step (values 1e-12, every gradient 1e-10), against the NumPy reference of
``tests/reference``, gradcheck, float32 vs float64, double backward, TF's fixtures replayed through the kernel,
every reason the step loop runs instead and every error message of ``cifg_lstm_sequence``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import cifg_lstm, cifg_lstm_sequence, kernel_for
from tests.kernels._cell_loop import (
    assert_double_backward_equal,
    cell_loop,
    random_state,
    randomize,
)
from tests.kernels._native import needs_native
from tests.reference import numpy_cells, numpy_contrib
from tests.tf_fixtures.surface_replay import load_case, replay
from tests.tf_fixtures.test_tf_fixtures_contrib import FIXTURES, MANIFEST

torch.set_num_threads(1)

pytestmark = needs_native

CIFG = rk.CoupledInputForgetGateLSTMCell
VARIANTS = {
    "plain": dict(),
    "peep": dict(use_peepholes=True, forget_bias=0.3),
    "proj": dict(num_proj=4),
    "proj_clip_peep": dict(use_peepholes=True, num_proj=3, proj_clip=0.3),
    "flat_proj_peep": dict(state_is_tuple=False, use_peepholes=True, num_proj=2, proj_clip=0.5),
    "wide_proj": dict(num_proj=7, forget_bias=-0.5),  # P > H
}
LENGTHS = [None, [6, 0, 3, 6], [2, 1, 2, 2], [0, 0, 0, 0]]


def _cell(kind, seed=0, cls=CIFG, **extra):
    torch.manual_seed(seed)
    cell = cls(5, input_size=3, dtype=torch.float64, **VARIANTS[kind], **extra)
    return randomize(cell)


_state = random_state


@pytest.fixture
def kernel_calls(monkeypatch):
    """How many times the kernel's autograd Function ran."""
    calls = []
    apply = cifg_lstm._CIFGSequence.apply

    def counting(*args):
        calls.append(1)
        return apply(*args)

    monkeypatch.setattr(cifg_lstm._CIFGSequence, "apply", counting)
    return calls


def _compare(cell, x, state, lens, time_major, rtol=1e-12, grad_tol=1e-10):
    got = rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state, time_major=time_major)
    want = cell_loop(cell, x, state, lens, time_major)
    flat_got, flat_want = rk.nest.flatten(got), rk.nest.flatten(want)
    for g, w in zip(flat_got, flat_want):
        torch.testing.assert_close(g, w, rtol=rtol, atol=rtol)
    gen = torch.Generator().manual_seed(5)
    weights = [torch.randn(w.shape, generator=gen, dtype=w.dtype) for w in flat_want]
    wrt = [x, *rk.nest.flatten(state), *cell.parameters()]
    g_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(flat_got, weights)), wrt)
    g_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(flat_want, weights)), wrt)
    for g, w in zip(g_got, g_want):
        torch.testing.assert_close(g, w, rtol=grad_tol, atol=grad_tol)
    return got


@pytest.mark.parametrize("kind", VARIANTS)
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_kernel_equals_the_cell_loop(kind, time_major, lengths, kernel_calls):
    cell = _cell(kind, seed=len(str(lengths)))
    runner, description = kernel_for(cell)
    assert runner is not None and "cifg_lstm_sequence" in description
    shape = (6, 4, 3) if time_major else (4, 6, 3)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    state = _state(cell, 4, seed=3)
    lens = None if lengths is None else torch.tensor(lengths)
    out, _ = _compare(cell, x, state, lens, time_major)
    assert len(kernel_calls) == 1
    if cell.proj_clip is not None and lengths is None:  # the clip is active in these numbers
        assert (out.abs() == cell.proj_clip).any() and (out.abs() < cell.proj_clip).any()


@pytest.mark.parametrize("kind", ["plain", "proj_clip_peep", "flat_proj_peep"])
def test_kernel_equals_the_numpy_reference(kind, kernel_calls):
    cell = _cell(kind, seed=7)
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    lengths = [6, 2, 0, 5]
    state = _state(cell, 4, seed=8)
    got, final = rk.dynamic_rnn(cell, x, sequence_length=torch.tensor(lengths), initial_state=state)
    assert len(kernel_calls) == 1
    w = {name.split("/", 1)[1]: p.detach().numpy() for name, p in cell.named_tf_variables()}
    options = VARIANTS[kind]

    def step(x_t, s):
        return numpy_contrib.cifg(
            w, x_t, s, peep=cell.use_peepholes, num_proj=cell.num_proj, proj_clip=cell.proj_clip,
            forget_bias=cell.forget_bias, concat=None if cell.state_is_tuple else cell.num_units,
        )  # fmt: skip

    start = rk.nest.map_structure(lambda s: s.detach().numpy(), state)
    want, want_final = numpy_cells.unroll(step, x.numpy(), start, lengths)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    for g, v in zip(rk.nest.flatten(final), numpy_contrib._flat(want_final)):
        np.testing.assert_allclose(g.detach().numpy(), v, rtol=1e-12, atol=1e-12)
    assert options.get("state_is_tuple", True) == isinstance(final, tuple)


@pytest.mark.parametrize(
    "peep, proj, clip",
    [(False, False, None), (True, False, None), (True, True, 0.4), (False, True, None)],
)
def test_cifg_lstm_sequence_gradcheck(peep, proj, clip):
    gen = torch.Generator().manual_seed(2)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).requires_grad_()
    units, out_units = 4, 3 if proj else 4
    lens = torch.tensor([3, 1, 0])
    args = (
        r(3, 3, 2),
        r(2 + out_units, 3 * units),
        r(3 * units),
        r(2, units) if peep else None,
        r(units, out_units) if proj else None,
        r(3, units),
        r(3, out_units),
    )  # x, kernel, bias, peepholes, projection, c0, m0
    fn = lambda x, k, b, p, w, c, m: cifg_lstm_sequence(x, k, b, p, w, c, m, 0.7, clip, lens)
    assert torch.autograd.gradcheck(fn, args)


@pytest.mark.parametrize("kind", ["peep", "proj_clip_peep"])
def test_float32_kernel_close_to_float64(kind, kernel_calls):
    cell = _cell(kind, seed=2)
    x = torch.randn(3, 9, 3, dtype=torch.float64)
    want, _ = rk.dynamic_rnn(cell, x)
    got, _ = rk.dynamic_rnn(cell.float(), x.float())
    assert got.dtype == torch.float32 and len(kernel_calls) == 2
    torch.testing.assert_close(got.double(), want, rtol=0, atol=2e-6)


@pytest.mark.parametrize("kind", ["peep", "proj_clip_peep", "flat_proj_peep"])
def test_double_backward_equals_the_cell_loop(kind, kernel_calls):
    """create_graph=True through the kernel: a gradient penalty's gradient equals the one through the cell's own
    step loop (the native backward alone would drop every second-order term)."""
    cell = _cell(kind, seed=9)
    x = torch.randn(3, 4, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([4, 2, 0])
    state = _state(cell, 3, seed=1)

    assert_double_backward_equal(cell, x, lens, state)
    assert len(kernel_calls) == 1


def test_inference_mode_equals_recorded_run():
    cell = _cell("proj_clip_peep", seed=4)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    recorded, _ = rk.dynamic_rnn(cell, x)
    with torch.inference_mode():
        inferred, _ = rk.dynamic_rnn(cell, x)
    assert torch.equal(recorded.detach(), inferred)


# --- TF's fixtures of the cell run through the kernel ---

_TF_CASES = [
    c["id"]
    for c in MANIFEST["cases"]
    if any(
        s["type"] == "CoupledInputForgetGateLSTMCell" and not s["kwargs"].get("layer_norm")
        for s in c["fw"] + c["bw"]
    )
]


def test_tf_fixture_cases_cover_peepholes_projection_and_clip():
    kwargs = json.dumps(
        [s for c in MANIFEST["cases"] if c["id"] in _TF_CASES for s in c["fw"] + c["bw"]]
    )
    for option in ('"use_peepholes": true', '"num_proj"', '"proj_clip"', '"state_is_tuple": false'):
        assert option in kwargs, option


@pytest.mark.parametrize("case_id", _TF_CASES)
def test_tf_fixtures_replay_through_the_kernel(case_id, kernel_calls):
    case, arrays = load_case(case_id, FIXTURES)
    diffs, names = replay(case, arrays)
    assert len(kernel_calls) >= 1 and names == case["variables"]
    tolerance = 1e-5 if case["dtype"] == "float32" else 1e-10
    for quantity, diff in diffs.items():
        assert diff <= tolerance, f"{case_id}: {quantity} differs from TF by {diff:.2e}"


# --- the step loop runs instead, and says why ---


class _OwnStep(CIFG):
    def recurrent_step(self, projected_t, state):
        return super().recurrent_step(projected_t, state)


class _OwnProjection(CIFG):
    def _project(self, m):
        return super()._project(m) * 2


def _hooked(cell):
    cell.register_forward_hook(lambda *a: None)
    return cell


REASONS = {
    "layer_norm": (lambda: _cell("peep", layer_norm=True), "layer_norm=True"),
    "activation": (
        lambda: _cell("proj", activation="relu"),
        "activation relu; the kernel has tanh only",
    ),
    "recurrent_step": (lambda: _cell("plain", cls=_OwnStep), "_OwnStep overrides recurrent_step"),
    "projection": (lambda: _cell("proj", cls=_OwnProjection), "_OwnProjection overrides _project"),
    "hooks": (lambda: _hooked(_cell("plain")), "the cell has forward hooks"),
}


@pytest.mark.parametrize("why", REASONS)
def test_fallback_reason_is_explained_and_the_step_loop_runs(why, kernel_calls):
    make, reason = REASONS[why]
    cell = make()
    runner, said = kernel_for(cell)
    assert runner is None and reason in said
    assert reason in rk.fused.explain(cell)
    x = torch.randn(3, 4, 3, dtype=torch.float64, requires_grad=True)
    _compare(cell, x, _state(cell, 3, seed=2), torch.tensor([4, 1, 3]), False)
    assert kernel_calls == []


def test_float16_inputs_take_the_step_loop_and_say_why():
    runner, said = kernel_for(_cell("plain"), torch.zeros(2, 3, 3, dtype=torch.float16))
    assert runner is None and "the native loops take float32 and float64" in said


# --- bad input to cifg_lstm_sequence: one clear error each ---


def _args(units=4, out_units=3, depth=2, batch=3):
    r = lambda *s: torch.randn(*s, dtype=torch.float64)
    return dict(
        x=r(5, batch, depth), kernel=r(depth + out_units, 3 * units), bias=r(3 * units),
        peepholes=r(2, units), projection=r(units, out_units), c0=r(batch, units), m0=r(batch, out_units),
    )  # fmt: skip


def _bad(**changes):
    args = _args()
    args.update(changes)
    return args


ERRORS = [
    (dict(x=torch.zeros(5, 2)), ValueError, r"cifg_lstm_sequence: expected x \[T, B, D\] and c0 \[B, H\], got"),
    (dict(kernel=torch.zeros(4, 12, dtype=torch.float64)), ValueError,
     r"cifg_lstm_sequence: expected kernel of shape \[5, 12\], got \[4, 12\]"),
    (dict(peepholes=torch.zeros(3, 4, dtype=torch.float64)), ValueError,
     r"cifg_lstm_sequence: expected peepholes of shape \[2, 4\], got \[3, 4\]"),
    (dict(m0=torch.zeros(3, 4, dtype=torch.float64)), ValueError,
     r"cifg_lstm_sequence: expected m0 of shape \[3, 3\], got \[3, 4\]"),
    (dict(projection=torch.zeros(4, 3)), TypeError,
     r"cifg_lstm_sequence: expected projection as a CPU float32 or float64 tensor like the inputs "
     r"\(torch.float64\), got torch.float32 on cpu"),
    (dict(proj_clip=0.0), ValueError,
     r"cifg_lstm_sequence: expected proj_clip None, or a positive number with a projection, got 0.0$"),
    (dict(projection=None, kernel=torch.zeros(6, 12, dtype=torch.float64), m0=torch.zeros(3, 4,
          dtype=torch.float64), proj_clip=0.5), ValueError,
     r"cifg_lstm_sequence: expected proj_clip None, or a positive number with a projection, got 0.5 without a "
     r"projection"),
]  # fmt: skip


@pytest.mark.parametrize("changes, error, message", ERRORS, ids=range(len(ERRORS)))
def test_cifg_lstm_sequence_errors(changes, error, message):
    with pytest.raises(error, match=message):
        cifg_lstm_sequence(**_bad(**changes))


def test_good_arguments_pass_the_checks():  # the error cases above differ from these in one argument only
    out, c, m = cifg_lstm_sequence(**_args(), proj_clip=0.5)
    assert out.shape == (5, 3, 3) and c.shape == (3, 4) and m.shape == (3, 3)
