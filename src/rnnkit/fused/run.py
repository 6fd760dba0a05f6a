"""Running a fused plan: torch's kernel calls, TF's sequence_length rule, the bidirectional unroll."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .layout import _join_layer_states, _split_layer_states, _torch_weights
from .plan import FusedPlan, _groups, _Layer


def _ensure_built(fused_plan: FusedPlan, x_step: torch.Tensor) -> None:
    """Check each layer's inputs (depth, dtype) as its cell call would, building lazy layers on the way."""
    x = fused_plan.layers[0].cell._prepare_inputs(x_step)
    depth = fused_plan.layers[0].out
    for layer in fused_plan.layers[1:]:
        layer.cell._prepare_inputs(x.new_zeros(1, depth))
        depth = layer.out


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
    fn = {"GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}[mode]
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
