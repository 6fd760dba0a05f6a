"""The fused fast path: run cell stacks that torch's RNN kernels compute exactly on those kernels.

A stack is *fusable* when every layer is one of (exact types, no subclasses, no forward hooks):

* ``BasicLSTMCell`` / ``LSTMCell`` with tanh, no peepholes, no ``cell_clip`` / ``proj_clip``
  (``num_proj`` → torch's ``proj_size``) → ``torch._VF.lstm``;
* ``BasicRNNCell`` with tanh or relu → ``torch._VF.rnn_tanh`` / ``rnn_relu``;
* a ``MultiRNNCell`` of such cells (either ``state_is_tuple``), consecutive layers of one kind and size running
  in one kernel call.

The TF-layout parameters are re-laid out on every call, inside autograd, so gradients reach them::

    kernel [D+P, 4H] (gates i, j, f, o)  →  weight_ih = kernel[:D, (i, f, j, o)].T   [4H, D]
                                            weight_hh = kernel[D:, (i, f, j, o)].T   [4H, P]
    bias [4H]                            →  bias_ih = bias[(i, f, j, o)] + forget_bias on f;  bias_hh = 0
    projection/kernel [H, P]             →  weight_hr = projection/kernel.T          [P, H]

``sequence_length`` runs through packed sequences, which give TF's rule (zero outputs past a row's length, final
state at its last step); packed sequences reject length 0, so such rows run one step and are then replaced by
zeros / the initial state (``torch.where``, so no gradient flows through that step).

Which path ran and why: ``explain(cell)``, and a ``logging.DEBUG`` record on the ``rnnkit.fused`` logger for
every unroll.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ._checks import autocast_enabled
from .cells.base import LayerCell, RNNCell
from .cells.basic_rnn import BasicRNNCell
from .cells.lstm import BasicLSTMCell, LSTMCell
from .cells.multi import MultiRNNCell
from .cells.state import LSTMStateTuple

__all__ = [
    "FusedPlan",
    "decide",
    "explain",
    "fusable",
    "logger",
    "plan",
    "run_fused",
    "run_fused_bidirectional",
    "one_call_bidirectional",
]

logger = logging.getLogger("rnnkit.fused")


@dataclass(frozen=True)
class _Layer:
    cell: LayerCell
    mode: str  # "LSTM" | "RNN_TANH" | "RNN_RELU"
    hidden: int  # H
    proj: int  # P for LSTMCell(num_proj=P), else 0

    @property
    def out(self) -> int:
        return self.proj or self.hidden

    @property
    def key(self) -> tuple[str, int, int]:
        return self.mode, self.hidden, self.proj


@dataclass(frozen=True)
class FusedPlan:
    """How a fusable stack maps onto torch's kernels: its layers and the stack's state form."""

    layers: tuple[_Layer, ...]
    multi: MultiRNNCell | None  # the MultiRNNCell, or None for a single cell

    def describe(self) -> str:
        groups = _groups(self.layers)
        parts = []
        for group in groups:
            mode, hidden, proj = group[0].key
            kernel = {"LSTM": "lstm", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}[mode]
            extra = f", proj_size={proj}" if proj else ""
            parts.append(
                f"torch._VF.{kernel}(num_layers={len(group)}, hidden_size={hidden}{extra})"
            )
        return " + ".join(parts)


def _hooked(module: torch.nn.Module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks)


def _leaf_layer(cell: RNNCell, where: str) -> tuple[_Layer | None, str]:
    kind = type(cell)
    if kind not in (BasicLSTMCell, LSTMCell, BasicRNNCell):
        return (
            None,
            (
                f"{where} is a {kind.__name__}; torch's fused kernels compute only BasicLSTMCell, "
                "LSTMCell and BasicRNNCell (exact types)"
            ),
        )
    if _hooked(cell):
        return None, f"{where} ({kind.__name__}) has forward hooks, which a fused kernel would skip"
    name = cell.activation_name
    if kind is BasicRNNCell:
        if name not in ("tanh", "relu"):
            return (
                None,
                (
                    f"{where} (BasicRNNCell) uses activation {name or repr(cell._activation)}; fused "
                    "kernels have tanh and relu only"
                ),
            )
        return _Layer(cell, "RNN_TANH" if name == "tanh" else "RNN_RELU", cell.num_units, 0), ""
    if name != "tanh":
        return (
            None,
            (
                f"{where} ({kind.__name__}) uses activation {name or repr(cell._activation)}; the fused "
                "LSTM kernel has tanh only"
            ),
        )
    proj = 0
    if kind is LSTMCell:
        if cell.use_peepholes:
            return None, f"{where} (LSTMCell) uses peepholes, which torch's fused LSTM lacks"
        if cell.cell_clip is not None:
            return None, f"{where} (LSTMCell) uses cell_clip, which torch's fused LSTM lacks"
        if cell.proj_clip is not None:
            return None, f"{where} (LSTMCell) uses proj_clip, which torch's fused LSTM lacks"
        proj = cell.num_proj or 0
    return _Layer(cell, "LSTM", cell.num_units, proj), ""


def plan(cell: Any) -> tuple[FusedPlan | None, str]:
    """Return ``(plan, "")`` when torch's fused kernels compute ``cell`` exactly, else ``(None, reason)``."""
    if not isinstance(cell, RNNCell):
        return None, f"{type(cell).__name__} is not an rnnkit cell"
    if type(cell) is MultiRNNCell:
        if _hooked(cell):
            return None, "the MultiRNNCell has forward hooks, which a fused kernel would skip"
        layers = []
        for i, sub in enumerate(cell.cells):
            layer, reason = _leaf_layer(sub, f"cells[{i}]")
            if layer is None:
                return None, reason
            layers.append(layer)
        return FusedPlan(tuple(layers), cell), ""
    layer, reason = _leaf_layer(cell, "the cell")
    if layer is None:
        return None, reason
    return FusedPlan((layer,), None), ""


def fusable(cell: Any) -> bool:
    """Whether ``dynamic_rnn(cell, x)`` takes the fused path in auto mode (for a single, non-nested input)."""
    return plan(cell)[0] is not None


def explain(cell: Any) -> str:
    """Say which path ``dynamic_rnn(cell, x)`` takes (for one ``[B, T, D]`` input tensor) and why.

    >>> import rnnkit as rk
    >>> print(rk.fused.explain(rk.MultiRNNCell([rk.BasicLSTMCell(8), rk.BasicLSTMCell(8)])))
    fused: torch._VF.lstm(num_layers=2, hidden_size=8)
    >>> print(rk.fused.explain(rk.LSTMCell(8, use_peepholes=True)))
    step loop: the cell (LSTMCell) uses peepholes, which torch's fused LSTM lacks
    """
    fused_plan, reason = plan(cell)
    if fused_plan is None:
        return f"step loop: {reason}"
    return f"fused: {fused_plan.describe()}"


# ---------------------------------------------------------------------------------------------------------------
# Running a plan


def _groups(layers: tuple[_Layer, ...]) -> list[list[_Layer]]:
    """Consecutive layers of one (mode, H, P): one kernel call each (torch's num_layers)."""
    groups: list[list[_Layer]] = []
    for layer in layers:
        if groups and groups[-1][0].key == layer.key:
            groups[-1].append(layer)
        else:
            groups.append([layer])
    return groups


def _ensure_built(fused_plan: FusedPlan, x_step: torch.Tensor) -> None:
    """Check each layer's inputs (depth, dtype) as its cell call would, building lazy layers on the way."""
    x = fused_plan.layers[0].cell._prepare_inputs(x_step)
    depth = fused_plan.layers[0].out
    for layer in fused_plan.layers[1:]:
        layer.cell._prepare_inputs(x.new_zeros(1, depth))
        depth = layer.out


def _torch_weights(layer: _Layer) -> list[torch.Tensor]:
    """``[weight_ih, weight_hh, bias_ih, bias_hh(, weight_hr)]`` from the TF-layout parameters (see module doc)."""
    cell = layer.cell
    d = cell.input_size
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


@contextlib.contextmanager
def _quiet_kernel_notes(active: bool) -> Iterator[None]:
    """Silence torch's notes about how it runs the kernel, which are not the user's concern here: oneDNN lacking
    LSTM projections (torch then uses its own kernel), and cuDNN's "weights are not part of single contiguous chunk
    of memory" (true by design: the weights are re-laid out from the TF layout on every call)."""
    if not active:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="LSTM with projections is not supported with oneDNN"
        )
        warnings.filterwarnings(
            "ignore", message="RNN module weights are not part of single contiguous"
        )
        yield


def _call_group(
    group: list[_Layer],
    x: Any,
    batch_sizes: torch.Tensor | None,
    hcs: list[tuple[torch.Tensor, torch.Tensor | None]],
    batch_first: bool,
    bidirectional: bool = False,
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor | None]]]:
    """One kernel call over ``group`` (layers; for bidirectional, ``[fw, bw]`` of one layer).

    ``x`` is ``[B, T, D]`` / ``[T, B, D]``, or packed data ``[N, D]`` with ``batch_sizes``; ``hcs`` the per-layer
    initial ``(h, c)`` (already in packed order). Returns the outputs and the per-layer final ``(h, c)``.
    """
    weights = [w for layer in group for w in _torch_weights(layer)]
    num_layers = 1 if bidirectional else len(group)
    h0 = torch.stack([h for h, _ in hcs])
    mode = group[0].mode
    quiet = _quiet_kernel_notes(bool(group[0].proj) or x.is_cuda)
    if mode == "LSTM":
        hx = (h0, torch.stack([c for _, c in hcs]))
        with quiet:
            if batch_sizes is None:
                out, h_n, c_n = _VF.lstm(
                    x, hx, weights, True, num_layers, 0.0, False, bidirectional, batch_first
                )
            else:
                out, h_n, c_n = _VF.lstm(
                    x, batch_sizes, hx, weights, True, num_layers, 0.0, False, bidirectional
                )
        return out, list(zip(h_n.unbind(0), c_n.unbind(0)))
    fn = _VF.rnn_tanh if mode == "RNN_TANH" else _VF.rnn_relu
    with quiet:
        if batch_sizes is None:
            out, h_n = fn(x, h0, weights, True, num_layers, 0.0, False, bidirectional, batch_first)
        else:
            out, h_n = fn(x, batch_sizes, h0, weights, True, num_layers, 0.0, False, bidirectional)
    return out, [(h, None) for h in h_n.unbind(0)]


def _run_stack(
    fused_plan: FusedPlan, x: Any, batch_sizes: torch.Tensor | None, hcs: list, batch_first: bool
) -> tuple[torch.Tensor, list]:
    final: list = []
    start = 0
    for group in _groups(fused_plan.layers):
        x, group_final = _call_group(
            group, x, batch_sizes, hcs[start : start + len(group)], batch_first
        )
        final.extend(group_final)
        start += len(group)
    return x, final


def _where_rows(
    empty: torch.Tensor, old: torch.Tensor, new: torch.Tensor, batch_axis: int = 0
) -> torch.Tensor:
    shape = [1] * new.dim()
    shape[batch_axis] = -1
    return torch.where(empty.view(shape), old, new)


def _permute_hcs(hcs: list, index: torch.Tensor) -> list:
    return [
        (h.index_select(0, index), None if c is None else c.index_select(0, index)) for h, c in hcs
    ]


def _run_lengths(
    call, inputs: torch.Tensor, hcs: list, sequence_length: torch.Tensor | None, time_major: bool
):
    """Apply ``call(x, batch_sizes, hcs, batch_first) -> (out, final hcs)`` with TF's sequence_length rule.

    Without lengths (or all full) the padded tensor goes straight in. Otherwise through a packed sequence, which
    holds only the steps within each row's length (padding never reaches the kernel); packed sequences need
    lengths >= 1, so rows of length 0 run one step on zeroed inputs and are then replaced by zero outputs and
    their initial state (``torch.where``: nothing flows back through that step).
    """
    batch_axis = 1 if time_major else 0
    time = inputs.shape[1 - batch_axis]
    if sequence_length is None or bool((sequence_length == time).all()):
        return call(inputs, None, hcs, not time_major)
    lengths_cpu = sequence_length.cpu()
    any_empty = bool((lengths_cpu == 0).any())
    if any_empty:
        # NOTE [padding never reaches the gradient] (unroll/_loop.py): the step run for an empty row reads zeros.
        empty = sequence_length == 0
        zero = torch.zeros((), dtype=inputs.dtype, device=inputs.device)
        inputs = _where_rows(empty, zero, inputs, batch_axis)
    packed = pack_padded_sequence(
        inputs, lengths_cpu.clamp(min=1), batch_first=not time_major, enforce_sorted=False
    )
    data, final = call(
        packed.data, packed.batch_sizes, _permute_hcs(hcs, packed.sorted_indices), False
    )
    out, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices),
        batch_first=not time_major,
        total_length=time,
    )
    final = _permute_hcs(final, packed.unsorted_indices)
    if any_empty:
        out = _where_rows(
            empty, torch.zeros((), dtype=out.dtype, device=out.device), out, batch_axis
        )
        final = [
            (_where_rows(empty, h0, h), None if c is None else _where_rows(empty, c0, c))
            for (h0, c0), (h, c) in zip(hcs, final)
        ]
    return out, final


def run_fused(
    fused_plan: FusedPlan,
    inputs: torch.Tensor,
    state: Any,
    sequence_length: torch.Tensor | None,
    time_major: bool,
) -> tuple[torch.Tensor, Any]:
    """Run a fusable stack over checked ``inputs`` ``[B, T, D]`` (``[T, B, D]`` when ``time_major``).

    ``state`` is the checked initial state (nested like ``cell.state_size``; None: zeros), ``sequence_length`` an
    int64 ``[B]`` tensor in ``[0, T]`` or None. Returns ``(outputs [B, T, out] or [T, B, out], final_state)`` with
    the same values as the step loop (to float rounding).
    """
    _ensure_built(fused_plan, inputs.select(0 if time_major else 1, 0))
    hcs = _split_layer_states(fused_plan, state, inputs, time_major)

    def call(x, batch_sizes, hcs, batch_first):
        return _run_stack(fused_plan, x, batch_sizes, hcs, batch_first)

    out, final = _run_lengths(call, inputs, hcs, sequence_length, time_major)
    return out, _join_layer_states(fused_plan, final)


def _reverse_sequence(
    x: torch.Tensor, lengths: torch.Tensor | None, batch_axis: int
) -> torch.Tensor:
    """TF's ``reverse_sequence``: reverse each row over its first ``lengths[b]`` steps, leave the rest."""
    time_axis = 1 - batch_axis
    if lengths is None:
        return x.flip(time_axis)
    time = x.shape[time_axis]
    t = torch.arange(time, device=x.device)
    index = torch.where(
        t[None, :] < lengths[:, None], lengths[:, None] - 1 - t[None, :], t[None, :]
    )  # [B, T]
    if batch_axis == 1:
        index = index.t()
    return x.gather(time_axis, index.unsqueeze(-1).expand(*index.shape, x.shape[-1]))


def one_call_bidirectional(plan_fw: FusedPlan, plan_bw: FusedPlan) -> bool:
    """Whether one bidirectional kernel call can run both stacks: one layer each, same kind and sizes."""
    fw, bw = plan_fw.layers, plan_bw.layers
    return len(fw) == 1 and len(bw) == 1 and fw[0].key == bw[0].key


def run_fused_bidirectional(
    plan_fw: FusedPlan,
    plan_bw: FusedPlan,
    inputs: torch.Tensor,
    state_fw: Any,
    state_bw: Any,
    sequence_length: torch.Tensor | None,
    time_major: bool,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[Any, Any]]:
    """TF's ``bidirectional_dynamic_rnn`` on fused kernels: ``((out_fw, out_bw), (state_fw, state_bw))``.

    The backward stack reads each row reversed over its own length and ``out_bw`` is reversed back (TF's
    ``reverse_sequence``), so both outputs are aligned with the inputs. Arguments as ``run_fused``. When both
    stacks are one layer of the same kind and size, one bidirectional kernel call runs both directions
    (torch's packed reverse direction is exactly TF's per-row reversal).
    """
    batch_axis = 1 if time_major else 0
    if one_call_bidirectional(plan_fw, plan_bw):
        x0 = inputs.select(1 - batch_axis, 0)
        _ensure_built(plan_fw, x0)
        _ensure_built(plan_bw, x0)
        return _bidirectional_one_call(
            plan_fw, plan_bw, inputs, state_fw, state_bw, sequence_length, time_major
        )
    out_fw, final_fw = run_fused(plan_fw, inputs, state_fw, sequence_length, time_major)
    reversed_inputs = _reverse_sequence(inputs, sequence_length, batch_axis)
    out_bw, final_bw = run_fused(plan_bw, reversed_inputs, state_bw, sequence_length, time_major)
    return (out_fw, _reverse_sequence(out_bw, sequence_length, batch_axis)), (final_fw, final_bw)


def _bidirectional_one_call(
    plan_fw, plan_bw, inputs, state_fw, state_bw, sequence_length, time_major
):
    group = [plan_fw.layers[0], plan_bw.layers[0]]
    hcs = _split_layer_states(plan_fw, state_fw) + _split_layer_states(plan_bw, state_bw)

    def call(x, batch_sizes, hcs, batch_first):
        return _call_group(group, x, batch_sizes, hcs, batch_first, bidirectional=True)

    out, final = _run_lengths(call, inputs, hcs, sequence_length, time_major)
    out_fw, out_bw = out.split(group[0].out, dim=-1)
    return (out_fw, out_bw), (
        _join_layer_states(plan_fw, final[:1]),
        _join_layer_states(plan_bw, final[1:]),
    )


def decide(where: str, cell: Any, inputs: Any, fused: Any) -> FusedPlan | None:
    """The unrolls' choice: a plan to run fused, or None for the step loop (``fused``: None auto / True / False).

    ``fused=True`` on a stack the kernels cannot compute raises ValueError with the reason. Every decision is
    logged at DEBUG level on the ``rnnkit.fused`` logger.
    """
    if fused is not None and not isinstance(fused, bool):
        raise TypeError(f"{where}: expected fused to be None, True or False, got {fused!r}")
    if fused is False:
        logger.debug("%s: step loop (fused=False)", where)
        return None
    if not isinstance(inputs, torch.Tensor):
        fused_plan, reason = (
            None,
            "the inputs are a nested structure; fused kernels take one [B, T, D] tensor",
        )
    elif inputs.dim() != 3:
        fused_plan, reason = (
            None,
            f"the inputs have rank {inputs.dim()}; fused kernels take [B, T, D]",
        )
    elif autocast_enabled(inputs.device.type):
        # The kernels would carry c and h in bf16/fp16 from step to step; the step loop keeps them in float32.
        fused_plan, reason = (
            None,
            "autocast is on; the step loop keeps the recurrent state in float32",
        )
    else:
        fused_plan, reason = plan(cell)
    if fused_plan is None:
        if fused:
            raise ValueError(
                f"{where}: fused=True, but torch's fused kernels cannot run this: {reason}"
            )
        logger.debug("%s: step loop (%s)", where, reason)
        return None
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s: fused path (%s)", where, fused_plan.describe())
    return fused_plan
