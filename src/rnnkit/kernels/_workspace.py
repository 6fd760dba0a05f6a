"""Reused buffers for the native sequence kernels' saved activations.

Why: a kernel's forward fills a few ``[T, B, k H]`` buffers (megabytes). Fresh buffers of that size come from
``mmap`` and every page faults on first touch; at the mnist shape that cost about 2 ms of a 17 ms GRU training
pass (measured with glibc's mmap threshold raised, which removed it). So each kernel call *leases* its buffers:
the lease lives on the autograd context (or, without autograd, until the forward returns), and when it is
garbage the buffers go back to a small pool keyed by shape and dtype, for the next call.

Nothing the caller sees is a pool buffer: the kernels return copies (outputs, final states) and gradients in
fresh tensors, so a buffer is reused only once nothing can read it.
"""

from __future__ import annotations

import threading

import torch

__all__ = ["Lease", "lease", "row_stride"]

_KEEP_PER_KEY = (
    2  # a training loop's next forward runs while the previous graph (and its lease) is alive
)
_KEEP_BYTES = (
    256 * 2**20
)  # pool nothing bigger: a long sequence's buffers are then plain allocations

_lock = threading.Lock()
_free: dict[tuple, list[tuple[torch.Tensor, ...]]] = {}


class Lease:
    """``buffers``: the leased tensors (uninitialised); back in the pool when the lease is collected."""

    def __init__(self, key: tuple, buffers: tuple[torch.Tensor, ...], pooled: bool) -> None:
        self.key, self.buffers, self._pooled = key, buffers, pooled

    def __del__(self) -> None:
        if not self._pooled:
            return
        with _lock:
            free = _free.setdefault(self.key, [])
            if len(free) < _KEEP_PER_KEY:
                free.append(self.buffers)


def row_stride(columns: int) -> int:
    """``columns`` rounded up to a multiple of 16 elements: rows of the product buffers then start 64-byte
    aligned (float32), which made the ``[T*B, D+H]^T @ [T*B, kH]`` weight-gradient product about 25% faster at
    the mnist shape (MKL, D+H = 156: 4.3 ms at stride 156, 3.2 ms at stride 160)."""
    return -(-columns // 16) * 16


def lease(shapes: tuple[tuple[int, ...], ...], like: torch.Tensor) -> Lease:
    """Buffers of ``shapes`` with ``like``'s dtype and device: a pooled set when one is free, else new ones."""
    # Buffers made under torch.inference_mode() are inference tensors, which may not be written outside it: the
    # two kinds are pooled apart.
    key = (shapes, like.dtype, like.device, torch.is_inference_mode_enabled())
    with _lock:
        free = _free.get(key)
        if free:
            return Lease(key, free.pop(), True)
    buffers = tuple(like.new_empty(shape) for shape in shapes)
    size = sum(b.numel() for b in buffers) * like.element_size()
    return Lease(key, buffers, size <= _KEEP_BYTES)
