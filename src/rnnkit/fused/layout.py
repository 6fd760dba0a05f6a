"""TF-layout parameters and states → torch's kernel layout and back (see the package doc for the mapping)."""

from __future__ import annotations

from typing import Any

import torch

from ..cells.state import LSTMStateTuple
from .plan import FusedPlan, _Layer

# NOTE [fused weights cache]: outside autograd recording (inference, no_grad), the re-laid-out weights of a cell
# are kept between calls, contiguous, as torch.nn.LSTM keeps its flat weights; they are reused while the cell's
# parameters are the same objects at the same version counters (every in-place update bumps the counter:
# optimizer steps, load_state_dict, copy_ under no_grad; writes through ``.data`` do not, as they bypass autograd
# too). While recording, the re-layout runs inside autograd on every call, so gradients reach the TF-layout
# parameters, written as the ops that are cheapest to differentiate (``_torch_order``).
_CONSTANTS: dict[tuple[Any, ...], torch.Tensor] = {}


def _constant(kind: str, size: int, hidden: int, value: float, like: torch.Tensor) -> torch.Tensor:
    """Cached constants (never written, no grad): ``zeros`` (torch's ``bias_hh``) or the ``forget`` shift
    (``value`` on torch's ``f`` block), so a call allocates neither."""
    key = (kind, size, hidden, value, like.dtype, like.device)
    t = _CONSTANTS.get(key)
    if t is None:
        # A normal tensor even when first made under inference_mode: a training call will save it for backward.
        with torch.inference_mode(False), torch.no_grad():
            t = torch.zeros(size, dtype=like.dtype, device=like.device)
            if kind == "forget":
                t[hidden : 2 * hidden] = value
        _CONSTANTS[key] = t
    return t


def _torch_order(w: torch.Tensor) -> torch.Tensor:
    """``[rows, 4H]`` in TF's gate order ``i, j, f, o`` → ``[4H, rows]`` in torch's ``i, f, j(g), o``. A ``cat`` of
    column blocks: the cheapest re-layout to differentiate (its backward only slices)."""
    i, j, f, o = w.chunk(4, dim=1)
    return torch.cat([i, f, j, o], 1).t()


def _relayout(layer: _Layer) -> list[torch.Tensor]:
    """``[weight_ih, weight_hh, bias_ih, bias_hh(, weight_hr)]`` from the TF-layout parameters (module doc)."""
    cell = layer.cell
    if layer.mode == "GRU":
        return _gru_weights(cell)
    d = cell.input_size
    kernel, bias = cell.kernel, cell.bias
    # split, not kernel[:d] / kernel[d:]: its backward is one cat, where each slice's pads a zero kernel.
    w_x, w_h = kernel.split([d, kernel.shape[0] - d])
    zeros = _constant("zeros", bias.shape[0], 0, 0.0, bias)
    if layer.mode != "LSTM":
        return [w_x.t(), w_h.t(), bias, zeros]
    bias_ih = _torch_order(bias.unsqueeze(0)).squeeze(1)
    if cell.forget_bias:
        bias_ih = bias_ih + _constant("forget", bias.shape[0], layer.hidden, cell.forget_bias, bias)
    weights = [_torch_order(w_x), _torch_order(w_h), bias_ih, zeros]
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


def _torch_weights(layer: _Layer) -> list[torch.Tensor]:
    """The layer's weights in torch's layout, cached outside autograd recording (NOTE [fused weights cache])."""
    cell = layer.cell
    params = list(cell.parameters())
    if torch.is_grad_enabled() and any(p.requires_grad for p in params):
        return _relayout(layer)
    versions = [p._version for p in params]
    forget_bias = getattr(cell, "forget_bias", None)
    cached = cell.__dict__.get("_fused_weights_cache")
    if cached is not None:
        key, cached_params, cached_versions, weights = cached
        same = len(cached_params) == len(params) and all(
            a is b for a, b in zip(cached_params, params)
        )
        if same and key == (layer.key, forget_bias) and cached_versions == versions:
            return weights
    weights = [w.contiguous() for w in _relayout(layer)]
    # In the instance dict, not as a module attribute: not a parameter or buffer, never in a state_dict.
    cell.__dict__["_fused_weights_cache"] = ((layer.key, forget_bias), params, versions, weights)
    return weights


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
