"""Numerical guards: clips at their boundaries (against TF), float16/bfloat16, NaN/inf in inputs.

Decisions (see docs/errors.md, "Numerical behaviour"):
* ``cell_clip``/``proj_clip`` behave as TF's ``clip_by_value``: values at exactly ±clip stay there and pass the
  gradient; values beyond get ±clip and no gradient. ``inf`` means no clip; 0, negative and NaN are refused.
* float16/bfloat16 work when the parameters have the inputs' dtype (``dtype=`` at construction, ``.half()``, or a
  lazy build from half inputs); mixed dtypes are refused with a TypeError (autocast is the way to mix).
* NaN/inf propagate silently as in TF (no hidden cost); ``rk.unroll.check_numerics`` is the opt-in check that
  says where. NaN/inf in the *padding* past ``sequence_length`` never reaches a result or a gradient.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

import rnnkit as rk
from tests.registry import CASE_IDS, CASES, D

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "numerics" / "clip_boundary.json").read_text()
)
DTYPES = {"float32": torch.float32, "float64": torch.float64}


# --- clips at their boundaries -------------------------------------------------------------------------------


def _boundary_cell(case: dict) -> rk.LSTMCell:
    """The fixture's cell: zero kernel, biases i=+50, j=J, f=-50, o=+50, identity projection (see the tool)."""
    h, dtype = FIXTURE["H"], DTYPES[case["dtype"]]
    cell = rk.LSTMCell(
        h,
        forget_bias=0.0,
        activation="linear",
        input_size=FIXTURE["D"],
        dtype=dtype,
        **case["cell_kwargs"],
    )
    with torch.no_grad():
        cell.kernel.zero_()
        cell.bias.copy_(torch.tensor([50.0] * h + FIXTURE["j"] + [-50.0] * h + [50.0] * h))
        if cell.num_proj is not None:
            cell.projection_kernel.copy_(torch.eye(h))
    return cell


@pytest.mark.parametrize("case_id", sorted(FIXTURE["cases"]))
def test_clip_boundary_matches_tf(case_id):
    case = FIXTURE["cases"][case_id]
    cell = _boundary_cell(case)
    dtype = DTYPES[case["dtype"]]
    out, state = cell(torch.zeros(1, FIXTURE["D"], dtype=dtype), cell.zero_state(1))
    # exactly ±clip, not a rounding away from it
    assert state.c[0].tolist() == case["c"]
    assert out[0].tolist() == case["output"]
    wc, wm = torch.tensor([FIXTURE["wc"]], dtype=dtype), torch.tensor([FIXTURE["wm"]], dtype=dtype)
    loss = (state.c * wc).sum() + (out * wm).sum()
    names = rk.tf_variables(cell, scope="")
    grads = torch.autograd.grad(loss, list(names.values()))
    assert sorted(n for n in names) == sorted(case["grads"])
    for (name, _), grad in zip(names.items(), grads):
        torch.testing.assert_close(
            grad, torch.tensor(case["grads"][name], dtype=dtype), rtol=0, atol=1e-6
        )


class _BoundaryStoppingClamp(torch.autograd.Function):
    """``clamp`` as torch 2.14 differentiates it: gradient 0 at exactly a bound (torch <= 2.13 passes it)."""

    @staticmethod
    def forward(ctx, x, low, high):
        ctx.save_for_backward(x)
        ctx.bounds = (low, high)
        return torch.ops.aten.clamp.default(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        inside = torch.ones_like(x, dtype=torch.bool)
        if low is not None:
            inside &= x > low
        if high is not None:
            inside &= x < high
        return grad * inside, None, None


@pytest.mark.parametrize("case_id", sorted(FIXTURE["cases"]))
def test_clip_boundary_does_not_depend_on_clamps_gradient(case_id, monkeypatch):
    """Issue 14 item 2: the clip must be TF's on every torch, so it may not rest on ``clamp``'s gradient at the
    bound, which torch changed in 2.14. With 2.14's rule patched in, the TF fixture must still hold."""

    def clamp(x, min=None, max=None):
        return _BoundaryStoppingClamp.apply(x, min, max)

    for owner in (torch, torch.Tensor):
        for name in ("clamp", "clip"):
            monkeypatch.setattr(owner, name, clamp)
    test_clip_boundary_matches_tf(case_id)


def test_clip_gradient_passes_at_the_boundary_and_stops_beyond():
    """The fixture's bias gradient, spelled out: j = [-2, -1, -0.5, 0.5, 1, 2], clip 1 → j = ±2 get none."""
    grad_j = FIXTURE["cases"]["cell_clip-float64"]["grads"]["lstm_cell/bias"][6:12]
    expected = [0.0] + [wc + wm for wc, wm in zip(FIXTURE["wc"][1:5], FIXTURE["wm"][1:5])] + [0.0]
    assert grad_j == pytest.approx(expected)


def test_infinite_clip_is_no_clip():
    torch.manual_seed(0)
    plain = rk.LSTMCell(5, num_proj=3, input_size=D)
    clipped = rk.LSTMCell(
        5, num_proj=3, cell_clip=float("inf"), proj_clip=float("inf"), input_size=D
    )
    clipped.load_state_dict(plain.state_dict())
    x = torch.randn(2, 4, D) * 10
    # Both on the step loop: the unclipped cell would otherwise take the fused kernels, which round differently.
    out_a, state_a = rk.dynamic_rnn(plain, x, fused=False)
    out_b, state_b = rk.dynamic_rnn(clipped, x, fused=False)
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=0)
    torch.testing.assert_close(state_a.c, state_b.c, rtol=0, atol=0)


def test_clip_bounds_hold_on_large_random_inputs():
    torch.manual_seed(0)
    cell = rk.LSTMCell(
        5, use_peepholes=True, cell_clip=0.3, num_proj=3, proj_clip=0.2, input_size=D
    )
    out, state = rk.dynamic_rnn(cell, torch.randn(3, 6, D) * 100)
    assert out.abs().max() <= 0.2 and state.c.abs().max() <= 0.3
    # the clip was reached, exactly
    assert (out.abs() == 0.2).any() and (state.c.abs() == 0.3).any()


# --- float16 / bfloat16 --------------------------------------------------------------------------------------

# tolerance vs float64; the measured worst |diff| over the registry was ~7e-4 and ~5e-3
HALF = {torch.float16: 2e-3, torch.bfloat16: 2e-2}


@pytest.mark.parametrize("dtype", list(HALF), ids=["float16", "bfloat16"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_half_precision_with_matching_parameters(case, dtype):
    cell64 = case.make_cell().double()
    cell = case.make_cell().to(dtype)
    x = torch.randn(4, 5, D, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lengths = [5, 0, 3, 1]
    out, state = rk.dynamic_rnn(cell, x.to(dtype), sequence_length=lengths)
    ref, _ = rk.dynamic_rnn(cell64, x, sequence_length=lengths)
    assert out.dtype == dtype and all(s.dtype == dtype for s in rk.nest.flatten(state))
    # relative too: an output that carries the inputs through (IntersectionRNNCell's y) exceeds 1 in size
    torch.testing.assert_close(out.double(), ref, rtol=HALF[dtype], atol=HALF[dtype])
    for b, n in enumerate(lengths):
        assert not out[b, n:].any()


@pytest.mark.parametrize("dtype", list(HALF), ids=["float16", "bfloat16"])
def test_half_precision_lazy_build_takes_the_inputs_dtype(dtype):
    cell = rk.MultiRNNCell([rk.GRUCell(4), rk.LSTMCell(3, num_proj=2)])
    out, _ = rk.dynamic_rnn(cell, torch.randn(2, 3, D).to(dtype))
    assert out.dtype == dtype and all(p.dtype == dtype for p in cell.parameters())


@pytest.mark.parametrize("dtype", list(HALF), ids=["float16", "bfloat16"])
def test_half_inputs_with_float32_parameters_are_refused(dtype):
    cell = rk.BasicLSTMCell(4, input_size=D)
    message = (
        f"BasicLSTMCell: expected torch.float32 inputs (the cell's parameter dtype), got {dtype}"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        rk.dynamic_rnn(cell, torch.zeros(2, 3, D, dtype=dtype))


def test_autocast_mixes_dtypes_without_errors():
    cell = rk.BasicLSTMCell(4, input_size=D)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = rk.dynamic_rnn(cell, torch.randn(2, 3, D), sequence_length=[3, 1])
    assert torch.isfinite(out).all() and out.shape == (2, 3, 4)


# --- NaN / inf -----------------------------------------------------------------------------------------------


def _nan_inputs():
    x = torch.randn(3, 6, D, generator=torch.Generator().manual_seed(0))
    x[1, 2, 1] = float("nan")
    return x


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_nan_propagates_silently_from_its_step_in_its_row(case):
    """TF's behaviour: no error; the row with a NaN at step 2 is NaN from step 2 on, the other rows are not."""
    cell = case.make_cell()
    out, state = rk.dynamic_rnn(cell, _nan_inputs())
    assert torch.isfinite(out[1, :2]).all() and torch.isnan(out[1, 2:]).all()
    assert torch.isfinite(out[[0, 2]]).all()
    assert all(
        torch.isnan(s[1]).all() and torch.isfinite(s[[0, 2]]).all() for s in rk.nest.flatten(state)
    )


def test_check_numerics_names_the_first_step_and_row_of_inputs_and_outputs():
    cell = rk.GRUCell(4, input_size=D)
    x = _nan_inputs()
    x[2, 4, 0] = float("inf")
    with pytest.raises(
        ValueError, match=re.escape("got nan at time step 2, batch row 1, feature 1 (2 (step,")
    ):
        rk.unroll.check_numerics(x, "inputs")
    out, state = rk.dynamic_rnn(cell, x)
    with pytest.raises(
        ValueError, match=re.escape("in outputs, got nan at time step 2, batch row 1, feature 0 (")
    ):
        rk.unroll.check_numerics(out, "outputs")
    with pytest.raises(ValueError, match=re.escape("in state, got nan at batch row 1, unit 0")):
        rk.unroll.check_numerics(state, "state")
    with pytest.raises(
        ValueError, match=r"^check_numerics: expected finite values in loss, got nan$"
    ):
        rk.unroll.check_numerics(out.sum(), "loss")


def test_check_numerics_time_major_static_list_and_nested_paths():
    x = _nan_inputs()
    want = "got nan at time step 2, batch row 1, feature 1"
    with pytest.raises(ValueError, match=re.escape(want)):
        rk.unroll.check_numerics(x.transpose(0, 1), "inputs", time_major=True)
    with pytest.raises(ValueError, match=re.escape(want)):
        rk.unroll.check_numerics(list(x.unbind(1)), "inputs")
    state = rk.LSTMStateTuple(
        torch.zeros(2, 3), torch.tensor([[0.0, 0.0, 0.0], [0.0, float("-inf"), 0.0]])
    )
    with pytest.raises(
        ValueError, match=re.escape("got -inf at batch row 1, unit 1 in state[1].h")
    ):
        rk.unroll.check_numerics(
            (rk.LSTMStateTuple(torch.zeros(2, 3), torch.zeros(2, 3)), state), "state"
        )
    earlier = torch.zeros(3, 6, D)  # the earliest step wins across leaves
    earlier[0, 1, 2] = float("inf")
    with pytest.raises(
        ValueError, match=re.escape("got inf at time step 1, batch row 0, feature 2 in x['b']")
    ):
        rk.unroll.check_numerics({"a": x, "b": earlier}, "x")


def test_check_numerics_skips_padding_and_returns_its_argument():
    x = _nan_inputs()
    assert rk.unroll.check_numerics(x, "inputs", sequence_length=[6, 2, 6]) is x
    with pytest.raises(ValueError, match="time step 2, batch row 1"):
        rk.unroll.check_numerics(x, "inputs", sequence_length=[6, 3, 6])
    steps = list(x.unbind(1))
    assert rk.unroll.check_numerics(steps, "inputs", sequence_length=[6, 2, 6]) is steps
    ints = torch.ones(3, 4, dtype=torch.int64)
    assert rk.unroll.check_numerics(ints) is ints


def _unroll(name, cell, x, lengths):
    """Run ``x [B, T, D]`` through the named unroll; outputs back as ``[B, T, ...]``."""
    if name == "static":
        outs, state = rk.static_rnn(cell, list(x.unbind(1)), sequence_length=lengths)
        return torch.stack(outs, 1), state
    if name == "dynamic_time_major":
        out, state = rk.dynamic_rnn(
            cell, x.transpose(0, 1), sequence_length=lengths, time_major=True
        )
        return out.transpose(0, 1), state
    return rk.dynamic_rnn(cell, x, sequence_length=lengths)


@pytest.mark.parametrize("unroll", ["dynamic", "dynamic_time_major", "static"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_nan_and_inf_padding_never_reach_outputs_or_gradients(case, unroll):
    """NOTE [padding never reaches the gradient]: NaN/inf padding gives the same values and gradients as zeros."""
    lengths = [6, 2, 4]
    clean = torch.randn(3, 6, D, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for b, n in enumerate(lengths):
        clean[b, n:] = 0.0
    dirty = clean.clone()
    dirty[1, 2:] = float("nan")
    dirty[2, 4:, 0] = float("inf")
    dirty[2, 5, 1] = float("-inf")
    results = []
    for x in (clean, dirty):
        cell = case.make_cell().double()
        x = x.clone().requires_grad_(True)
        out, state = _unroll(unroll, cell, x, lengths)
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()
        loss = loss + sum(s.sum() for s in rk.nest.flatten(state))
        grads = torch.autograd.grad(loss, [x, *cell.parameters()])
        results.append((out.detach(), grads))
    (out_clean, grads_clean), (out_dirty, grads_dirty) = results
    torch.testing.assert_close(out_dirty, out_clean, rtol=0, atol=0)
    for g_dirty, g_clean in zip(grads_dirty, grads_clean):
        torch.testing.assert_close(g_dirty, g_clean, rtol=0, atol=0)
