r"""TF's ``GRUCell`` over a whole sequence: one autograd node per unroll, hand-written backward.

For ``t = 0 .. T-1``, from the input halves ``xg[t] = x_t @ gates/kernel[:D] + gates/bias`` and
``xc[t] = x_t @ candidate/kernel[:D] + candidate/bias``::

    r, u = split(sigmoid(xg[t] + h @ Wg_h), 2)
    c    = tanh(xc[t] + (r * h) @ Wc_h)
    h'   = u * h + (1 - u) * c

Backward (NOTE [sequence backward] in ``lstm.py``): the forward stores ``k_c = (1-u)(1-c^2)``,
``k_u = (h-c) u (1-u)``, ``k_r = h r (1-r)``, ``u`` and ``r`` per step; a reverse step is then
``dc = dh k_c``, ``du = dh k_u``, ``d(rh) = dc Wc_h^T``, ``dr = d(rh) k_r``,
``dh_prev = dh u + d(rh) r + [dr, du] Wg_h^T``. Weight gradients: ``H_prev^T [dr, du]`` and
``(r h)^T dc``, each one matmul over all steps.
"""

from __future__ import annotations

from typing import Any

import torch

from ._mask import Masks, masks
from ._pointwise import tanh

__all__ = ["gru_sequence"]

Opt = torch.Tensor | None


class _Buffers:
    def __init__(self, xg: torch.Tensor, h0: torch.Tensor, save: bool) -> None:
        steps, batch, _ = xg.shape
        units, new = h0.shape[1], xg.new_empty
        self.hs = new(steps + 1, batch, units)
        self.hs[0] = h0
        if save:
            self.k = new(steps, batch, 3, units)  # k_c, k_u, k_r
            self.ur = new(steps, batch, 2, units)  # u (1 for a carried row), r
            self.rh = new(steps, batch, units)


def _forward(xg: torch.Tensor, xc: torch.Tensor, wg: torch.Tensor, wc: torch.Tensor, h0: torch.Tensor,
             mk: Masks | None, save: bool) -> _Buffers:  # fmt: skip
    units = h0.shape[1]
    b = _Buffers(xg, h0, save)
    for t in range(xg.shape[0]):
        h = b.hs[t]
        gates = torch.addmm(xg[t], h, wg).sigmoid_()
        r, u = gates[:, :units], gates[:, units:]
        rh = torch.mul(r, h, out=b.rh[t] if save else None)
        c = tanh(torch.addmm(xc[t], rh, wc))
        diff = h - c
        masked = mk is not None and mk.masked[t]
        hn = torch.addcmul(c, u, diff, out=None if masked else b.hs[t + 1])
        keep = mk.keep[t] if masked else None  # type: ignore[union-attr]
        if keep is not None:
            torch.where(keep > 0, hn, h, out=b.hs[t + 1])
        if save:
            k, ur = b.k[t], b.ur[t]
            torch.mul(1 - u, 1 - c * c, out=k[:, 0])
            torch.mul(diff, u - u * u, out=k[:, 1])
            torch.mul(h, r - r * r, out=k[:, 2])
            ur[:, 0], ur[:, 1] = u, r
            if keep is not None:  # a carried row: no step gradient, dh passes unchanged
                k[:, :2].mul_(keep.unsqueeze(1))
                ur[:, 0].mul_(keep).add_(1 - keep)
    return b


def _backward(ctx: Any, d_out: torch.Tensor, d_h: torch.Tensor) -> tuple[Opt, ...]:
    b, mk = ctx.b, ctx.masks
    steps, batch, units = b.rh.shape
    d_out = d_out * mk.keep if mk is not None else d_out.contiguous()
    d_g = d_out.new_empty(steps, batch, 2 * units)
    d_c = d_out.new_empty(steps, batch, units)
    wg_t, wc_t = ctx.wg.t(), ctx.wc.t()
    dh = d_out[-1] + d_h
    for t in range(steps - 1, -1, -1):
        k, ur = b.k[t], b.ur[t]
        dc = torch.mul(dh, k[:, 0], out=d_c[t])
        torch.mul(dh, k[:, 1], out=d_g[t, :, units:])
        drh = torch.mm(dc, wc_t)
        torch.mul(drh, k[:, 2], out=d_g[t, :, :units])
        base = torch.mul(dh, ur[:, 0]) if t == 0 else torch.addcmul(d_out[t - 1], dh, ur[:, 0])
        dh = torch.addmm(base.addcmul_(drh, ur[:, 1]), d_g[t], wg_t)
    flat_g, flat_c = d_g.view(steps * batch, -1), d_c.view(steps * batch, -1)
    d_wg = b.hs[:-1].reshape(steps * batch, units).t().mm(flat_g)
    d_wc = b.rh.view(steps * batch, units).t().mm(flat_c)
    return d_g, d_c, d_wg, d_wc, dh


class _GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, xg: torch.Tensor, xc: torch.Tensor, wg: torch.Tensor, wc: torch.Tensor, h0: torch.Tensor,
        mk: Masks | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        b = _forward(xg, xc, wg, wc, h0, mk, True)
        ctx.b, ctx.masks, ctx.wg, ctx.wc = b, mk, wg, wc
        return _outputs(b, mk)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, d_out: torch.Tensor, d_h: torch.Tensor) -> tuple[Opt, ...]:  # type: ignore[override]
        return (*_backward(ctx, d_out, d_h), None)


def _outputs(b: _Buffers, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:
    out = b.hs[1:] * mk.keep if mk is not None else b.hs[1:].clone()
    return out, b.hs[-1].clone()


def gru_sequence(
    xg: torch.Tensor,
    xc: torch.Tensor,
    wg: torch.Tensor,
    wc: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run TF's GRU recurrence (module docstring) over ``xg [T, B, 2H]``, ``xc [T, B, H]`` (time-major).

    Args:
        xg, xc: the input halves (biases included); wg ``[H, 2H]``, wc ``[H, H]``: the recurrent kernel rows;
            h0 ``[B, H]``.
        lengths: optional ``[B]`` int64 (TF's sequence_length rule, ``kernels/_mask.py``).

    Returns:
        ``(outputs [T, B, H], h_T [B, H])``.
    """
    steps = xg.shape[0]
    mk = masks(lengths, steps, xg)
    if mk is not None and mk.steps < steps:
        xg, xc = xg[: mk.steps], xc[: mk.steps]
    tensors = (xg, xc, wg, wc, h0)
    if torch.is_grad_enabled() and any(x.requires_grad for x in tensors):
        out, h = _GRUSequence.apply(*tensors, mk)
    else:
        out, h = _outputs(_forward(xg, xc, wg, wc, h0, mk, False), mk)
    if out.shape[0] < steps:
        out = torch.cat([out, out.new_zeros(steps - out.shape[0], *out.shape[1:])])
    return out, h
