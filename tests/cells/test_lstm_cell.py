"""LSTMCell: the cell contract over its registry cases (tests/registry.py: default, peepholes + clip + projection,
``state_is_tuple=False`` with projection), plus what is its own: ``cell_clip``/``proj_clip`` at their boundaries,
against TF (tests/fixtures/numerics, made by tools/make_numerics_fixtures.py). TF's other numbers:
tests/tf_fixtures/test_tf_fixtures.py.

The clips behave as TF's ``clip_by_value``: values at exactly ±clip stay there and pass the gradient; values
beyond get ±clip and no gradient. ``inf`` means no clip; 0, negative and NaN are refused (docs/errors.md,
"Numerical behaviour").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import rnnkit as rk
from tests.contract import cases_of
from tests.contract.test_cell_contract import *  # noqa: F403  (the contract checks, over the cases below)
from tests.registry import D

case = cases_of(rk.LSTMCell)

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "numerics" / "clip_boundary.json").read_text()
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
