"""The reference the sequence-kernel tests compare against: the cell called once per step (its own math, never a
kernel), TF's sequence_length rule applied by hand."""

from __future__ import annotations

import torch

import rnnkit as rk


def cell_loop(cell, x, state, lengths, time_major):
    """``(outputs, final_state)`` of ``cell`` over ``x`` ([T, B, D] if time_major else [B, T, D])."""
    outputs = []
    for t, x_t in enumerate(x.unbind(0 if time_major else 1)):
        out, new = cell(x_t, state)
        live = (
            torch.ones(x_t.shape[0], 1, dtype=torch.bool)
            if lengths is None
            else (t < lengths)[:, None]
        )
        outputs.append(torch.where(live, out, 0.0))
        state = rk.nest.map_structure(lambda n, o: torch.where(live, n, o), new, state)
    return torch.stack(outputs, 0 if time_major else 1), state


def randomize(cell):
    """``cell`` with random, non-symmetric parameters (its biases start at constants, its kernels are glorot's
    symmetric draws): each parameter ``N(0, 0.7^2)``, from torch's global generator."""
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * 0.7)
    return cell


def random_state(cell, batch, seed):
    """A float64 initial state of ``cell`` for ``batch`` rows, random, requiring grad."""
    gen = torch.Generator().manual_seed(seed)
    zero = cell.zero_state(batch, torch.float64)
    return rk.nest.map_structure(
        lambda z: torch.randn(z.shape, generator=gen, dtype=torch.float64).requires_grad_(), zero
    )


def assert_double_backward_equal(cell, x, lens, state, rtol=1e-10):
    """create_graph=True: a gradient penalty through ``dynamic_rnn`` (the kernel) equals the one through the
    cell's own step loop, for ``x`` (batch-major, requiring grad), the initial state's leaves that require grad and
    every parameter: a kernel whose backward returned plain numbers would drop every second-order term."""
    leaves = [t for t in rk.nest.flatten(state) if t.requires_grad]

    def penalty(run):
        (g,) = torch.autograd.grad(run().square().sum(), x, create_graph=True)
        return torch.autograd.grad(g.square().sum(), [x, *leaves, *cell.parameters()])

    got = penalty(lambda: rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state)[0])
    want = penalty(lambda: cell_loop(cell, x, state, lens, False)[0])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=rtol, atol=rtol)


def assert_kernel_equals_cell_loop(cell, x, state, lens, time_major, rtol=1e-12, grad_rtol=1e-10):
    """``dynamic_rnn`` (the kernel) against the cell's own step loop: outputs and final state to ``rtol``, and the
    gradients of a random weighting of them for ``x``, the initial state's leaves and every parameter to
    ``grad_rtol``. Returns ``(got, want)``, each ``(outputs, final_state)``."""
    got = rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state, time_major=time_major)
    want = cell_loop(cell, x, state, lens, time_major)
    flat_got, flat_want = rk.nest.flatten(got), rk.nest.flatten(want)
    for g, w in zip(flat_got, flat_want):
        torch.testing.assert_close(g, w, rtol=rtol, atol=rtol)
    weights = [torch.randn_like(w) for w in flat_want]
    wrt = [x, *rk.nest.flatten(state), *cell.parameters()]
    g_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(flat_got, weights)), wrt)
    g_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(flat_want, weights)), wrt)
    for g, w in zip(g_got, g_want):
        torch.testing.assert_close(g, w, rtol=grad_rtol, atol=grad_rtol)
    return got, want
