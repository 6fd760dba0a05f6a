r"""contrib's ``CoupledInputForgetGateLSTMCell`` (tanh, no layer_norm; peepholes, projection and ``proj_clip``
optional) over a whole sequence as one autograd node, its loops native (``native/cifg_real.h``).

For ``t = 0 .. T-1`` (``[x_t, m]`` is one buffer row, so the product is one, with ``K = D + P``; TF's order of
operations: bias, then ``forget_bias``, then the peephole term)::

    j, f, o = split([x_t, m] @ W + B, 3)                      # W [D+P, 3H]
    f  = sigmoid(f + forget_bias + W_F_diag * c)              # the input gate is 1 - f
    c' = f * c + (1 - f) * tanh(j)
    h  = sigmoid(o + W_O_diag * c') * tanh(c')                # peephole terms only with use_peepholes
    m' = clip(h @ W_P, -proj_clip, proj_clip)                 # with num_proj = P (else m' = h, P = H)

The forward stores the activated gates, ``tanh(c')``, every ``c``, the rows ``[x_t, m_{t-1}]`` and, with a
projection, ``h`` and ``h @ W_P`` before the clip; the backward runs the reverse recurrence natively (one product a
step, ``dz @ W[D:]^T``, and with a projection a second, ``dm' @ W_P^T``), adds up the peephole and bias gradients as
it goes, and then ``W``'s gradient is one product over all ``T * B`` rows (``[X, M_prev]^T @ dZ``), ``W_P``'s
another (``H^T @ dM'``), the inputs' ``dZ @ W[:D]^T``. The clip passes the gradient where
``-proj_clip <= h @ W_P <= proj_clip``, as TF's ``clip_by_value``. Under ``create_graph=True`` it recomputes in torch
ops (NOTE [double backward]).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, keep_rows, pad_steps, stack_steps, trim
from .native import call, check_shapes, out_grad, ptr, sequence_dims, state_grad

__all__ = ["cifg_lstm_sequence"]


def _torch_cifg(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, peep: torch.Tensor | None,
                proj: torch.Tensor | None, c0: torch.Tensor, m0: torch.Tensor, mk: Masks | None,
                forget_bias: float, clip: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """The same recurrence in torch ops (autograd records it): the double-backward path."""
    c, m, outputs = c0, m0, []
    for t in range(x.shape[0]):
        j, f, o = (torch.cat([x[t], m], 1) @ kernel + bias).chunk(3, 1)
        f = f + forget_bias
        if peep is not None:
            f = f + peep[0] * c
        f = torch.sigmoid(f)
        new_c = f * c + (1 - f) * torch.tanh(j)
        if peep is not None:
            o = o + peep[1] * new_c
        new_m = torch.sigmoid(o) * torch.tanh(new_c)
        if proj is not None:
            new_m = new_m @ proj
            if clip > 0:
                new_m = new_m.clamp(-clip, clip)
        c, m = keep_rows(mk, t, new_c, c), keep_rows(mk, t, new_m, m)
        outputs.append(m)
    return stack_steps(outputs, mk), c, m


class _CIFGSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, peep: torch.Tensor | None,
                proj: torch.Tensor | None, c0: torch.Tensor, m0: torch.Tensor, forget_bias: float, clip: float,
                lens: torch.Tensor | None, mk: Masks | None) -> tuple[torch.Tensor, ...]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, kernel, bias, peep, proj, c0, m0)
        (steps, batch, depth), units, out_units = x.shape, c0.shape[1], m0.shape[1]
        # [x, m] rows, padded (the columns past D + P are never read)
        wide = _workspace.row_stride(depth + out_units)
        projected = (steps, batch, out_units) if proj is not None else (0,)
        shapes = (
            (steps + 1, batch, wide),
            (steps + 1, batch, units),
            (steps, batch, 3 * units),
            (steps, batch, units),
            (steps, batch, units) if proj is not None else (0,),
            projected,
        )
        work = _workspace.lease(shapes, x)
        xm, cs, gs, tcs, hs, ps = work.buffers  # xm[t] = [x_t, m_{t-1}]
        xm[:steps, :, :depth].copy_(x)
        xm[0, :, depth : depth + out_units].copy_(m0)
        cs[0].copy_(c0)
        kernel_c, bias_c = kernel.contiguous(), bias.contiguous()
        peep_c = None if peep is None else peep.contiguous()
        proj_c = None if proj is None else proj.contiguous()
        out = x.new_empty(steps, batch, out_units)  # the caller's: zero where a row has ended
        call(
            "cifg_forward", x,
            steps, batch, depth, units, out_units, wide, xm.data_ptr(), kernel_c.data_ptr(), bias_c.data_ptr(),
            ptr(peep_c), ptr(proj_c), forget_bias, clip, cs.data_ptr(), gs.data_ptr(), tcs.data_ptr(),
            ptr(hs if proj is not None else None), ptr(ps if proj is not None else None), out.data_ptr(),
            ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.forget_bias, ctx.clip = work, lens, mk, forget_bias, clip
        final_m = xm[-1, :, depth : depth + out_units].clone(memory_format=torch.contiguous_format)
        return out, cs[-1].clone(), final_m

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None,
                 d_m: torch.Tensor | None) -> tuple[Any, ...]:  # fmt: skip
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn: Callable[..., Any] = lambda x, k, b, p, w, c0, m0, mk: _torch_cifg(
                x, k, b, p, w, c0, m0, mk, ctx.forget_bias, ctx.clip
            )
            return (*double_backward(ctx, fn, (d_out, d_c, d_m), ctx.masks), None, None, None, None)
        xm, cs, gs, tcs, hs, ps = ctx.work.buffers
        x, kernel, _, peep, proj, c0, m0 = ctx.saved_tensors
        (steps, batch, depth), units, out_units = x.shape, c0.shape[1], m0.shape[1]
        dys = out_grad(d_out, (steps, batch, out_units), cs)
        dm, dc = state_grad(d_m, m0), state_grad(d_c, c0)
        with_proj = proj is not None
        grads = _workspace.lease(
            (gs.shape, ps.shape, (batch, units + out_units)), cs
        )  # dZ, dM' (projection only), scratch
        dzs, dps, scratch = grads.buffers
        dpeep = None if peep is None else cs.new_zeros(2, units)
        d_bias = cs.new_zeros(3 * units)  # summed by the native loop
        wt = kernel[depth:].t().contiguous()
        projt = proj.t().contiguous() if with_proj else None
        call(
            "cifg_backward", cs,
            steps, batch, units, out_units, wt.data_ptr(), ptr(None if peep is None else peep.contiguous()),
            ptr(projt), ctx.clip, cs.data_ptr(), gs.data_ptr(), tcs.data_ptr(), ptr(ps if with_proj else None),
            dys.data_ptr(), dm.data_ptr(), dc.data_ptr(), dzs.data_ptr(), ptr(dps if with_proj else None),
            ptr(dpeep), d_bias.data_ptr(), scratch.data_ptr(), ptr(ctx.lens),
        )  # fmt: skip
        dz, need = dzs.view(-1, 3 * units), ctx.needs_input_grad
        d_x = dz.mm(kernel[:depth].t()).view(x.shape) if need[0] else None
        # [X, M_prev]^T @ dZ: the whole kernel's gradient in one product (the padding columns left out)
        rows = xm[:-1].reshape(-1, xm.shape[-1])[:, : depth + out_units]
        d_kernel = rows.t().mm(dz) if need[1] else None
        d_bias_out = d_bias if need[2] else None
        d_proj = None
        if with_proj and need[4]:  # H^T @ dM' over all rows (a finished row's h and dM' are zero)
            d_proj = hs.view(-1, units).t().mm(dps.view(-1, out_units))
        return d_x, d_kernel, d_bias_out, dpeep, d_proj, dc, dm, None, None, None, None


def cifg_lstm_sequence(
    x: torch.Tensor,
    kernel: torch.Tensor,
    bias: torch.Tensor,
    peepholes: torch.Tensor | None,
    projection: torch.Tensor | None,
    c0: torch.Tensor,
    m0: torch.Tensor,
    forget_bias: float = 1.0,
    proj_clip: float | None = None,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run contrib's CoupledInputForgetGateLSTMCell (module docstring) over time-major ``x [T, B, D]``.

    Args:
        x: the inputs (rows past their length zeroed, as ``dynamic_rnn`` pads); kernel ``W_0 [D+P, 3H]``, bias
            ``B [3H]``: TF's variables; peepholes: ``[2, H]`` stacked ``(W_F_diag, W_O_diag)`` or None;
            projection: ``W_P_0 [H, P]`` or None (then ``P = H``); c0 ``[B, H]``, m0 ``[B, P]``; forget_bias:
            added to ``f``; proj_clip: positive float or None (only with a projection); lengths: optional ``[B]``
            int64 (``_mask.py``). All on the CPU in one dtype, float32 or float64.

    Returns:
        ``(outputs [T, B, P], c_T, m_T)``.

    Raises:
        RuntimeError: when the native library is not available (the unrolls check ``native.library()`` first).
    """
    where = "cifg_lstm_sequence"
    steps, batch, depth, units = sequence_dims(where, x, c0, "c0")
    out_units = units if projection is None or projection.dim() == 0 else projection.shape[-1]
    shapes = {"x": tuple(x.shape), "c0": (batch, units), "m0": (batch, out_units)}
    shapes |= {"kernel": (depth + out_units, 3 * units), "bias": (3 * units,)}
    shapes |= {"peepholes": (2, units), "projection": (units, out_units)}
    check_shapes(where, shapes, x=x, kernel=kernel, bias=bias, peepholes=peepholes,
                 projection=projection, c0=c0, m0=m0)  # fmt: skip
    if proj_clip is not None and (projection is None or not float(proj_clip) > 0):
        # a clip <= 0 (or NaN) would read as "no clip" in the loop: refused rather than ignored
        raise ValueError(
            f"{where}: expected proj_clip None, or a positive number with a projection, got {proj_clip!r}"
            f"{'' if projection is not None else ' without a projection'}"
        )
    x, mk, lens = trim(x, lengths)
    clip = -1.0 if proj_clip is None else float(proj_clip)
    out, c, m = _CIFGSequence.apply(
        x.contiguous(), kernel, bias, peepholes, projection, c0.contiguous(), m0.contiguous(),
        float(forget_bias), clip, lens, mk,
    )  # fmt: skip
    return pad_steps(out, steps), c, m
