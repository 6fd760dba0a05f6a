"""Shared by the pooled-weights tests (NOTE [pooled kernel weights], cells/fused_spec.py): their stack's shape and
the same call with new weight tensors, the reference each pooled call must equal bit for bit."""

from __future__ import annotations

import torch

import rnnkit as rk
from rnnkit.fused import fast, run

D, H = 40, 140  # a first-layer kernel of [180, 560] floats: 403 KB


def _new_weights(layers):
    return [w for layer in layers for w in layer.weights()], []


def unpooled(stack: rk.MultiRNNCell, x: torch.Tensor, monkeypatch) -> torch.Tensor:
    """``stack``'s outputs on ``x`` with every layer's ``weights()`` (new tensors)."""
    with monkeypatch.context() as m:
        for module in (run, fast):  # the general path and the fast call (NOTE [fast fused call])
            m.setattr(module, "layer_weights", _new_weights)
        return rk.dynamic_rnn(stack, x)[0]
