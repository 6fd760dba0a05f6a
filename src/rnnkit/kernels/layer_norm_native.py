r"""The layer-normalised LSTMs' sequence kernel with native loops (``native/layer_norm_real.h``): the formula of
``layer_norm_lstm.py`` (``LayerNormBasicLSTMCell``; contrib's ``LayerNormLSTMCell`` with optional peepholes and
cell clip), for CPU float32/float64 inputs; ``layer_norm_lstm_sequence(..., native=True)`` runs it.

Why native as well as the torch-op loop: per step, the torch-op loop pays the dispatch of some thirty small ops
and reads each ``[B, 4H]`` intermediate several times; the C loop does each row's five normalisations and its
pointwise work in one pass while the row is in cache, and its backward likewise (measured: see
``benchmarks/bench_contrib_cells.py``). The forward stores the activated gates, the normalisations' ``xhat`` and
``rstd``, ``tanh(c')`` and ``c~`` (before the clip); the backward runs the reverse recurrence (one product a step,
``dZ @ W_h^T``) and sums the gains', shifts' and peepholes' gradients as it goes; ``W_h``'s gradient is then one
product ``H_prev^T @ dZ`` over all ``T * B`` rows, and ``dZ`` is the gradient of ``xk``.
"""

from __future__ import annotations

from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._layer_norm_math import Options, torch_layer_norm_lstm
from ._mask import Masks, pad_steps, trim
from .native import call, check_shapes, out_grad, ptr, sequence_dims, state_grad

__all__ = ["native_layer_norm_lstm"]

Opt = torch.Tensor | None


class _NativeLayerNormLSTM(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, xk: torch.Tensor, w_h: torch.Tensor, gamma4: torch.Tensor, beta4: torch.Tensor,
        gamma_s: torch.Tensor, beta_s: torch.Tensor, peep: Opt, c0: torch.Tensor, h0: torch.Tensor,
        lens: Opt, mk: Masks | None, opt: Options,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): for version checks and the double backward
        ctx.save_for_backward(xk, w_h, gamma4, beta4, gamma_s, beta_s, peep, c0, h0)
        steps, batch, _ = xk.shape
        units = c0.shape[1]
        rows, gates, clip = (steps, batch, units), (steps, batch, 4 * units), opt.clip
        states = (steps + 1, batch, units)
        shapes = (states, states, gates, gates, (steps, batch, 4), rows, (steps, batch), rows)
        work = _workspace.lease((*shapes, rows if clip is not None else (0,)), xk)
        hs, cs, zs, xh4, rs4, xs, rs, tcs, ups = work.buffers
        hs[0].copy_(h0)
        cs[0].copy_(c0)
        xk, w_h, peep_c = (
            xk.contiguous(),
            w_h.contiguous(),
            None if peep is None else peep.contiguous(),
        )
        norms = [t.contiguous() for t in (gamma4, beta4, gamma_s, beta_s)]
        out = xk.new_empty(rows)  # the caller's: written by the loop, zero where a row has ended
        call(
            "lnlstm_forward", xk,
            steps, batch, units, xk.data_ptr(), w_h.data_ptr(), *(t.data_ptr() for t in norms), ptr(peep_c),
            opt.forget_bias, opt.eps, -1.0 if clip is None else clip, *(t.data_ptr() for t in work.buffers),
            out.data_ptr(), ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.opt = work, lens, mk, opt
        return out, cs[-1].clone(), hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: Opt, d_c: Opt, d_h: Opt) -> tuple[Opt, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            recompute = lambda xk, w_h, g4, b4, gs, bs, peep, c0, h0, mk: torch_layer_norm_lstm(  # noqa: E731
                xk, w_h, (g4, b4, gs, bs), peep, c0, h0, mk, ctx.opt
            )
            return (
                *double_backward(ctx, recompute, (d_out, d_c, d_h), ctx.masks),
                None,
                None,
                None,
            )
        return _backward(ctx, d_out, d_c, d_h)


def _backward(ctx: Any, d_out: Opt, d_c: Opt, d_h: Opt) -> tuple[Opt, ...]:
    hs, cs, zs, xh4, rs4, xs, rs, tcs, ups = ctx.work.buffers
    _, w_h, gamma4, _, gamma_s, _, peep, c0, h0 = ctx.saved_tensors
    steps, batch, units = tcs.shape
    dys = out_grad(d_out, tcs.shape, cs)
    dh, dc = state_grad(d_h, h0), state_grad(d_c, c0)
    dzs = cs.new_empty(steps, batch, 4 * units)  # fresh: it is the gradient of xk
    lease = _workspace.lease(((batch * units + 3 * units,),), cs)  # held until the call returns
    (scratch,) = lease.buffers
    d_norms = [
        cs.new_zeros(4, units),
        cs.new_zeros(4, units),
        cs.new_zeros(units),
        cs.new_zeros(units),
    ]
    d_peep = None if peep is None else cs.new_zeros(3, units)
    peep_c = None if peep is None else peep.contiguous()
    g4, gs, wt = gamma4.contiguous(), gamma_s.contiguous(), w_h.t().contiguous()
    clip = -1.0 if ctx.opt.clip is None else ctx.opt.clip
    call(
        "lnlstm_backward", cs,
        steps, batch, units, wt.data_ptr(), g4.data_ptr(), gs.data_ptr(), ptr(peep_c), clip,
        *(t.data_ptr() for t in (cs, zs, xh4, rs4, xs, rs, tcs, ups, dys, dh, dc, dzs)),
        *(t.data_ptr() for t in d_norms), ptr(d_peep), scratch.data_ptr(), ptr(ctx.lens),
    )  # fmt: skip
    # H_prev^T @ dZ: W_h's gradient in one product over all rows (an ended row's dZ is zero)
    d_w = hs[:-1].reshape(-1, units).t().mm(dzs.view(-1, 4 * units))
    return (dzs, d_w, *d_norms, d_peep, dc, dh, None, None, None)


def native_layer_norm_lstm(
    xk: torch.Tensor, w_h: torch.Tensor, norms: tuple[torch.Tensor, ...], peepholes: Opt, c0: torch.Tensor,
    h0: torch.Tensor, lengths: Opt, opt: Options,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """``layer_norm_lstm_sequence(..., native=True)`` after its argument checks: ``(outputs, c_T, h_T)``.

    Raises:
        RuntimeError: the native library is not available; ValueError / TypeError: a rank, shape, dtype or
        device the loops cannot take (they trust the pointers they are handed).
    """
    where = "layer_norm_lstm_sequence"
    steps, batch, _, units = sequence_dims(where, xk, c0, "c0")
    gamma4, beta4, gamma_s, beta_s = norms
    shapes = {"xk": (steps, batch, 4 * units), "w_h": (units, 4 * units), "gamma4": (4, units)}
    shapes |= {
        "beta4": (4, units),
        "gamma_s": (units,),
        "beta_s": (units,),
        "peepholes": (3, units),
    }
    shapes |= {"c0": (batch, units), "h0": (batch, units)}
    check_shapes(where, shapes, xk=xk, w_h=w_h, gamma4=gamma4, beta4=beta4, gamma_s=gamma_s, beta_s=beta_s,
                 peepholes=peepholes, c0=c0, h0=h0)  # fmt: skip
    x, mk, lens = trim(xk, lengths)
    out, c, h = _NativeLayerNormLSTM.apply(
        x, w_h, gamma4, beta4, gamma_s, beta_s, peepholes, c0, h0, lens, mk, opt
    )
    return pad_steps(out, steps), c, h
