"""Argument checks shared by cells and unrolls, with the one message format:
``"<function>: expected <what>, got <what was received>"`` (TypeError for a wrong kind, ValueError for a wrong
value or shape)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_positive_int", "check_float_tensor", "describe", "to_torch_dtype"]


def describe(x: Any) -> str:
    """A short description of a received value for error messages."""
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"{type(x).__name__} {x!r}"


def check_positive_int(where: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where}: expected {name} to be a positive int, got {describe(value)}")
    if value <= 0:
        raise ValueError(f"{where}: expected {name} to be a positive int, got {value}")
    return value


def check_float_tensor(where: str, name: str, x: Any) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: expected {name} to be a torch.Tensor, got {describe(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{where}: expected {name} to be a floating-point tensor, got {x.dtype}")
    return x


_DTYPE_NAMES = {
    "float16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float": torch.float32,
    "float64": torch.float64,
    "double": torch.float64,
}


def to_torch_dtype(where: str, dtype: Any) -> torch.dtype | None:
    """Accept None, a torch dtype, a numpy dtype or a name ("float32"); return a floating torch dtype."""
    if dtype is None:
        return None
    if isinstance(dtype, torch.dtype):
        result = dtype
    else:
        name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
        result = _DTYPE_NAMES.get(str(name).replace("tf.", "").replace("torch.", ""))
        if result is None:
            raise TypeError(f"{where}: expected a floating dtype (e.g. torch.float32), got {dtype!r}")
    if not result.is_floating_point:
        raise TypeError(f"{where}: expected a floating dtype (e.g. torch.float32), got {result}")
    return result
