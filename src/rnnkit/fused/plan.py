"""Which cells torch's fused kernels compute exactly, and why not when they don't; the unrolls' choice.

Everything here reads the public contract only: ``cell.fused_spec()`` (a ``FusedSpec`` or a reason) and the
cell's forward hooks (a fused kernel would skip them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from .._checks import autocast_enabled
from ..cells.base import RNNCell
from ..cells.fused_spec import FusedLayer, FusedSpec, hooks_reason
from ..kernels import kernel_for

logger = logging.getLogger("rnnkit.fused")

_KERNELS = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


@dataclass(frozen=True)
class FusedPlan:
    """A cell that the fused kernels compute, with its spec."""

    cell: RNNCell
    spec: FusedSpec

    @property
    def has_dropout(self) -> bool:
        """Whether dropout runs between the kernel calls (``DropoutWrapper`` in train mode)."""
        return any(layer.input_dropout or layer.output_dropout for layer in self.spec.layers)

    def describe(self) -> str:
        parts = []
        for group in groups(self.spec.layers):
            parts += [f"input dropout (keep {d.keep:g})" for d in group[0].input_dropout]
            mode, hidden, proj = group[0].key
            kernel = _KERNELS[mode]
            extra = f", proj_size={proj}" if proj else ""
            parts.append(
                f"torch._VF.{kernel}(num_layers={len(group)}, hidden_size={hidden}{extra})"
            )
            parts += [f"output dropout (keep {d.keep:g})" for d in group[-1].output_dropout]
        return " + ".join(parts)


def make_plan(cell: Any) -> tuple[FusedPlan | None, str]:
    """Return ``(plan, "")`` when torch's fused kernels compute ``cell`` exactly, else ``(None, reason)``."""
    if not isinstance(cell, RNNCell):
        return None, f"{type(cell).__name__} is not an rnnkit cell"
    spec = hooks_reason(cell) or cell.fused_spec()
    if isinstance(spec, str):
        return None, spec
    return FusedPlan(cell, spec), ""


def fusable(cell: Any) -> bool:
    """Whether ``dynamic_rnn(cell, x)`` takes the fused path in auto mode (for one ``[B, T, D]`` input tensor)."""
    return make_plan(cell)[0] is not None


def explain(
    cell: Any, *, swap_memory: bool = False, reset: bool = False, return_all_states: bool = False
) -> str:
    """Say which path ``dynamic_rnn(cell, x, ...)`` takes (for one ``[B, T, D]`` input tensor) and why.

    The keywords are ``dynamic_rnn``'s options that change the path: ``swap_memory`` (fusable stacks and cells
    with a sequence kernel run in recomputed chunks, ``rnnkit._recompute``; other cells the checkpointed step
    loop), ``reset`` (given a mask) and ``return_all_states`` (both need the step
    loop: the kernels neither restart single rows nor return every step's state).

    >>> import rnnkit as rk
    >>> print(rk.fused.explain(rk.MultiRNNCell([rk.BasicLSTMCell(8), rk.BasicLSTMCell(8)])))
    fused: torch._VF.lstm(num_layers=2, hidden_size=8)
    >>> print(rk.fused.explain(rk.LSTMCell(8, use_peepholes=True, num_proj=4)))
    step loop: LSTMCell uses peepholes, which torch's fused LSTM lacks; no sequence kernel: num_proj (the kernel
    has no projection)
    >>> print(rk.fused.explain(rk.BasicLSTMCell(8), reset=True))
    step loop: reset= restarts single rows, which no fused or sequence kernel does
    """
    layer_explain = getattr(cell, "explain", None)
    if not isinstance(cell, RNNCell) and callable(layer_explain):
        # sequence layers (LSTMBlockFusedCell, CudnnLSTM...) say it themselves
        return str(layer_explain())
    if reset or return_all_states:
        what = (
            "reset= restarts single rows"
            if reset
            else "return_all_states=True keeps every step's state"
        )
        return f"step loop: {what}, which no fused or sequence kernel does"
    fused_plan, reason = make_plan(cell)
    if fused_plan is None:
        kernel, why = kernel_for(cell)
        if kernel is not None and swap_memory:
            return f"{why}, in recomputed chunks of about 3*ceil(sqrt(T)) steps (swap_memory=True): {reason}"
        if swap_memory:
            return f"step loop with activation checkpointing (swap_memory=True): {reason}"
        if kernel is not None:
            return f"step loop as one sequence kernel, {why}: {reason}"
        known = not why.startswith("no sequence kernel for")
        return f"step loop: {reason}" + (f"; no sequence kernel: {why}" if known else "")
    if swap_memory:
        return (
            f"fused, in recomputed chunks of about 3*ceil(sqrt(T)) steps: {fused_plan.describe()}"
        )
    return f"fused: {fused_plan.describe()}"


def groups(layers: tuple[FusedLayer, ...]) -> list[list[FusedLayer]]:
    """Consecutive layers of one (mode, H, P) with no dropout between them: one kernel call each (torch's
    num_layers; its own inter-layer dropout is not TF's formula and ignores a wrapper's seed)."""
    result: list[list[FusedLayer]] = []
    for layer in layers:
        joined = not layer.input_dropout and result and not result[-1][-1].output_dropout
        if joined and result[-1][0].key == layer.key:
            result[-1].append(layer)
        else:
            result.append([layer])
    return result


def decide(where: str, cell: Any, inputs: Any, fused: Any) -> FusedPlan | None:
    """The unrolls' choice: a plan to run fused, or None for the step loop (``fused``: None auto / True / False).

    ``fused=True`` on a cell the kernels cannot compute raises ValueError with the reason. Every decision is
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
        fused_plan, reason = make_plan(cell)
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
