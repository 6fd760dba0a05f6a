"""Shared by the fast-call tests (NOTE [fast fused call], fused/fast.py): random parameters, and one call's
outputs and gradients."""

from __future__ import annotations

import torch

import rnnkit as rk


def run_and_grads(cell, x, **kw):
    """``([outputs, *final state], gradients of x and the parameters)`` of one ``dynamic_rnn`` call, under a
    loss that weighs every element differently."""
    out, state = rk.dynamic_rnn(cell, x, **kw)
    flat = [out, *rk.nest.flatten(state)]
    loss = sum((t * torch.arange(t.numel()).view_as(t).sin()).sum() for t in flat)
    return flat, torch.autograd.grad(loss, [x, *cell.parameters()])


def randomized(cell):
    """``cell`` with every parameter drawn again (``torch.randn * 0.5``), returned."""
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    return cell
