"""What the inputs of an unroll allow: whether they have the form a sequence kernel takes (one tensor, or a
``(times, inputs)`` pair), and whether the native loops can run on them here (device, dtype, autocast, traces)."""

from __future__ import annotations

from typing import Any

import torch

from ..cells.contrib.phased import PhasedLSTMCell
from . import native

__all__ = ["PAIRS", "inputs_reason", "native_reason", "time_major", "trace_reason"]

# The cells whose inputs are a (times, inputs) pair of sequences (each step's (time [B, 1], x [B, D])).
PAIRS = (PhasedLSTMCell,)


def inputs_reason(cls: type, like: Any) -> tuple[torch.Tensor | None, str | None]:
    """``(the tensor that decides the native loops' questions, None)`` for inputs of the form the kernel for
    ``cls`` takes (``like`` None: not known yet), else ``(None, why not)``."""
    if like is None or isinstance(like, torch.Tensor) and cls not in PAIRS:
        return like, None
    pair = isinstance(like, (tuple, list)) and len(like) == 2
    if cls in PAIRS and pair and all(isinstance(t, torch.Tensor) for t in like):
        return like[1], None
    if cls not in PAIRS:
        return None, "the inputs are nested (the kernel takes one [B, T, D] tensor)"
    return None, f"the kernel takes a (times, inputs) pair of sequences, got {type(like).__name__}"


def time_major(inputs: Any) -> Any:
    """``[B, T, ...]`` inputs (one tensor or a pair) as ``[T, B, ...]`` views."""
    if isinstance(inputs, torch.Tensor):
        return inputs.transpose(0, 1)
    return type(inputs)(t.transpose(0, 1) for t in inputs)


def _cpu_autocast() -> bool:
    try:
        return bool(torch.is_autocast_enabled("cpu"))
    except TypeError:  # torch < 2.4 takes no device here
        return bool(torch.is_autocast_cpu_enabled())


def _tracing() -> bool:
    compiling = getattr(torch.compiler, "is_compiling", lambda: False)
    return bool(torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or compiling())


def trace_reason() -> str | None:
    """Why no sequence kernel may run now, native or not: a trace or an export records the torch ops it sees, and
    a kernel's autograd Function would be recorded as one opaque Python call (an empty or failing ONNX graph)."""
    if _tracing():
        return "a trace or export is recording (it must see torch ops, not a sequence kernel's Function)"
    return None


def native_reason(like: torch.Tensor | None) -> str | None:
    """Why the native loops cannot run here, or cannot take these inputs (None: they can; without ``like`` only
    the machine is asked)."""
    if like is not None:
        # (is_cpu, not like.device: asked on every call, where making a device object costs ~20 us)
        if not like.is_cpu:
            return f"the native loops run on the CPU; the inputs are on {like.device}"
        if like.dtype not in (torch.float32, torch.float64):
            return f"the native loops take float32 and float64; the inputs are {like.dtype}"
        if _cpu_autocast():
            return "autocast is on (the native loops compute in the inputs' dtype)"
        if like.numel() == 0:
            return "the inputs are empty"
    if native.library() is None:
        return f"the native loops are not available: {native.unavailable_reason()}"
    return None
