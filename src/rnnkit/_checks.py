"""Argument checks shared by cells and unrolls, with the one message format:
``"<function>: expected <what>, got <what was received>"`` (TypeError for a wrong kind, ValueError for a wrong
value or shape)."""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = [
    "autocast_enabled",
    "check_float_tensor",
    "check_initializer",
    "check_positive_int",
    "describe",
    "sequence_items",
    "tf_device_to_torch",
    "to_torch_device",
    "to_torch_dtype",
]


def autocast_enabled(device_type: str) -> bool:
    """``torch.is_autocast_enabled(device_type)``, False for device types autocast does not know (``meta``)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except RuntimeError:
        return False


_MAX_REPR = 60  # a received value's repr is cut here: a message must stay one readable line


def describe(x: Any) -> str:
    """A short, one-line description of a received value for error messages (never a whole array's repr)."""
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    if type(x).__module__ == "numpy" and hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"a numpy {x.dtype} array of shape {tuple(x.shape)}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    if isinstance(x, Mapping):
        return f"a {type(x).__name__} with keys {sorted(map(str, x))}"
    text = repr(x).replace("\n", " ")
    if len(text) > _MAX_REPR:
        text = text[: _MAX_REPR - 3] + "..."
    return f"{type(x).__name__} {text}"


def check_positive_int(where: str, name: str, value: Any) -> int:
    """Accept a positive integer (numpy integers too, as TF did); return it as a Python int.

    While ``torch.jit.trace`` records a model (``rk.export``), sizes read from tensor shapes are 0-d int64
    tensors; they are passed through so the exported graph keeps the size symbolic.
    """
    if isinstance(value, torch.Tensor) and value.dim() == 0 and torch.jit.is_tracing():
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: expected {name} to be a positive int, got {describe(value)}")
    if value <= 0:
        raise ValueError(f"{where}: expected {name} to be a positive int, got {value}")
    return int(value)


# TF1's device strings, as programs ported from TF spell them (tf.device("/gpu:0"), tensorflow/nmt's
# "/gpu:%d"): an optional "/job:localhost/replica:0/task:0" (this process), then "/device:TYPE:N" or "/TYPE:N".
_TF_DEVICE = re.compile(
    r"(?:/job:localhost)?(?:/replica:0)?(?:/task:0)?/(?:device:)?(cpu|gpu)(?::(\d+))?",
    re.IGNORECASE,
)
TF_DEVICE_EXAMPLES = "'/gpu:0', '/device:CPU:0', '/job:localhost/replica:0/task:0/device:GPU:1'"


def tf_device_to_torch(text: str) -> str | None:
    """The torch device name for a TF device string (``"/gpu:1"`` → ``"cuda:1"``, ``"/device:CPU:0"`` →
    ``"cpu"``), or None when ``text`` is not one. Another job, replica or task (a different process or machine in
    TF's distributed runtime) is not this process's device, so it is not recognised."""
    match = _TF_DEVICE.fullmatch(text)
    if match is None:
        return None
    kind, index = match.group(1).lower(), match.group(2)
    if kind == "cpu":
        return "cpu"  # torch has one CPU device; TF's "/cpu:0" is it
    return f"cuda:{int(index or 0)}"


def to_torch_device(where: str, device: Any) -> torch.device | None:
    """Accept None, a torch.device, a device string ("cuda:0", or TF's "/gpu:0") or an index; never leak
    torch's RuntimeError."""
    if device is None or isinstance(device, torch.device):
        return device
    if isinstance(device, str) and tf_device_to_torch(device) is not None:
        return torch.device(tf_device_to_torch(device))  # type: ignore[arg-type]
    if isinstance(device, (str, int)) and not isinstance(device, bool):
        try:
            return torch.device(device)
        except (RuntimeError, ValueError):
            pass
    raise ValueError(
        f"{where}: expected device to be a torch.device or a name like 'cpu' or 'cuda:0', got {device!r}"
    )


def check_initializer(where: str, name: str, value: Any) -> None:
    """An initialiser argument must be None or callable (called in place on the new tensor at build time); a
    number or a name would otherwise fail only then, far from the constructor call."""
    if value is not None and not callable(value):
        raise TypeError(
            f"{where}: expected {name} to be None or a callable that fills a tensor in place "
            f"(e.g. torch.nn.init.orthogonal_), got {describe(value)}"
        )


def sequence_items(value: Any) -> list[Any] | None:
    """The items of a list, tuple, ``nn.ModuleList`` or other sequence (never a str, bytes or tensor) as a
    list; None for anything else."""
    if isinstance(value, (str, bytes, torch.Tensor)):
        return None
    if isinstance(value, (Sequence, torch.nn.ModuleList)):
        return list(value)
    return None


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
    result: torch.dtype | None
    if isinstance(dtype, torch.dtype):
        result = dtype
    else:
        name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
        result = _DTYPE_NAMES.get(str(name).replace("tf.", "").replace("torch.", ""))
        if result is None:
            raise TypeError(
                f"{where}: expected a floating dtype (e.g. torch.float32), got {dtype!r}"
            )
    if not result.is_floating_point:
        raise TypeError(f"{where}: expected a floating dtype (e.g. torch.float32), got {result}")
    return result
