"""The fused LSTM's TF -> torch weight re-layout and its gradient in C (``native/layout_real.h``), installed into
``rnnkit.cells.lstm_layout`` (NOTE [native re-layout]) when ``rnnkit.kernels`` is imported.

Both take and return CPU float32 / float64 tensors; anything else, or a machine without the native library,
answers None and the cells' torch ops run. The results are new contiguous tensors, as the torch ops give, or,
when the fused path asks for it, buffers leased from a pool (NOTE [pooled kernel weights], cells/fused_spec.py).

Both run on every fused training step (``to_torch`` on every CPU inference call too), right after a large kernel
call has pushed the interpreter out of the caches, where each Python-level check costs several times its
tight-loop time (in the mnist training step the backward's ``library()`` and dtype checks took 52 us, its C call
84). So the C functions are looked up once per dtype, and a call checks only what it must: dtypes, the CPU,
contiguity.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from . import _workspace
from .native import library

__all__ = ["NativeLstmLayout"]

_REAL = (torch.float32, torch.float64)
# Kernels from these sizes up are re-laid out into pooled buffers when the caller asks for a lease (``_shuffle``;
# NOTE [pooled kernel weights], cells/fused_spec.py). While recording: from 1 MB. Below it new tensors cost nothing
# measurable (the mnist kernel's 320 KB), while the lease's Python cost 40-70 us there. In a no-grad call: from
# 32 MB, the largest block glibc's malloc ever serves from its heap (a bigger one is mapped afresh each time, and
# every page faults: 16,352 faults and 43 ms of a 208 ms call at H=1024). Below that, a loop of no-grad calls
# finds its last weights' blocks free in the heap, mapped (and probably still in cache), and ran 0.15-0.4 ms
# faster than from the pool (ptb's 2 x LSTM(200), 1 thread; 0 faults either way).
_LEASE_MIN_BYTES = 2**20
_INFERENCE_LEASE_MIN_BYTES = 2**25
# (not a subclass such as a FakeTensor or a wrapper, whose memory may not be its values)
_PLAIN = (torch.Tensor, torch.nn.Parameter)


def _shuffle(
    fn: Any,
    kernel: torch.Tensor,
    bias: torch.Tensor,
    input_size: int,
    forget: torch.Tensor,
    lease_from: float = math.inf,
) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], Any]:
    """The C forward shuffle of contiguous CPU parameters of one dtype: ``((w_ih, w_hh, b_ih), keep)``, in new
    tensors (``keep`` None) or, for a kernel of ``lease_from`` bytes or more, in buffers leased from the sequence
    kernels' pool (``keep``: the lease; the weights are the holder's only while it lives)."""
    rows, gates = kernel.shape
    lease = None
    if kernel.numel() * kernel.element_size() >= lease_from:
        lease = _workspace.lease(
            ((gates, input_size), (gates, rows - input_size), (gates,)), kernel
        )
        w_ih, w_hh, b_ih = lease.buffers
    else:
        w_ih, w_hh = kernel.new_empty(gates, input_size), kernel.new_empty(gates, rows - input_size)
        b_ih = kernel.new_empty(gates)
    fn(
        input_size, rows - input_size, gates // 4, kernel.data_ptr(), bias.data_ptr(), forget.data_ptr(),
        w_ih.data_ptr(), w_hh.data_ptr(), b_ih.data_ptr(), torch.get_num_threads(),
    )  # fmt: skip
    return (w_ih, w_hh, b_ih), lease


class NativeLstmLayout:
    """``rnnkit.cells.lstm_layout.NativeLayout`` in C."""

    def __init__(self) -> None:
        # dtype -> (lstm_to_torch, lstm_grad_to_tf) ctypes functions; None: no native library
        self._fns: dict[torch.dtype, tuple[Any, Any] | None] = {}

    def _functions(self, dtype: torch.dtype) -> tuple[Any, Any] | None:
        fns = self._fns.get(dtype, False)
        if fns is False:
            native = library() if dtype in _REAL else None
            fns = None if native is None else (
                native.fn("lstm_to_torch", dtype), native.fn("lstm_grad_to_tf", dtype)
            )  # fmt: skip
            self._fns[dtype] = fns
        return fns  # type: ignore[return-value]

    def accepts(self, kernel: torch.Tensor) -> bool:
        """Whether ``to_torch`` runs for a kernel of this dtype and device (the library present)."""
        return kernel.is_cpu and self._functions(kernel.dtype) is not None

    def to_torch(
        self,
        kernel: torch.Tensor,
        bias: torch.Tensor,
        input_size: int,
        forget: torch.Tensor,
        leased: bool = False,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], Any] | None:
        """``kernel [D+P, 4H]``, ``bias [4H]``, ``forget [4H]`` -> ``((w_ih [4H, D], w_hh [4H, P], b_ih [4H]),
        keep)``; ``leased``: a kernel of ``_LEASE_MIN_BYTES`` or more goes into pooled buffers, and ``keep`` is
        their lease (else None: new tensors)."""
        dtype = kernel.dtype
        fns = self._functions(dtype)
        rows, gates = kernel.shape
        if (
            fns is None
            or not (kernel.is_cpu and bias.is_cpu and forget.is_cpu)
            or bias.dtype != dtype
            or forget.dtype != dtype
            or bias.shape != (gates,)
            or forget.shape != (gates,)
            or not 0 < input_size < rows
        ):
            return None
        kernel, bias, forget = kernel.contiguous(), bias.contiguous(), forget.contiguous()
        lease_from = _LEASE_MIN_BYTES if leased else math.inf
        return _shuffle(fns[0], kernel, bias, input_size, forget, lease_from)

    def inference(
        self,
        kernel: torch.Tensor,
        bias: torch.Tensor,
        input_size: int,
        forget: torch.Tensor,
        zero: torch.Tensor,
        leased: bool = False,
    ) -> tuple[list[torch.Tensor], Any] | None:
        """``([w_ih, w_hh, b_ih, zero], keep)``: ``to_torch`` for a no-grad call on plain contiguous CPU
        parameters, with torch's zero ``bias_hh`` appended (NOTE [lean re-layout]). ``forget`` and ``zero``: the
        caller's cached CPU constants of the kernel's dtype. None for anything else, which ``to_torch`` then
        takes or refuses.

        ``leased``: as ``to_torch``'s, from ``_INFERENCE_LEASE_MIN_BYTES``."""
        fns = self._fns.get(kernel.dtype)  # (filled by the first call's accepts / to_torch)
        if (
            not fns
            or type(kernel) not in _PLAIN
            or type(bias) not in _PLAIN
            or not kernel.is_cpu
            or not bias.is_cpu
            or bias.dtype is not kernel.dtype
            or not kernel.is_contiguous()
            or not bias.is_contiguous()
        ):
            return None
        rows, gates = kernel.shape
        if bias.shape != (gates,) or not 0 < input_size < rows:
            return None
        lease_from = _INFERENCE_LEASE_MIN_BYTES if leased else math.inf
        weights, keep = _shuffle(fns[0], kernel, bias, input_size, forget, lease_from)
        return [*weights, zero], keep

    def to_tf(
        self, d_ih: torch.Tensor, d_hh: torch.Tensor, d_bias: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(d_w_ih [4H, D], d_w_hh [4H, P], d_b_ih [4H])`` -> ``(d_kernel [D+P, 4H], d_bias [4H])``."""
        dtype = d_ih.dtype
        fns = self._functions(dtype)
        if (
            fns is None
            or not (d_ih.is_cpu and d_hh.is_cpu and d_bias.is_cpu)
            or d_hh.dtype != dtype
            or d_bias.dtype != dtype
        ):
            return None
        d_ih, d_hh, d_bias = d_ih.contiguous(), d_hh.contiguous(), d_bias.contiguous()
        gates, depth = d_ih.shape
        proj = d_hh.shape[1]
        d_kernel, d_tf_bias = d_ih.new_empty(depth + proj, gates), d_ih.new_empty(gates)
        fns[1](
            depth, proj, gates // 4, d_ih.data_ptr(), d_hh.data_ptr(), d_bias.data_ptr(),
            d_kernel.data_ptr(), d_tf_bias.data_ptr(), torch.get_num_threads(),
        )  # fmt: skip
        return d_kernel, d_tf_bias
