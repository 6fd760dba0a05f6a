"""NOTE [fused weights cache]: outside autograd recording (inference, no_grad) the weights a fused LSTM kernel
gets in torch's layout are kept between calls, and reused only while the TF-layout parameters they were made from
still hold exactly the same values.

Why a cache: re-laying out the weights on every no-grad call cost 3-5% of an mnist-shape call, and a kernel call
that finds its weights where oneDNN left them is faster (``benchmarks/bench_call_overhead.py``).

Why values, not versions: a write through ``.data`` (the hand-written SGD step of PyTorch's own examples and of
ports of ptb_word_lm) bumps no version counter, and ``cell.double()`` / ``.to(device)`` replace the data under the
same parameter objects. Keyed by versions, the cache served the old weights silently, or failed on a dtype
mismatch (found in round two's fifth stop). So each entry keeps a snapshot of the parameters beside the weights,
and a lookup compares the parameters with it bit for bit: C's ``memcmp`` for contiguous CPU memory (about 7 µs
for the mnist kernel, a tenth of a re-layout), ``torch.equal`` elsewhere. The price is one more copy of each
fused LSTM's parameters while it is used for inference.

Where: only where the C re-layout cannot run (NOTE [native re-layout]: another device than the CPU, a machine
without a C compiler). Where it runs, it is cheaper than this cache's check: in the mnist inference call, 1 / 2
threads, a hit cost 143 / 118 us over the kernel with fixed weights and the C re-layout 64 / 80 us (round two's
seventh stop), as the check reads the parameters and their snapshot, cache-cold, and the C loops' AVX transposes
read the parameters once. So a CPU float kernel keeps no entry, and no snapshot.

Why the lookup is lean: it runs between two ~7 ms kernel calls, where interpreter code and data have left the
caches and Python costs 2-3x its tight-loop time; the hit path checks only what decides exactness (the same
parameter objects, the same options, the same dtype / device / shape / bits). An entry leaves with its kernel
parameter (a weak reference).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import weakref
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["cached_weights", "keep_weights"]


class _Entry:
    """The kept weights of one kernel parameter, with what they were made from."""

    __slots__ = ("kernel", "options", "params", "snapshots", "weights")

    def __init__(
        self,
        kernel: weakref.ref,
        options: tuple[Any, ...],
        params: tuple[torch.Tensor | None, ...],
        snapshots: tuple[tuple[torch.Tensor, int, int], ...],
        weights: list[torch.Tensor],
    ) -> None:
        self.kernel = kernel  # a weak reference: the cache never keeps a cell's parameters alive
        self.options = (
            options  # what the re-layout read besides the parameters (forget_bias, input size)
        )
        self.params = (
            params  # the other parameters (bias, projection or None), compared by identity
        )
        self.snapshots = (
            snapshots  # per non-None parameter: (copy, its data pointer, its size in bytes)
        )
        self.weights = weights


_ENTRIES: dict[int, _Entry] = {}  # id(kernel) -> entry


def _load_memcmp() -> Any:
    try:
        memcmp = ctypes.CDLL(ctypes.util.find_library("c")).memcmp
    except (OSError, AttributeError, TypeError):
        return None
    memcmp.argtypes, memcmp.restype = (
        [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t],
        ctypes.c_int,
    )
    return memcmp


_MEMCMP = _load_memcmp()


def _same_bits(p: torch.Tensor, snapshot: tuple[torch.Tensor, int, int]) -> bool:
    """Whether ``p`` holds exactly its snapshot's values, in the snapshot's dtype, shape and device."""
    copy, address, size = snapshot
    if p.dtype is not copy.dtype or p.shape != copy.shape:
        return False
    if _MEMCMP is not None and p.is_cpu and copy.is_cpu and p.is_contiguous():
        return bool(_MEMCMP(p.data_ptr(), address, size) == 0)
    return p.device == copy.device and bool(torch.equal(p, copy))


def cached_weights(
    kernel: torch.Tensor, params: Sequence[torch.Tensor | None], options: tuple[Any, ...]
) -> list[torch.Tensor] | None:
    """The weights kept for ``kernel`` when they are still exact for ``kernel``, the other parameters ``params``
    (the same objects) and ``options``; else None. The caller decides that the call may use a cache at all (not
    recording, not tracing)."""
    entry = _ENTRIES.get(id(kernel))
    if entry is None or entry.kernel() is not kernel or entry.options != options:
        return None
    for p, q in zip(params, entry.params):
        if p is not q:
            return None
    snapshots = entry.snapshots
    if not _same_bits(kernel, snapshots[0]):
        return None
    others = [p for p in params if p is not None]
    for p, snapshot in zip(others, snapshots[1:]):
        if not _same_bits(p, snapshot):
            return None
    return entry.weights


def keep_weights(
    kernel: torch.Tensor,
    params: Sequence[torch.Tensor | None],
    options: tuple[Any, ...],
    weights: list[torch.Tensor],
) -> None:
    """Keep ``weights`` (made outside autograd from ``kernel`` and ``params`` with ``options``) for later calls."""
    snapshots = []
    for p in (kernel, *params):
        if p is not None:
            copy = p.detach().clone(memory_format=torch.contiguous_format)
            snapshots.append((copy, copy.data_ptr(), copy.numel() * copy.element_size()))
    ident = id(kernel)
    ref = weakref.ref(kernel, lambda _: _ENTRIES.pop(ident, None))
    _ENTRIES[ident] = _Entry(ref, options, tuple(params), tuple(snapshots), weights)
