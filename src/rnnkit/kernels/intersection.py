r"""contrib's ``IntersectionRNNCell`` over a whole sequence as one autograd node, loops native
(``native/contrib_real.h``)::

    x', zx = the cell's input_projection (x' the depth input, projected when D != H; zx = x' @ kernel[:H] + bias)
    gh, hc, gy, yc = split(zx + h @ kernel[H:], 4)
    gh, gy = sigmoid(gh + forget_bias), sigmoid(gy + forget_bias)
    h' = gh * h + (1 - gh) * tanh(hc)                   # the state, through time
    y  = gy * x' + (1 - gy) * y_activation(yc)          # the output, through depth (relu or tanh)

The input projection stays the cell's (autograd differentiates it); per step the loop runs ``h @ kernel[H:]`` and
the gates, the backward ``dz @ kernel[H:]^T``, and then the recurrent rows' gradient is one product
``H_prev^T @ dZ`` over all ``T * B`` rows. Under ``create_graph=True`` it recomputes in torch ops
(NOTE [double backward]).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, keep_rows, pad_steps, stack_steps, trim
from .native import call, check_shapes, out_grad, ptr, sequence_dims, state_grad

__all__ = ["intersection_sequence"]


def _torch_intersection(xp: torch.Tensor, zx: torch.Tensor, w: torch.Tensor, h: torch.Tensor, mk: Masks | None,
                        forget_bias: float, relu: bool) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IntersectionRNN in torch ops (autograd records it): the double-backward path."""
    act, outputs = torch.relu if relu else torch.tanh, []
    for t in range(zx.shape[0]):
        gh, hc, gy, yc = (zx[t] + h @ w).chunk(4, 1)
        gh, gy = torch.sigmoid(gh + forget_bias), torch.sigmoid(gy + forget_bias)
        new_h = gh * h + (1.0 - gh) * torch.tanh(hc)
        outputs.append(gy * xp[t] + (1.0 - gy) * act(yc))
        h = keep_rows(mk, t, new_h, h)
    return stack_steps(outputs, mk), h


class _Intersection(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, xp: torch.Tensor, zx: torch.Tensor, w: torch.Tensor, h0: torch.Tensor,
                forget_bias: float, relu: bool, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(xp, zx, w, h0)
        steps, batch, units = xp.shape
        work = _workspace.lease(((steps + 1, batch, units), zx.shape), zx)
        hs, gs = work.buffers
        hs[0].copy_(h0)
        out, w_c = xp.new_empty(steps, batch, units), w.contiguous()
        call(
            "inter_forward", xp,
            steps, batch, units, xp.data_ptr(), zx.data_ptr(), w_c.data_ptr(), forget_bias, int(relu),
            hs.data_ptr(), gs.data_ptr(), out.data_ptr(), ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.forget_bias, ctx.relu = work, lens, mk, forget_bias, relu
        return out, hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn: Callable[..., Any] = lambda xp, zx, w, h, mk: _torch_intersection(
                xp, zx, w, h, mk, ctx.forget_bias, ctx.relu
            )
            return (*double_backward(ctx, fn, (d_out, d_h), ctx.masks), None, None, None, None)
        hs, gs = ctx.work.buffers
        xp, zx, w, h0 = ctx.saved_tensors
        steps, batch, units = xp.shape
        dys = out_grad(d_out, xp.shape, xp)
        dh = state_grad(d_h, h0)
        dzs, dxs, scratch = torch.empty_like(gs), torch.empty_like(dys), xp.new_empty(batch, units)
        wt = w.t().contiguous()
        call(
            "inter_backward", xp,
            steps, batch, units, wt.data_ptr(), xp.contiguous().data_ptr(), hs.data_ptr(), gs.data_ptr(),
            dys.data_ptr(), int(ctx.relu), dh.data_ptr(), dzs.data_ptr(), dxs.data_ptr(), scratch.data_ptr(),
            ptr(ctx.lens),
        )  # fmt: skip
        need = ctx.needs_input_grad
        d_w = hs[:-1].reshape(-1, units).t().mm(dzs.view(-1, 4 * units)) if need[2] else None
        return dxs, dzs, d_w, dh, None, None, None, None


def intersection_sequence(
    xp: torch.Tensor, zx: torch.Tensor, recurrent_kernel: torch.Tensor, h0: torch.Tensor,
    forget_bias: float = 1.0, relu: bool = True, lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IntersectionRNN (module docstring) over time-major ``xp [T, B, H]`` (the depth input) and ``zx [T, B, 4H]``
    (the input projection, bias included), with ``recurrent_kernel = kernel[H:] [H, 4H]``, from ``h0 [B, H]``;
    ``relu``: the depth candidate's activation is relu (else tanh). Returns ``(outputs [T, B, H], h_T)``."""
    steps, batch, _, units = sequence_dims("intersection_sequence", xp, h0, "h0")
    shapes = {
        "xp": (steps, batch, units),
        "zx": (steps, batch, 4 * units),
        "recurrent_kernel": (units, 4 * units),
    }
    check_shapes("intersection_sequence", shapes | {"h0": (batch, units)}, xp=xp, zx=zx,
                 recurrent_kernel=recurrent_kernel, h0=h0)  # fmt: skip
    xp_t, mk, lens = trim(xp, lengths)
    zx_t = zx if mk is None else zx[: mk.steps]
    out, h = _Intersection.apply(xp_t.contiguous(), zx_t.contiguous(), recurrent_kernel, h0.contiguous(),
                                 float(forget_bias), bool(relu), lens, mk)  # fmt: skip
    out = pad_steps(out, steps)
    return out, h
