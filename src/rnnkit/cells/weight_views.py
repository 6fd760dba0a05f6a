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

__all__ = ["active_views", "shared_weight_views"]

_WEIGHT_VIEWS: contextvars.ContextVar[dict[tuple[int, str], torch.Tensor] | None] = (
    contextvars.ContextVar("rnnkit_weight_views", default=None)
)


# Whether a compiler (torch.compile, torch.export) is tracing: it dedupes the slices itself, and it cannot trace
# a ContextVar, so the memo is skipped then. torch.compiler.is_compiling exists from torch 2.3.
_compiling = getattr(torch.compiler, "is_compiling", lambda: False)


@contextlib.contextmanager
def shared_weight_views() -> Iterator[None]:
    """Within the block, ``LayerCell._recurrent_rows`` makes each parameter slice once (see the module NOTE)."""
    if _compiling():
        yield
        return
    token = _WEIGHT_VIEWS.set({})
    try:
        yield
    finally:
        _WEIGHT_VIEWS.reset(token)


def active_views() -> dict[tuple[int, str], torch.Tensor] | None:
    """The memo of the innermost ``shared_weight_views`` block (None outside one, or while a compiler traces):
    ``(id(cell), parameter name) -> view``, filled by ``LayerCell._recurrent_rows``."""
    return None if _compiling() else _WEIGHT_VIEWS.get()
