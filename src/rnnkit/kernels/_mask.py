"""The ``sequence_length`` rule as masks the sequence kernels fold into their arithmetic.

TF's rule (NOTE [sequence_length rule] in ``unroll/_loop.py``): at step ``t`` a row ``b`` with
``t >= lengths[b]`` outputs zeros and carries its state unchanged. In the kernels:

* forward: ``state = where(keep[t], new_state, state)`` at the steps where some row has ended, and the
  outputs ``Y * keep`` once at the end;
* backward: a carried row's step gets no gradient (its gate factors are multiplied by ``keep``) and its
  state gradient passes straight through (``d state_{t} += d state_{t+1} * (1 - keep[t])``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Masks", "masks", "trim", "keep_rows", "pad_steps", "stack_steps"]


@dataclass(frozen=True)
class Masks:
    """``keep [T, B, 1]`` (the inputs' dtype: 1.0 live, 0.0 carried), ``masked[t]``: whether step ``t`` has a
    carried row (only those steps pay for the masking), ``steps``: how many steps run (``max(lengths)``, at least
    one, at most ``T``: past every row's end TF runs no step and the outputs are zeros)."""

    keep: torch.Tensor
    masked: list[bool]
    steps: int


def masks(lengths: torch.Tensor | None, time: int, like: torch.Tensor) -> Masks | None:
    """The masks for ``lengths [B]`` (int64, each in ``[0, time]``); None when every row runs all ``time`` steps."""
    if lengths is None:
        return None
    listed = lengths.tolist()
    if min(listed) >= time:
        return None
    steps = min(time, max(1, max(listed)))
    live = torch.arange(steps, device=lengths.device)[:, None] < lengths[None, :]  # [steps, B]
    masked = [any(t >= n for n in listed) for t in range(steps)]
    return Masks(live.unsqueeze(-1).to(like.dtype), masked, steps)


def trim(
    x: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, Masks | None, torch.Tensor | None]:
    """``(x [:steps], masks, lengths as contiguous int64)`` for time-major ``x [T, ...]``: the steps past every
    row's end are not run (the caller pads its outputs back to ``T`` with zeros); lengths is None when no row ends
    early."""
    mk = masks(lengths, x.shape[0], x)
    if mk is None or lengths is None:
        return x, None, None
    return x[: mk.steps], mk, lengths.to(torch.int64).contiguous()


def keep_rows(mk: Masks | None, t: int, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """Step ``t``'s state in the torch-op recurrences: ``new`` where a row is live, ``old`` where it has ended."""
    return torch.where(mk.keep[t] > 0, new, old) if mk is not None and mk.masked[t] else new


def stack_steps(outputs: list[torch.Tensor], mk: Masks | None) -> torch.Tensor:
    """The torch-op recurrences' per-step outputs stacked ``[T, ...]``, zero where a row has ended."""
    out = torch.stack(outputs)
    return out * mk.keep if mk is not None else out


def pad_steps(out: torch.Tensor, steps: int) -> torch.Tensor:
    """Outputs ``[T', ...]`` of a trimmed run padded with zeros back to ``steps`` (the steps past every row's
    end, which ``trim`` left out)."""
    if out.shape[0] < steps:
        out = torch.cat([out, out.new_zeros(steps - out.shape[0], *out.shape[1:])])
    return out
