"""The layer-normalised LSTM recurrence in plain torch ops (autograd records it) and its options: what both
implementations of ``layer_norm_lstm_sequence`` (torch ops, ``layer_norm_lstm.py``; native loops,
``layer_norm_native.py``) recompute when a second derivative is asked for (NOTE [double backward])."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._mask import Masks, keep_rows, stack_steps

__all__ = ["Options", "torch_layer_norm_lstm"]

Opt = torch.Tensor | None


@dataclass(frozen=True)
class Options:
    """The scalars of the formula; ``clip`` None: no cell clip."""

    forget_bias: float
    eps: float
    clip: float | None


def _plain_norm(
    z: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
) -> torch.Tensor:
    """The cell's layer norm (``cells/contrib/_common.layer_norm``): the variance around a stop-gradient copy of
    the mean, as TF's ``nn.moments``. The first derivative is the same either way; the second is not, and TF's
    is the one with the stop-gradient."""
    mean = z.mean(dim=-1, keepdim=True)
    inv = torch.rsqrt((z - mean.detach()).square().mean(dim=-1, keepdim=True) + eps) * gamma
    return z * inv + (beta - mean * inv)


def torch_layer_norm_lstm(xk: torch.Tensor, w_h: torch.Tensor, norms: tuple[torch.Tensor, ...], peep: Opt,
                           c: torch.Tensor, h: torch.Tensor, mk: Masks | None,
                           opt: Options) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """The same recurrence in plain torch ops (no in-place writes; autograd records it): the double-backward
    path."""
    gamma4, beta4, gamma_s, beta_s = norms
    batch, units = h.shape
    outputs, sig = [], torch.sigmoid
    for t in range(xk.shape[0]):
        z = torch.addmm(xk[t], h, w_h).view(batch, 4, units)
        i, j, f, o = _plain_norm(z, gamma4, beta4, opt.eps).unbind(1)
        f = f + opt.forget_bias
        if peep is not None:
            i, f = i + peep[0] * c, f + peep[1] * c
        new_c = _plain_norm(sig(f) * c + sig(i) * torch.tanh(j), gamma_s, beta_s, opt.eps)
        if opt.clip is not None:
            new_c = new_c.clamp(-opt.clip, opt.clip)
        if peep is not None:
            o = o + peep[2] * new_c
        new_h = torch.tanh(new_c) * sig(o)
        c, h = keep_rows(mk, t, new_c, c), keep_rows(mk, t, new_h, h)
        outputs.append(h)
    return stack_steps(outputs, mk), c, h
