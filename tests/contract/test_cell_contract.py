"""The contract suite: every cell in the registry, through every unroll, against the NumPy oracle and against
itself (static == dynamic, time-major == batch-major, unroll == hand-written step loop, the sequence_length rule),
plus gradcheck in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
from tests.reference import numpy_cells as ref
from tests.registry import CASE_IDS, CASES, D, flatten_numpy, numpy_weights, to_numpy_state

B, T = 4, 6
LENGTHS = [6, 0, 3, 1]  # full, empty, partial
# Paths that compute the same math in a different order (fused kernels, the precomputed input matmul of the step
# loop, a different batch size) agree to float64 rounding, not bit for bit.
SAME = {"rtol": 1e-12, "atol": 1e-12}


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request):
    return request.param


def _inputs(dtype=torch.float64, seed=0):
    return torch.randn(B, T, D, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _random_state(cell, dtype=torch.float64, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return rk.nest.map_structure(
        lambda n: torch.randn(B, n, generator=gen, dtype=dtype), cell.state_size
    )


def _flat(x):
    return [t.detach() for t in rk.nest.flatten(x)]


def test_parameter_layout_matches_tf(case):
    cell = case.make_cell()
    layout = {k: tuple(v.shape) for k, v in rk.tf_variables(cell).items()}
    assert list(layout) == list(case.layout)  # order matters: TF's creation order
    assert layout == case.layout


def test_zero_state_structure_and_shapes(case):
    cell = case.make_cell()
    state = cell.zero_state(B, torch.float64)
    rk.nest.assert_same_structure(cell.state_size, state)
    for size, tensor in zip(rk.nest.flatten(cell.state_size), rk.nest.flatten(state)):
        assert tensor.shape == (B, size) and tensor.dtype == torch.float64
        assert not tensor.any()


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_dynamic_matches_numpy_reference(case, lengths):
    cell = case.make_cell().double()
    x, init = _inputs(), _random_state(cell)
    out, state = rk.dynamic_rnn(cell, x, sequence_length=lengths, initial_state=init)
    w = numpy_weights(cell)
    ref_out, ref_state = ref.unroll(
        lambda w_x, s: case.numpy_step(w, w_x, s), x.numpy(), to_numpy_state(init), lengths
    )
    np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-10, atol=1e-12)
    for got, want in zip(_flat(state), flatten_numpy(ref_state)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_static_equals_dynamic(case, lengths):
    cell = case.make_cell().double()
    x, init = _inputs(), _random_state(cell)
    dyn_out, dyn_state = rk.dynamic_rnn(cell, x, sequence_length=lengths, initial_state=init)
    st_out, st_state = rk.static_rnn(
        cell, list(x.unbind(1)), initial_state=init, sequence_length=lengths
    )
    assert isinstance(st_out, list) and len(st_out) == T
    torch.testing.assert_close(torch.stack(st_out, 1), dyn_out, **SAME)
    for a, b in zip(_flat(st_state), _flat(dyn_state)):
        torch.testing.assert_close(a, b, **SAME)


def test_time_major_equals_batch_major(case):
    cell = case.make_cell().double()
    x = _inputs()
    out_b, state_b = rk.dynamic_rnn(cell, x, sequence_length=LENGTHS)
    out_t, state_t = rk.dynamic_rnn(
        cell, x.transpose(0, 1), sequence_length=LENGTHS, time_major=True
    )
    torch.testing.assert_close(out_t.transpose(0, 1), out_b, **SAME)
    for a, b in zip(_flat(state_t), _flat(state_b)):
        torch.testing.assert_close(a, b, **SAME)


def test_unroll_equals_hand_written_step_loop(case):
    cell = case.make_cell().double()
    x, state = _inputs(), _random_state(cell)
    out, final = rk.dynamic_rnn(cell, x, initial_state=state)
    for t in range(T):
        step_out, state = cell(x[:, t], state)
        torch.testing.assert_close(out[:, t], step_out, **SAME)
    for a, b in zip(_flat(final), _flat(state)):
        torch.testing.assert_close(a, b, **SAME)


def test_sequence_length_rule(case):
    """Outputs past each row's length are zero; the final state is the state after the row's last step."""
    cell = case.make_cell().double()
    x, init = _inputs(), _random_state(cell)
    full_out, _ = rk.dynamic_rnn(cell, x, initial_state=init)
    out, final = rk.dynamic_rnn(cell, x, sequence_length=LENGTHS, initial_state=init)
    for b, n in enumerate(LENGTHS):
        torch.testing.assert_close(out[b, :n], full_out[b, :n], **SAME)
        assert not out[b, n:].any()
        # the state at step n-1: rerun the row alone over its first n steps (the initial state for n == 0)
        row_init = rk.nest.map_structure(lambda s: s[b : b + 1], init)
        if n:
            _, want = rk.dynamic_rnn(cell, x[b : b + 1, :n], initial_state=row_init)
        else:
            want = row_init
        for got_leaf, want_leaf in zip(_flat(final), _flat(want)):
            torch.testing.assert_close(got_leaf[b : b + 1], want_leaf, rtol=1e-12, atol=1e-12)


def test_gradcheck_float64(case):
    cell = case.make_cell().double()
    x = _inputs()[:2, :3].requires_grad_(True)
    init = rk.nest.map_structure(lambda s: s[:2].requires_grad_(True), _random_state(cell))
    params = list(cell.parameters())
    flat_init = rk.nest.flatten(init)

    def fn(x, *rest):
        state = rk.nest.pack_sequence_as(init, list(rest[: len(flat_init)]))
        out, final = rk.dynamic_rnn(cell, x, initial_state=state, sequence_length=[3, 1])
        return (out, *rk.nest.flatten(final))

    assert torch.autograd.gradcheck(fn, (x, *flat_init), eps=1e-6, atol=1e-7)
    # parameters: check the gradient of a random projection of the outputs against finite differences
    out, final = rk.dynamic_rnn(
        cell, x.detach(), initial_state=rk.nest.map_structure(torch.detach, init)
    )
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()
    grads = torch.autograd.grad(loss, params)
    for p, g in zip(params, grads):
        idx = tuple(np.unravel_index(int(torch.argmax(g.abs())), tuple(p.shape)))
        with torch.no_grad():
            p[idx] += 1e-6
            up = rk.dynamic_rnn(
                cell, x.detach(), initial_state=rk.nest.map_structure(torch.detach, init)
            )[0]
            p[idx] -= 2e-6
            down = rk.dynamic_rnn(
                cell, x.detach(), initial_state=rk.nest.map_structure(torch.detach, init)
            )[0]
            p[idx] += 1e-6
        w = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
        numeric = ((up * w).sum() - (down * w).sum()) / 2e-6
        assert abs(float(numeric) - float(g[idx])) < 1e-6 * max(1.0, abs(float(numeric)))


def test_float32_matches_float64(case):
    cell64 = case.make_cell().double()
    cell32 = case.make_cell()
    cell32.load_state_dict({k: v.float() for k, v in cell64.state_dict().items()})
    x = _inputs()
    out64, _ = rk.dynamic_rnn(cell64, x, sequence_length=LENGTHS)
    out32, state32 = rk.dynamic_rnn(cell32, x.float(), sequence_length=LENGTHS)
    assert out32.dtype == torch.float32 and all(s.dtype == torch.float32 for s in _flat(state32))
    torch.testing.assert_close(out32.double(), out64, rtol=1e-5, atol=1e-5)


# What ``from tests.contract.test_cell_contract import *`` gives a per-cell file in tests/cells: every check above
# (a new one is picked up there too), not the ``case`` fixture, which that file narrows with ``cases_of``.
__all__ = sorted(name for name in list(globals()) if name.startswith("test_"))
