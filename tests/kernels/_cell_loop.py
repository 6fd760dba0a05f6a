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
