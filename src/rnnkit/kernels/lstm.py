r"""The LSTM family over a whole sequence: one autograd node per unroll, hand-written backward.

Computes, for ``t = 0 .. T-1`` (TF's ``LSTMCell`` with every option; ``BasicLSTMCell`` is the case without
them), from ``xw[t] = x_t @ kernel[:D] + bias`` (``forget_bias`` already added to the ``f`` quarter)::

    i, j, f, o = split(xw[t] + h @ W_h, 4)                 # W_h = kernel[D:]  [P, 4H]
    i, f = i + w_i * c, f + w_f * c                         # peepholes
    c' = clip(sigmoid(f) * c + sigmoid(i) * tanh(j))        # cell_clip (TF's clip_by_value)
    o  = o + w_o * c'                                       # peephole
    m  = sigmoid(o) * tanh(c');  h' = clip(m @ W_proj)      # projection, proj_clip

NOTE [sequence backward]: while the forward step's values are in cache it also stores, per step, the factors of
the backward that do not depend on the incoming gradient, so a reverse step is one ``addcmul`` for ``dc``, two
products into the gate-gradient buffer ``dG[t]``, one product for the carried ``dc`` and one ``addmm`` for
``dh`` (plus a matmul with a projection): ``dc_in = dc + dm * a_c``, ``dG_ijf = dc_in * k[:3]``,
``dG_o = dm * k[3]``, ``dc_prev = dc_in * f_c`` (``dm``: the gradient of ``m``). The weight gradients are single
matmuls over all ``T * B`` rows (``dW_h = H_prev^T @ dG``); ``dG`` itself is the gradient of ``xw``.
"""

from __future__ import annotations

from typing import Any

import torch

from ._mask import Masks, masks
from ._pointwise import clip_mask, tanh

__all__ = ["lstm_sequence"]

Opt = torch.Tensor | None
Peep = tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None


class _Buffers:
    """Per-step storage ``[T(+1), B, ...]``: states (``hs``, ``cs``: entering each step, then the final one)
    and, when training, the backward factors (NOTE [sequence backward])."""

    def __init__(self, xw: torch.Tensor, c0: torch.Tensor, h0: torch.Tensor, proj: Opt, proj_clip: Any,
                 save: bool) -> None:  # fmt: skip
        steps, batch, _ = xw.shape
        units, new = c0.shape[1], xw.new_empty
        self.hs, self.cs = new(steps + 1, batch, h0.shape[1]), new(steps + 1, batch, units)
        self.hs[0], self.cs[0] = h0, c0
        self.k = new(steps, batch, 4, units) if save else None
        self.a_c = new(steps, batch, units) if save else None
        self.f_c = new(steps, batch, units) if save else None
        self.m = new(steps, batch, units) if save and proj is not None else None
        self.r_mask = new(steps, batch, h0.shape[1]) if save and proj_clip is not None else None


def _factors(b: _Buffers, t: int, a: torch.Tensor, tc: torch.Tensor, c: torch.Tensor, peep: Peep,
             c_mask: Opt, keep: Opt) -> None:  # fmt: skip
    """Store step ``t``'s backward factors (NOTE [sequence backward]); ``a = [sig i, tanh j, sig f, sig o]``."""
    units = c.shape[1]
    i, j, f, o = a.split(units, dim=1)
    k, a_c = b.k[t], b.a_c[t]  # type: ignore[index]
    torch.mul(i - i * i, j, out=k[:, 0])
    torch.mul(i, 1 - j * j, out=k[:, 1])
    torch.mul(f - f * f, c, out=k[:, 2])
    torch.mul(o - o * o, tc, out=k[:, 3])
    torch.mul(o, 1 - tc * tc, out=a_c)
    f_c = b.f_c[t]  # type: ignore[index]
    f_c.copy_(f)
    if peep is not None:
        a_c.addcmul_(k[:, 3], peep[2])
        f_c.addcmul_(k[:, 0], peep[0]).addcmul_(k[:, 2], peep[1])
    if c_mask is not None:
        k[:, :3].mul_(c_mask.unsqueeze(1))
        f_c.mul_(c_mask)
    if keep is not None:  # a carried row: no step gradient, its dc passes unchanged
        k.mul_(keep.unsqueeze(1))
        a_c.mul_(keep)
        f_c.mul_(keep).add_(1 - keep)


def _forward(
    xw: torch.Tensor, w_h: torch.Tensor, c0: torch.Tensor, h0: torch.Tensor, mk: Masks | None, peep: Peep,
    cell_clip: float | None, proj: Opt, proj_clip: float | None, save: bool,
) -> _Buffers:  # fmt: skip
    """The recurrence; the states of every step in ``hs``/``cs`` (the outputs are ``hs[1:] * keep``)."""
    units = c0.shape[1]
    b = _Buffers(xw, c0, h0, proj, proj_clip, save)
    for t in range(xw.shape[0]):
        c, h = b.cs[t], b.hs[t]
        z = torch.addmm(xw[t], h, w_h)
        if peep is not None:
            z[:, :units].addcmul_(c, peep[0])
            z[:, 2 * units : 3 * units].addcmul_(c, peep[1])
        z[:, units : 2 * units].mul_(2)  # tanh(j) = 2 sigmoid(2j) - 1: one sigmoid for all four quarters
        a = torch.sigmoid(z)
        a[:, units : 2 * units].mul_(2).sub_(1)
        masked = mk is not None and mk.masked[t]
        cn = torch.mul(a[:, 2 * units : 3 * units], c, out=None if masked else b.cs[t + 1])
        cn.addcmul_(a[:, :units], a[:, units : 2 * units])
        c_mask = clip_mask(cn, cell_clip) if save and cell_clip is not None else None
        if cell_clip is not None:
            cn = cn.clamp_(-cell_clip, cell_clip)
        if peep is not None:
            torch.sigmoid(z[:, 3 * units :].addcmul_(cn, peep[2]), out=a[:, 3 * units :])
        tc = tanh(cn)
        if proj is None:
            hn = torch.mul(a[:, 3 * units :], tc, out=None if masked else b.hs[t + 1])
        else:
            m = torch.mul(a[:, 3 * units :], tc, out=b.m[t] if b.m is not None else None)
            hn = torch.mm(m, proj)
            if proj_clip is not None:
                if b.r_mask is not None:
                    b.r_mask[t] = clip_mask(hn, proj_clip)
                hn = hn.clamp_(-proj_clip, proj_clip)
        keep = mk.keep[t] if masked else None  # type: ignore[union-attr]
        if keep is not None:
            torch.where(keep > 0, cn, c, out=b.cs[t + 1])
            torch.where(keep > 0, hn, h, out=b.hs[t + 1])
        else:
            if hn.data_ptr() != b.hs[t + 1].data_ptr():  # else computed in place
                b.hs[t + 1] = hn
        if save:
            _factors(b, t, a, tc, c, peep, c_mask, keep)
    return b


def _backward(ctx: Any, d_out: torch.Tensor, d_c: torch.Tensor, d_h: torch.Tensor) -> tuple[Opt, ...]:
    """Reverse recurrence (NOTE [sequence backward]); returns the gradients of ``_LSTMSequence.forward``'s
    tensor arguments."""
    b, mk, proj = ctx.b, ctx.masks, ctx.proj
    steps, batch, units = b.a_c.shape
    d_out = d_out * mk.keep if mk is not None else d_out.contiguous()  # outputs past a row's end are zeros
    d_gates = d_out.new_empty(steps, batch, 4, units)
    d_r = d_out.new_empty(d_out.shape) if proj is not None else None
    w_t, proj_t = ctx.w_h.t(), proj.t() if proj is not None else None
    dh, dc = d_out[-1] + d_h, d_c
    for t in range(steps - 1, -1, -1):
        if d_r is not None:
            dr = d_r[t]
            torch.mul(dh, b.r_mask[t], out=dr) if b.r_mask is not None else dr.copy_(dh)
            if mk is not None and mk.masked[t]:
                dr.mul_(mk.keep[t])
            dm = torch.mm(dr, proj_t)
        else:
            dm = dh
        dcc = torch.addcmul(dc, dm, b.a_c[t])
        g = d_gates[t]
        torch.mul(dcc.unsqueeze(1), b.k[t, :, :3], out=g[:, :3])
        torch.mul(dm, b.k[t, :, 3], out=g[:, 3])
        dc = dcc * b.f_c[t]
        base = d_out[t - 1] if t > 0 else None
        if mk is not None and mk.masked[t]:
            carried = dh * (1 - mk.keep[t])
            base = carried if base is None else base + carried
        dh = torch.mm(g.view(batch, -1), w_t) if base is None else torch.addmm(base, g.view(batch, -1), w_t)
    return (*_weight_grads(ctx, b, d_gates, d_r), dc, dh)


def _weight_grads(ctx: Any, b: _Buffers, d_gates: torch.Tensor, d_r: Opt) -> tuple[Opt, ...]:
    """``(d xw, d W_h, d w_i, d w_f, d w_o, d W_proj)``: one matmul or reduction each, over all steps."""
    steps, batch, _, units = d_gates.shape
    flat_g = d_gates.view(steps * batch, 4 * units)
    h_prev = b.hs[:-1].reshape(steps * batch, -1)
    d_w = h_prev.t().mm(flat_g) if ctx.needs_input_grad[1] else None
    d_peep: tuple[Opt, Opt, Opt] = (None, None, None)
    if ctx.peep:
        c_prev, c_new = b.cs[:-1], b.cs[1:]  # a carried row has dG = 0: its stored state does not matter
        d_peep = (
            (d_gates[:, :, 0] * c_prev).sum((0, 1)),
            (d_gates[:, :, 2] * c_prev).sum((0, 1)),
            (d_gates[:, :, 3] * c_new).sum((0, 1)),
        )
    d_proj = None
    if ctx.proj is not None and d_r is not None:
        d_proj = b.m.view(steps * batch, units).t().mm(d_r.view(steps * batch, -1))
    return (d_gates.view(steps, batch, 4 * units), d_w, *d_peep, d_proj)


class _LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, xw: torch.Tensor, w_h: torch.Tensor, w_i: Opt, w_f: Opt, w_o: Opt, proj: Opt,
        c0: torch.Tensor, h0: torch.Tensor, mk: Masks | None, cell_clip: float | None, proj_clip: float | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        peep = (w_i, w_f, w_o) if w_i is not None else None
        b = _forward(xw, w_h, c0, h0, mk, peep, cell_clip, proj, proj_clip, True)
        ctx.b, ctx.masks, ctx.peep, ctx.proj, ctx.w_h = b, mk, peep is not None, proj, w_h
        return _outputs(b, mk)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(  # type: ignore[override]
        ctx: Any, d_out: torch.Tensor, d_c: torch.Tensor, d_h: torch.Tensor
    ) -> tuple[Opt, ...]:
        return (*_backward(ctx, d_out, d_c, d_h), None, None, None)


def _outputs(b: _Buffers, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(outputs [T, B, P], c_T, h_T)``; the states are copies (autograd refuses outputs sharing storage)."""
    out = b.hs[1:] * mk.keep if mk is not None else b.hs[1:].clone()
    return out, b.cs[-1].clone(), b.hs[-1].clone()


def lstm_sequence(
    xw: torch.Tensor,
    w_h: torch.Tensor,
    c0: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor | None = None,
    peepholes: Peep = None,
    cell_clip: float | None = None,
    projection: torch.Tensor | None = None,
    proj_clip: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the LSTM recurrence (module docstring) over ``xw [T, B, 4H]`` (time-major; ``f`` bias included).

    Args:
        xw: the input projection of every step, gate order ``i, j, f, o``.
        w_h: ``[P, 4H]`` recurrent kernel rows; c0 ``[B, H]``, h0 ``[B, P]``: the initial state.
        lengths: optional ``[B]`` int64 in ``[0, T]``: TF's sequence_length rule (``kernels/_mask.py``); the
            inputs past each row's length must be finite (the unrolls zero them).
        peepholes: ``(w_i_diag, w_f_diag, w_o_diag)``, each ``[H]``; cell_clip, proj_clip: positive or None;
        projection: ``[H, P]`` or None (proj_clip is ignored without it).

    Returns:
        ``(outputs [T, B, P], c_T [B, H], h_T [B, P])``; differentiable in every tensor argument.
    """
    steps = xw.shape[0]
    mk = masks(lengths, steps, xw)
    if mk is not None and mk.steps < steps:
        xw = xw[: mk.steps]
    proj_clip = proj_clip if projection is not None else None
    w_i, w_f, w_o = peepholes if peepholes is not None else (None, None, None)
    tensors = (xw, w_h, w_i, w_f, w_o, projection, c0, h0)
    if torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in tensors):
        out, c, h = _LSTMSequence.apply(*tensors, mk, cell_clip, proj_clip)
    else:
        b = _forward(xw, w_h, c0, h0, mk, peepholes, cell_clip, projection, proj_clip, False)
        out, c, h = _outputs(b, mk)
    if out.shape[0] < steps:
        out = torch.cat([out, out.new_zeros(steps - out.shape[0], *out.shape[1:])])
    return out, c, h
