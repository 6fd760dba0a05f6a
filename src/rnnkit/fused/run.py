"""Running a fused plan: torch's kernel calls, TF's sequence_length rule, the bidirectional unroll."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .._sequence import reverse_sequence_unchecked, where_rows
from ..cells.fused_spec import FusedLayer, KernelState
from . import dropout
from .plan import FusedPlan, groups

__all__ = ["kernel_call", "one_call_bidirectional", "run_fused", "run_fused_bidirectional"]


def _kernel_states(
    fused_plan: FusedPlan, state: Any, like: torch.Tensor | None = None, time_major: bool = False
) -> list[KernelState]:
    """The cell's state → per layer ``(h [B, out], c [B, H] or None)``; ``state`` None: zeros like ``like``."""
    if state is not None:
        return fused_plan.spec.to_kernel(state)
    assert like is not None
    batch = like.shape[1 if time_major else 0]
    return [
        (
            like.new_zeros(batch, layer.out),
            like.new_zeros(batch, layer.hidden) if layer.mode == "LSTM" else None,
        )
        for layer in fused_plan.spec.layers
    ]


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


# A kernel call over (x, batch_sizes, per-layer (h, c), batch_first, dropout masks laid out like x)
# -> (outputs, per-layer final (h, c)).
KernelCall = Callable[
    [torch.Tensor, "torch.Tensor | None", list[KernelState], bool, list[torch.Tensor]],
    tuple[torch.Tensor, list[KernelState]],
]


def _stack(states: list[Any]) -> torch.Tensor:
    """The kernels' ``[num_layers, B, size]`` states; one layer is a view, not a copy."""
    return states[0].unsqueeze(0) if len(states) == 1 else torch.stack(states)


def kernel_call(
    mode: str,
    x: torch.Tensor,
    batch_sizes: torch.Tensor | None,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    weights: list[torch.Tensor],
    num_layers: int,
    bidirectional: bool,
    batch_first: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """torch's kernel for ``mode`` (``FusedLayer.mode``): ``(outputs, h_n, c_n or None)``; ``h0``/``c0`` are
    ``[num_layers * directions, B, size]``, ``weights`` the layers' in torch's order."""
    if mode == "LSTM":
        assert c0 is not None
        if batch_sizes is None:
            return _VF.lstm(
                x, (h0, c0), weights, True, num_layers, 0.0, False, bidirectional, batch_first
            )
        return _VF.lstm(
            x, batch_sizes, (h0, c0), weights, True, num_layers, 0.0, False, bidirectional
        )
    fn = {"GRU": _VF.gru, "RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu}[mode]
    if batch_sizes is None:
        out, h_n = fn(x, h0, weights, True, num_layers, 0.0, False, bidirectional, batch_first)
    else:
        out, h_n = fn(x, batch_sizes, h0, weights, True, num_layers, 0.0, False, bidirectional)
    return out, h_n, None


def layer_weights(layers: Sequence[FusedLayer]) -> tuple[list[torch.Tensor], list[Any]]:
    """``(the layers' weights in order, keep)``: from ``kernel_weights`` where a layer offers it, valid while the
    caller holds ``keep`` (NOTE [pooled kernel weights], cells/fused_spec.py); otherwise ``weights()``."""
    weights: list[torch.Tensor] = []
    keep: list[Any] = []
    for layer in layers:
        if layer.kernel_weights is None:
            weights += layer.weights()
        else:
            some, held = layer.kernel_weights()
            weights += some
            keep.append(held)
    return weights, keep


def _call_group(
    group: list[FusedLayer],
    x: torch.Tensor,
    batch_sizes: torch.Tensor | None,
    hcs: list[KernelState],
    batch_first: bool,
    bidirectional: bool = False,
) -> tuple[torch.Tensor, list[KernelState]]:
    """One kernel call over ``group`` (layers; for bidirectional, ``[fw, bw]`` of one layer); dropout runs
    between calls, in ``_run_stack``.

    ``x`` is ``[B, T, D]`` / ``[T, B, D]``, or packed data ``[N, D]`` with ``batch_sizes``; ``hcs`` the per-layer
    initial ``(h, c)`` (already in packed order). Returns the outputs and the per-layer final ``(h, c)``.
    """
    weights, keep = layer_weights(group)  # (keep: held until the kernel call has returned)
    num_layers = 1 if bidirectional else len(group)
    h0 = _stack([h for h, _ in hcs])
    mode = group[0].mode
    c0 = _stack([c for _, c in hcs if c is not None]) if mode == "LSTM" else None
    with _quiet_kernel_notes(bool(group[0].proj) or x.is_cuda):
        out, h_n, c_n = kernel_call(
            mode, x, batch_sizes, h0, c0, weights, num_layers, bidirectional, batch_first
        )
    del weights, keep  # (the kernel has returned: pooled weights may go back to the pool)
    return out, layer_states(h_n, c_n)


def layer_states(h_n: torch.Tensor, c_n: torch.Tensor | None) -> list[KernelState]:
    """A kernel's final ``h_n`` / ``c_n [layers * directions, B, size]`` as one ``(h, c)`` per layer and
    direction. (One by indexing: cheaper than unbinding, on every call of a leaf cell's fast path.)"""
    if h_n.shape[0] == 1:
        return [(h_n[0], None if c_n is None else c_n[0])]
    if c_n is None:
        return [(h, None) for h in h_n.unbind(0)]
    return list(zip(h_n.unbind(0), c_n.unbind(0)))


def _run_stack(
    fused_plan: FusedPlan,
    x: torch.Tensor,
    batch_sizes: torch.Tensor | None,
    hcs: list[KernelState],
    batch_first: bool,
    masks: Sequence[torch.Tensor] = (),
) -> tuple[torch.Tensor, list[KernelState]]:
    """The stack's kernel calls, with its dropout (``masks``, order of ``dropout.dropouts``) between them."""
    final: list[KernelState] = []
    start = 0
    pending = iter(masks)
    for group in groups(fused_plan.spec.layers):
        for drop in group[0].input_dropout:
            x = dropout.apply(x, drop.keep, next(pending))
        x, group_final = _call_group(
            group, x, batch_sizes, hcs[start : start + len(group)], batch_first
        )
        for drop in group[-1].output_dropout:
            x = dropout.apply(x, drop.keep, next(pending))
        final.extend(group_final)
        start += len(group)
    return x, final


def _permute_hcs(hcs: list[KernelState], index: torch.Tensor) -> list[KernelState]:
    return [
        (h.index_select(0, index), None if c is None else c.index_select(0, index)) for h, c in hcs
    ]


def _run_lengths(
    call: KernelCall,
    inputs: torch.Tensor,
    hcs: list[KernelState],
    sequence_length: torch.Tensor | None,
    time_major: bool,
    masks: Sequence[torch.Tensor] = (),
) -> tuple[torch.Tensor, list[KernelState]]:
    """Apply ``call(x, batch_sizes, hcs, batch_first, masks) -> (out, final hcs)`` with TF's sequence_length
    rule (``masks``: laid out like ``inputs``, packed with them).

    Without lengths (or all full) the padded tensor goes straight in. Otherwise through a packed sequence, which
    holds only the steps within each row's length (padding never reaches the kernel); packed sequences need
    lengths >= 1, so rows of length 0 run one step on zeroed inputs and are then replaced by zero outputs and
    their initial state (``torch.where``: nothing flows back through that step).
    """
    batch_axis = 1 if time_major else 0
    time = inputs.shape[1 - batch_axis]
    if sequence_length is None or bool((sequence_length == time).all()):
        return call(inputs, None, hcs, not time_major, list(masks))
    lengths_cpu = sequence_length.cpu()
    any_empty = bool((lengths_cpu == 0).any())
    if any_empty:
        # NOTE [padding never reaches the gradient] (unroll/_loop.py): the step run for an empty row reads zeros.
        empty = sequence_length == 0
        zero = torch.zeros((), dtype=inputs.dtype, device=inputs.device)
        inputs = where_rows(empty, zero, inputs, batch_axis)
    pack = functools.partial(
        pack_padded_sequence,
        lengths=lengths_cpu.clamp(min=1),
        batch_first=not time_major,
        enforce_sorted=False,
    )
    packed = pack(inputs)
    # enforce_sorted=False: the packed sequence always carries its permutations.
    sorted_indices, unsorted_indices = packed.sorted_indices, packed.unsorted_indices
    assert sorted_indices is not None and unsorted_indices is not None
    packed_masks = [pack(m).data for m in masks]  # the same lengths: the same packed order
    hcs_sorted = _permute_hcs(hcs, sorted_indices)
    data, final = call(packed.data, packed.batch_sizes, hcs_sorted, False, packed_masks)
    out, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, sorted_indices, unsorted_indices),
        batch_first=not time_major,
        total_length=time,
    )
    final = _permute_hcs(final, unsorted_indices)
    if any_empty:
        out = where_rows(
            empty, torch.zeros((), dtype=out.dtype, device=out.device), out, batch_axis
        )
        final = [
            (
                where_rows(empty, h0, h),
                None if c is None or c0 is None else where_rows(empty, c0, c),
            )
            for (h0, c0), (h, c) in zip(hcs, final)
        ]
    return out, final


def run_fused(
    fused_plan: FusedPlan,
    inputs: torch.Tensor,
    state: Any,
    sequence_length: torch.Tensor | None,
    time_major: bool,
    masks: Sequence[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, Any]:
    """Run a fusable stack over checked ``inputs`` ``[B, T, D]`` (``[T, B, D]`` when ``time_major``).

    ``state`` is the checked initial state (nested like ``cell.state_size``; None: zeros), ``sequence_length`` an
    int64 ``[B]`` tensor in ``[0, T]`` or None. Returns ``(outputs [B, T, out] or [T, B, out], final_state)`` with
    the same values as the step loop (to float rounding). A stack with dropout draws its masks here
    (``fused/dropout.py``) unless given ``masks`` (``dropout.draw_masks``' result, cut to these steps).
    """
    fused_plan.cell.check_inputs(inputs.select(0 if time_major else 1, 0))  # checks and lazy build
    hcs = _kernel_states(fused_plan, state, inputs, time_major)
    if masks is None:
        masks = []
        if fused_plan.has_dropout:
            layers = fused_plan.spec.layers
            masks = dropout.draw_masks(layers, inputs, sequence_length, time_major)

    call: KernelCall = functools.partial(_run_stack, fused_plan)

    out, final = _run_lengths(call, inputs, hcs, sequence_length, time_major, masks)
    return out, fused_plan.spec.from_kernel(final)


def one_call_bidirectional(plan_fw: FusedPlan, plan_bw: FusedPlan) -> bool:
    """Whether one bidirectional kernel call can run both stacks: one layer each, same kind and sizes, no
    dropout (each direction draws its own masks)."""
    fw, bw = plan_fw.spec.layers, plan_bw.spec.layers
    if plan_fw.has_dropout or plan_bw.has_dropout:
        return False
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
        plan_fw.cell.check_inputs(x0)
        plan_bw.cell.check_inputs(x0)
        return _bidirectional_one_call(
            (plan_fw, plan_bw), inputs, (state_fw, state_bw), sequence_length, time_major
        )
    out_fw, final_fw = run_fused(plan_fw, inputs, state_fw, sequence_length, time_major)
    seq_axis = 1 - batch_axis
    reversed_inputs = reverse_sequence_unchecked(inputs, sequence_length, seq_axis, batch_axis)
    out_bw, final_bw = run_fused(plan_bw, reversed_inputs, state_bw, sequence_length, time_major)
    out_bw = reverse_sequence_unchecked(out_bw, sequence_length, seq_axis, batch_axis)
    return (out_fw, out_bw), (final_fw, final_bw)


def _bidirectional_one_call(
    plans: tuple[FusedPlan, FusedPlan],
    inputs: torch.Tensor,
    states: tuple[Any, Any],
    sequence_length: torch.Tensor | None,
    time_major: bool,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[Any, Any]]:
    """Both directions of one layer in one bidirectional kernel call (``plans``/``states``: ``(fw, bw)``)."""
    (plan_fw, plan_bw), (state_fw, state_bw) = plans, states
    group = [plan_fw.spec.layers[0], plan_bw.spec.layers[0]]
    hcs = _kernel_states(plan_fw, state_fw) + _kernel_states(plan_bw, state_bw)

    def call(
        x: torch.Tensor,
        sizes: torch.Tensor | None,
        initial: list[KernelState],
        first: bool,
        masks: Any,
    ) -> tuple[torch.Tensor, list[KernelState]]:
        # one_call_bidirectional plans have no dropout: masks is always empty here
        return _call_group(group, x, sizes, initial, first, bidirectional=True)

    out, final = _run_lengths(call, inputs, hcs, sequence_length, time_major)
    out_fw, out_bw = out.split(group[0].out, dim=-1)
    return (out_fw, out_bw), (
        plan_fw.spec.from_kernel(final[:1]),
        plan_bw.spec.from_kernel(final[1:]),
    )
