"""TF-layout parameters and states → torch's kernel layout and back (see the package doc for the mapping)."""

from __future__ import annotations

from typing import Any

import torch

from ..cells.state import LSTMStateTuple
from .plan import FusedPlan, _Layer


def _torch_weights(layer: _Layer) -> list[torch.Tensor]:
    """``[weight_ih, weight_hh, bias_ih, bias_hh(, weight_hr)]`` from the TF-layout parameters (see module doc)."""
    cell = layer.cell
    d = cell.input_size
    if layer.mode == "GRU":
        return _gru_weights(cell)
    kernel, bias = cell.kernel, cell.bias
    if layer.mode != "LSTM":
        return [kernel[:d].t(), kernel[d:].t(), bias, torch.zeros_like(bias)]
    i, j, f, o = kernel.chunk(4, dim=1)
    reordered = torch.cat([i, f, j, o], 1)
    bi, bj, bf, bo = bias.chunk(4)
    bias_ih = torch.cat([bi, bf + cell.forget_bias, bj, bo])
    weights = [reordered[:d].t(), reordered[d:].t(), bias_ih, torch.zeros_like(bias_ih)]
    if layer.proj:
        weights.append(cell.projection_kernel.t())
    return weights


def _gru_weights(cell: Any) -> list[torch.Tensor]:
    """CudnnCompatibleGRUCell → torch's GRU (gates r, z, n; reset applied after the recurrent matmul)::

    weight_ih = [gates/kernel[:D] | input_projection/kernel].T     bias_ih = [gates/bias, input_projection/bias]
    weight_hh = [gates/kernel[D:] | hidden_projection/kernel].T    bias_hh = [0, 0, hidden_projection/bias]
    """
    d = cell.input_size
    weight_ih = torch.cat([cell.gates_kernel[:d], cell.input_kernel], 1).t()
    weight_hh = torch.cat([cell.gates_kernel[d:], cell.hidden_kernel], 1).t()
    bias_ih = torch.cat([cell.gates_bias, cell.input_bias])
    bias_hh = torch.cat([torch.zeros_like(cell.gates_bias), cell.hidden_bias])
    return [weight_ih, weight_hh, bias_ih, bias_hh]


def _split_layer_states(
    fused_plan: FusedPlan, state: Any, like: torch.Tensor | None = None, time_major: bool = False
) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """The stack's state → per layer ``(h [B, out], c [B, H] or None)``; ``state`` None: zeros like ``like``."""
    if state is None:
        batch = like.shape[1 if time_major else 0]
        return [
            (
                like.new_zeros(batch, layer.out),
                like.new_zeros(batch, layer.hidden) if layer.mode == "LSTM" else None,
            )
            for layer in fused_plan.layers
        ]
    if fused_plan.multi is None:
        states = [state]
    elif fused_plan.multi.state_is_tuple:
        states = list(state)
    else:
        states = list(
            torch.split(state, [layer.cell.state_size for layer in fused_plan.layers], dim=-1)
        )
    result = []
    for layer, s in zip(fused_plan.layers, states):
        if layer.mode != "LSTM":
            result.append((s, None))
        elif layer.cell.state_is_tuple:
            result.append((s[1], s[0]))
        else:
            result.append((s[:, layer.hidden :], s[:, : layer.hidden]))
    return result


def _join_layer_states(
    fused_plan: FusedPlan, hcs: list[tuple[torch.Tensor, torch.Tensor | None]]
) -> Any:
    states = []
    for layer, (h, c) in zip(fused_plan.layers, hcs):
        if layer.mode != "LSTM":
            states.append(h)
        elif layer.cell.state_is_tuple:
            states.append(LSTMStateTuple(c, h))
        else:
            states.append(torch.cat([c, h], 1))
    if fused_plan.multi is None:
        return states[0]
    return tuple(states) if fused_plan.multi.state_is_tuple else torch.cat(states, dim=-1)
