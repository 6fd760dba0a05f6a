"""NOTE [one weight view per unroll]: a step's ``h @ kernel[D:]`` slices the kernel; every slice made inside
autograd adds a full-size zero-padded gradient to ``kernel`` in backward (SliceBackward), so slicing at each of T
steps costs T kernel-sized allocations and adds. Inside ``shared_weight_views()`` (the step loop opens it around
one unroll) a cell's slice is made once and reused by every step; outside it (a single call) it is made per call.
The views live exactly as long as the block, never longer than one forward graph.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch

__all__ = ["recurrent_rows", "shared_weight_views"]

_WEIGHT_VIEWS: contextvars.ContextVar[dict[tuple[int, int], torch.Tensor] | None] = (
    contextvars.ContextVar("rnnkit_weight_views", default=None)
)


def _compiling() -> bool:
    """Whether a compiler (torch.compile, torch.export) is tracing: it dedupes the slices itself, and it cannot
    trace a ContextVar, so the memo is skipped then."""
    is_compiling = getattr(torch.compiler, "is_compiling", None)  # torch >= 2.3
    return bool(is_compiling is not None and is_compiling())


@contextlib.contextmanager
def shared_weight_views() -> Iterator[None]:
    """Within the block, ``recurrent_rows`` makes each parameter slice once (see the module NOTE)."""
    if _compiling():
        yield
        return
    token = _WEIGHT_VIEWS.set({})
    try:
        yield
    finally:
        _WEIGHT_VIEWS.reset(token)


def recurrent_rows(param: torch.Tensor, start: int) -> torch.Tensor:
    """``param[start:]``, made once per ``shared_weight_views`` block."""
    views = None if _compiling() else _WEIGHT_VIEWS.get()
    if views is None:
        return param[start:]
    key = (id(param), start)
    view = views.get(key)
    if view is None:
        view = views[key] = param[start:]
    return view
