"""The fused LSTM's TF -> torch weight re-layout and its gradient in C (``native/layout_real.h``), installed into
``rnnkit.cells.lstm_layout`` (NOTE [native re-layout]) when ``rnnkit.kernels`` is imported.

Both take and return CPU float32 / float64 tensors; anything else, or a machine without the native library,
answers None and the cells' torch ops run. The results are new contiguous tensors, as the torch ops give.
"""

from __future__ import annotations

import torch

from .native import call, library

__all__ = ["NativeLstmLayout"]

_REAL = (torch.float32, torch.float64)


def _native_ready(*tensors: torch.Tensor) -> bool:
    first = tensors[0]
    if first.dtype not in _REAL or first.device.type != "cpu":
        return False
    if any(t.dtype != first.dtype or t.device.type != "cpu" for t in tensors):
        return False
    return library() is not None


class NativeLstmLayout:
    """``rnnkit.cells.lstm_layout.NativeLayout`` in C."""

    def to_torch(
        self, kernel: torch.Tensor, bias: torch.Tensor, input_size: int, forget: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """``kernel [D+P, 4H]``, ``bias [4H]``, ``forget [4H]`` -> ``(w_ih [4H, D], w_hh [4H, P], b_ih [4H])``."""
        rows, gates = kernel.shape
        if not _native_ready(kernel, bias, forget) or not 0 < input_size < rows:
            return None
        kernel, bias, forget = kernel.contiguous(), bias.contiguous(), forget.contiguous()
        w_ih, w_hh = kernel.new_empty(gates, input_size), kernel.new_empty(gates, rows - input_size)
        b_ih = kernel.new_empty(gates)
        call(
            "lstm_to_torch", kernel,
            input_size, rows - input_size, gates // 4, kernel.data_ptr(), bias.data_ptr(), forget.data_ptr(),
            w_ih.data_ptr(), w_hh.data_ptr(), b_ih.data_ptr(),
        )  # fmt: skip
        return w_ih, w_hh, b_ih

    def to_tf(
        self, d_ih: torch.Tensor, d_hh: torch.Tensor, d_bias: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(d_w_ih [4H, D], d_w_hh [4H, P], d_b_ih [4H])`` -> ``(d_kernel [D+P, 4H], d_bias [4H])``."""
        if not _native_ready(d_ih, d_hh, d_bias):
            return None
        d_ih, d_hh, d_bias = d_ih.contiguous(), d_hh.contiguous(), d_bias.contiguous()
        gates, depth = d_ih.shape
        proj = d_hh.shape[1]
        d_kernel, d_tf_bias = d_ih.new_empty(depth + proj, gates), d_ih.new_empty(gates)
        call(
            "lstm_grad_to_tf", d_ih,
            depth, proj, gates // 4, d_ih.data_ptr(), d_hh.data_ptr(), d_bias.data_ptr(),
            d_kernel.data_ptr(), d_tf_bias.data_ptr(),
        )  # fmt: skip
        return d_kernel, d_tf_bias
