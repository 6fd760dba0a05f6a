"""The argument checks of ``kernels.conv_lstm_sequence``: clear errors before any convolution sees a bad shape."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_conv_lstm_args"]


def check_conv_lstm_args(x: Any, kernel: Any, biases: Any, c0: Any, h0: Any) -> tuple[int, ...]:
    """The window ``k`` of a valid call; raises a clear error otherwise (before any convolution sees it)."""
    where = "conv_lstm_sequence"
    for name, t in (("x", x), ("kernel", kernel), ("c0", c0), ("h0", h0), ("biases", biases)):
        if t is None and name == "biases":
            continue
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            got = type(t).__name__ if not isinstance(t, torch.Tensor) else f"a {t.dtype} tensor"
            raise TypeError(f"{where}: expected {name} as a floating-point tensor, got {got}")
        if t.dtype != x.dtype or t.device != x.device:
            raise TypeError(
                f"{where}: expected {name} as {x.dtype} on {x.device} like x, got {t.dtype} on {t.device}"
            )
    if x.dim() not in (4, 5, 6) or x.numel() == 0:
        raise ValueError(
            f"{where}: expected non-empty x [T, B, *S, C] with 1 to 3 spatial dimensions, got {list(x.shape)}"
        )
    n, (_, batch, *spatial, depth) = x.dim() - 3, x.shape
    units = c0.shape[-1] if c0.dim() == n + 2 else -1
    state = [batch, *spatial, units]
    if units < 1 or list(c0.shape) != state or list(h0.shape) != state:
        raise ValueError(
            f"{where}: expected c0 and h0 [B, *S, K] = [{batch}, {', '.join(map(str, spatial))}, K], got "
            f"{list(c0.shape)} and {list(h0.shape)}"
        )
    if kernel.dim() != n + 2 or list(kernel.shape[-2:]) != [depth + units, 4 * units]:
        raise ValueError(
            f"{where}: expected kernel [*k ({n} ints), C+K={depth + units}, 4K={4 * units}], got "
            f"{list(kernel.shape)}"
        )
    if biases is not None and list(biases.shape) != [4 * units]:
        raise ValueError(f"{where}: expected biases [4K] = [{4 * units}], got {list(biases.shape)}")
    return tuple(kernel.shape[:n])
