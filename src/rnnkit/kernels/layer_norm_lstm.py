r"""The layer-normalised LSTMs over a whole sequence, one autograd node: ``LayerNormBasicLSTMCell`` (layer_norm on,
no recurrent dropout) and contrib's ``LayerNormLSTMCell`` (layer_norm on, optional peepholes and cell clip).

For ``t = 0 .. T-1``, from ``xk[t] = x_t @ kernel[:D]``::

    z = xk[t] + h @ W_h                      # [B, 4, H]: i, j, f, o
    n = LN(z; gamma4, beta4)                 # per gate over H: z * inv + (beta - mean * inv), inv = gamma / sqrt(var + eps)
    c~ = LN(c * sigmoid(n_f + forget_bias + w_f * c) + sigmoid(n_i + w_i * c) * tanh(n_j); gamma_s, beta_s)
    c' = clip(c~, -cell_clip, cell_clip)     # LayerNormLSTMCell's cell_clip, when given
    h' = tanh(c') * sigmoid(n_o + w_o * c')  # state (c', h'); the peephole terms w_* only with peepholes

Both cells are this formula (the basic cell: no peepholes, no clip); TF computes the products and sums in the
same order in both (only the operands of a product are swapped), so one loop serves both. The four gate
normalisations run as one ``[B, 4, H]`` computation. NOTE [sequence backward]: while a forward step's values are in cache it also stores the factors of the backward
that do not depend on the incoming gradient (``k``, ``a_c``, ``f``, the clip's mask), so a reverse step is a few products, the
layer-norm backward ``dz = rstd * (dx - mean(dx) - xhat *
mean(dx * xhat))``, ``dx = dn * gamma`` (for the state and the four gates at once) and one ``addmm`` for ``dh``. ``W_h``'s gradient
is one matmul over all ``T * B`` rows (``H_prev^T @ dZ``), ``gamma``/``beta``'s and the peepholes' are reductions over all steps,
and ``dZ`` itself is the gradient of ``xk`` (the caller's input matmul gets its gradient from autograd).

Two implementations of that one formula: this torch-op loop, and native loops (``layer_norm_native.py``,
``native=True``) that do a row's five normalisations and its pointwise work in one pass (measured 2.2-2.5x the
naive loop against 1.3-1.4x for this one, ``benchmarks/bench_contrib_cells.py``). The unrolls take the native
loops on CPU float32/float64 (``dispatch.py``) and this loop everywhere else (CUDA, autocast, traces, no C
compiler), so every device keeps one autograd node per unroll.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ._double_backward import double_backward
from ._layer_norm_math import Options, torch_layer_norm_lstm
from ._mask import Masks, masks, pad_steps
from ._pointwise import tanh
from .layer_norm_native import native_layer_norm_lstm

__all__ = ["layer_norm_lstm_sequence"]

Opt = torch.Tensor | None


def _norm(
    z: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
) -> tuple[torch.Tensor, ...]:
    """``(normalised, xhat, rstd)`` over the last axis, the cell's order of operations (its rounding)."""
    mean = z.mean(dim=-1, keepdim=True)
    centred = z - mean
    rstd = torch.rsqrt(centred.square().mean(dim=-1, keepdim=True).add_(eps))
    inv = rstd * gamma
    return torch.addcmul(beta, mean, inv, value=-1).addcmul_(z, inv), centred.mul_(rstd), rstd


def _norm_backward(
    dn: torch.Tensor, gamma: torch.Tensor, xhat: torch.Tensor, rstd: torch.Tensor
) -> torch.Tensor:
    dx = dn * gamma
    m1 = dx.mean(dim=-1, keepdim=True)
    m2 = (dx * xhat).mean(dim=-1, keepdim=True)
    return dx.sub_(m1).addcmul_(xhat, m2, value=-1).mul_(rstd)


class _Buffers:
    def __init__(
        self, xk: torch.Tensor, c0: torch.Tensor, h0: torch.Tensor, save: bool, clip: bool
    ) -> None:
        steps, batch, _ = xk.shape
        units, new = c0.shape[1], xk.new_empty
        self.hs, self.cs = new(steps + 1, batch, units), new(steps + 1, batch, units)
        self.hs[0], self.cs[0] = h0, c0
        if save:
            self.k = new(steps, batch, 4, units)  # gate factors (NOTE [sequence backward])
            self.a_c, self.f = new(steps, batch, units), new(steps, batch, units)
            self.xhat, self.rstd = new(steps, batch, 4, units), new(steps, batch, 4, 1)
            self.xhat_s, self.rstd_s = new(steps, batch, units), new(steps, batch, 1)
        self.inside: Opt = new(steps, batch, units) if save and clip else None  # 1 inside the clip


def _gates(
    z: torch.Tensor, c: torch.Tensor, norms: tuple[torch.Tensor, ...], peep: Opt, opt: Options
) -> tuple[torch.Tensor, ...]:
    """``(n, a, xhat, rstd)``: the gates normalised, then ``a[:, :3]`` = sigmoid(i), tanh(j), sigmoid(f) with the
    peepholes of ``c`` (the output gate ``n[:, 3]`` stays pre-activation when its peephole needs ``c'``)."""
    n, xhat, rstd = _norm(z, norms[0], norms[1], opt.eps)
    n[:, 2].add_(opt.forget_bias)
    if peep is not None:  # i += w_i * c, f += w_f * c (gates 0 and 2 as one strided view)
        n[:, 0::2].addcmul_(peep[:2], c.unsqueeze(1))
    n[:, 1].mul_(2)  # tanh(j) = 2 sigmoid(2j) - 1 (kernels/_pointwise.py)
    a = n[:, :3].sigmoid_() if peep is not None else n.sigmoid_()
    a[:, 1].mul_(2).sub_(1)
    return n, a, xhat, rstd


def _step(
    b: _Buffers, t: int, z: torch.Tensor, norms: tuple[torch.Tensor, ...], peep: Opt,
    mk: Masks | None, opt: Options, save: bool,
) -> None:  # fmt: skip
    c, h = b.cs[t], b.hs[t]
    n, a, xhat, rstd = _gates(z, c, norms, peep, opt)
    i, j, f = a[:, :3].unbind(1)
    cn, xhat_s, rstd_s = _norm(torch.addcmul(f * c, i, j), norms[2], norms[3], opt.eps)
    if opt.clip is not None:
        if b.inside is not None:
            torch.le(
                cn.abs(), opt.clip, out=b.inside[t]
            )  # clamp's gradient passes at the bounds too
        cn = cn.clamp(-opt.clip, opt.clip)
    o = n[:, 3].addcmul_(peep[2], cn).sigmoid_() if peep is not None else n[:, 3]
    tc = tanh(cn)
    hn = tc * o
    if mk is not None and mk.masked[t]:
        keep = mk.keep[t] > 0
        torch.where(keep, cn, c, out=b.cs[t + 1])
        torch.where(keep, hn, h, out=b.hs[t + 1])
    else:
        b.cs[t + 1], b.hs[t + 1] = cn, hn
    if save:
        k = b.k[t]
        torch.mul(i - i * i, j, out=k[:, 0])
        torch.mul(i, 1 - j * j, out=k[:, 1])
        torch.mul(f - f * f, c, out=k[:, 2])
        torch.mul(o - o * o, tc, out=k[:, 3])
        torch.mul(o, 1 - tc * tc, out=b.a_c[t])
        if peep is not None:  # h' also reaches c' through the output gate's peephole
            b.a_c[t].addcmul_(k[:, 3], peep[2])
        b.f[t], b.xhat[t], b.rstd[t], b.xhat_s[t], b.rstd_s[t] = f, xhat, rstd, xhat_s, rstd_s


def _forward(xk: torch.Tensor, w_h: torch.Tensor, norms: tuple[torch.Tensor, ...], peep: Opt, c0: torch.Tensor,
             h0: torch.Tensor, mk: Masks | None, opt: Options, save: bool) -> _Buffers:  # fmt: skip
    steps, batch, _ = xk.shape
    units = c0.shape[1]
    b = _Buffers(xk, c0, h0, save, opt.clip is not None)
    for t in range(steps):
        z = torch.addmm(xk[t], b.hs[t], w_h).view(batch, 4, units)
        _step(b, t, z, norms, peep, mk, opt, save)
    return b


def _backward(
    ctx: Any, d_out: torch.Tensor, d_c: torch.Tensor, d_h: torch.Tensor
) -> tuple[Opt, ...]:
    b, mk, w_h, peep = ctx.b, ctx.masks, ctx.w_h, ctx.peep
    gamma4, _, gamma_s, _ = ctx.norms
    steps, batch, units = b.a_c.shape
    d_out = d_out * mk.keep if mk is not None else d_out.contiguous()
    d_z = d_out.new_empty(steps, batch, 4, units)
    d_n = d_out.new_empty(steps, batch, 4, units)
    d_ns = d_out.new_empty(steps, batch, units)
    w_t = w_h.t()
    dh, dc = d_out[-1] + d_h, d_c
    for t in range(steps - 1, -1, -1):
        masked = mk is not None and mk.masked[t]
        if masked:
            keep = mk.keep[t]
            carry_h, carry_c = dh * (1 - keep), dc * (1 - keep)
            dh, dc = dh * keep, dc * keep
        dcn = torch.addcmul(dc, dh, b.a_c[t], out=d_ns[t])
        if b.inside is not None:
            dcn.mul_(b.inside[t])
        dcp = _norm_backward(dcn, gamma_s, b.xhat_s[t], b.rstd_s[t])
        g = d_n[t]
        torch.mul(dcp.unsqueeze(1), b.k[t, :, :3], out=g[:, :3])
        torch.mul(dh, b.k[t, :, 3], out=g[:, 3])
        d_z[t] = _norm_backward(g, gamma4, b.xhat[t], b.rstd[t])
        dc = dcp * b.f[t]
        if peep is not None:  # c reached i and f through their peepholes
            dc.addcmul_(g[:, 0], peep[0]).addcmul_(g[:, 2], peep[1])
        base = d_out[t - 1] if t > 0 else torch.zeros_like(dh)
        if masked:
            base = base + carry_h
            dc = dc + carry_c
        dh = torch.addmm(base, d_z[t].view(batch, -1), w_t)
    flat_z = d_z.view(steps * batch, 4 * units)
    d_w = b.hs[:-1].reshape(steps * batch, units).t().mm(flat_z)
    d_gamma4, d_beta4 = (d_n * b.xhat).sum((0, 1)), d_n.sum((0, 1))
    d_gamma_s, d_beta_s = (d_ns * b.xhat_s).sum((0, 1)), d_ns.sum((0, 1))
    d_peep = None
    if peep is not None:  # a carried row's d_n is zero, so cs[t + 1] (its carried c) adds nothing
        d_if = (d_n[:, :, 0::2] * b.cs[:-1].unsqueeze(2)).sum((0, 1))
        d_peep = torch.cat([d_if, (d_n[:, :, 3] * b.cs[1:]).sum((0, 1)).unsqueeze(0)])
    dz = d_z.view(steps, batch, 4 * units)
    return dz, d_w, d_gamma4, d_beta4, d_gamma_s, d_beta_s, d_peep, dc, dh


class _LayerNormLSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, xk: torch.Tensor, w_h: torch.Tensor, gamma4: torch.Tensor, beta4: torch.Tensor,
        gamma_s: torch.Tensor, beta_s: torch.Tensor, peep: Opt, c0: torch.Tensor, h0: torch.Tensor,
        mk: Masks | None, opt: Options,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        norms = (gamma4, beta4, gamma_s, beta_s)
        b = _forward(xk, w_h, norms, peep, c0, h0, mk, opt, True)
        ctx.b, ctx.masks, ctx.w_h, ctx.norms, ctx.peep, ctx.opt = b, mk, w_h, norms, peep, opt
        ctx.save_for_backward(
            xk, w_h, gamma4, beta4, gamma_s, beta_s, peep, c0, h0
        )  # for create_graph=True
        return _outputs(b, mk)

    @staticmethod
    def backward(
        ctx: Any, d_out: torch.Tensor, d_c: torch.Tensor, d_h: torch.Tensor
    ) -> tuple[Opt, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            torch_ln: Callable[..., Any] = lambda xk, w_h, g4, b4, gs, bs, peep, c0, h0, mk: (
                torch_layer_norm_lstm(xk, w_h, (g4, b4, gs, bs), peep, c0, h0, mk, ctx.opt)
            )
            return (*double_backward(ctx, torch_ln, (d_out, d_c, d_h), ctx.masks), None, None)
        return (*_backward(ctx, d_out, d_c, d_h), None, None)


def _outputs(b: _Buffers, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    out = b.hs[1:] * mk.keep if mk is not None else b.hs[1:].clone()
    return out, b.cs[-1].clone(), b.hs[-1].clone()


def layer_norm_lstm_sequence(
    xk: torch.Tensor,
    w_h: torch.Tensor,
    gamma4: torch.Tensor,
    beta4: torch.Tensor,
    gamma_s: torch.Tensor,
    beta_s: torch.Tensor,
    c0: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor | None = None,
    forget_bias: float = 1.0,
    eps: float = 1e-12,
    peepholes: torch.Tensor | None = None,
    cell_clip: float | None = None,
    native: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run the layer-normalised LSTM (module docstring) over ``xk [T, B, 4H]`` (time-major, no bias).

    Args:
        xk: ``x @ kernel[:D]`` of every step; w_h: ``[H, 4H]``; gamma4, beta4: ``[4, H]`` (input, transform,
            forget, output); gamma_s, beta_s: ``[H]`` (state); c0, h0: ``[B, H]``.
        lengths: optional ``[B]`` int64 (TF's sequence_length rule, ``kernels/_mask.py``).
        peepholes: optional ``[3, H]``, the rows ``w_i, w_f, w_o``.
        cell_clip: optional bound of ``c'`` (clamped after the state's normalisation; no gradient outside it).
        native: run the native loops (``layer_norm_native.py``; CPU float32/float64 only) instead of torch ops.

    Returns:
        ``(outputs [T, B, H], c_T, h_T)``.

    Raises:
        ValueError: peepholes not ``[3, H]``, or cell_clip not positive; with ``native``, what
            ``native_layer_norm_lstm`` raises.
    """
    where, units = "layer_norm_lstm_sequence", c0.shape[-1]
    if peepholes is not None and tuple(peepholes.shape) != (3, units):
        raise ValueError(
            f"{where}: expected peepholes of shape [3, {units}], got {list(peepholes.shape)}"
        )
    if cell_clip is not None and not cell_clip > 0:
        raise ValueError(f"{where}: expected cell_clip > 0 or None, got {cell_clip!r}")
    clip = None if cell_clip is None else float(cell_clip)
    opt = Options(float(forget_bias), float(eps), clip)
    if native:
        norms = (gamma4, beta4, gamma_s, beta_s)
        return native_layer_norm_lstm(xk, w_h, norms, peepholes, c0, h0, lengths, opt)
    steps = xk.shape[0]
    mk = masks(lengths, steps, xk)
    if mk is not None and mk.steps < steps:
        xk = xk[: mk.steps]
    tensors = (xk, w_h, gamma4, beta4, gamma_s, beta_s, peepholes, c0, h0)
    if torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in tensors):
        out, c, h = _LayerNormLSTMSequence.apply(*tensors, mk, opt)
    else:
        b = _forward(xk, w_h, tensors[2:6], peepholes, c0, h0, mk, opt, False)
        out, c, h = _outputs(b, mk)
    out = pad_steps(out, steps)
    return out, c, h
