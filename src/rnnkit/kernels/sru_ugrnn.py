r"""contrib's ``SRUCell`` and ``UGRNNCell`` (tanh) over a whole sequence as one autograd node, loops native
(``native/contrib_real.h``)::

    SRU:    x_bar, f, r, x_tx = split(x @ kernel, 4);  f, r = sigmoid([f, r] + bias)
            c' = f * c + (1 - f) * x_bar;  h = r * tanh(c') + (1 - r) * x_tx       # output h, state c'
    UGRNN:  g, c = split([x_t, h] @ kernel + bias, 2);  g = sigmoid(g + forget_bias);  c = tanh(c)
            h' = g * h + (1 - g) * c

SRU's recurrence is pointwise only (no matrix acts on the state); its one product of all steps goes into a reused
buffer (``_workspace.py``) that the loop then overwrites with the activated gates, and the kernel's gradient is
one product ``X^T @ dP``. UGRNN's step is one product on the buffer row
``[x_t, h]`` (as the GRU kernel's, ``gru.py``), and its kernel's gradient one product ``[X, H_prev]^T @ dZ`` over
all rows. Under ``create_graph=True`` the backward recomputes in torch ops (NOTE [double backward]).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, keep_rows, pad_steps, stack_steps, trim
from .native import call, check_shapes, out_grad, ptr, sequence_dims, state_grad

__all__ = ["sru_sequence", "ugrnn_sequence"]


def _torch_sru(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, c: torch.Tensor,
               mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """SRU in torch ops (autograd records it): the double-backward path."""
    outputs = []
    for t in range(x.shape[0]):
        x_bar, f, r, x_tx = (x[t] @ kernel).chunk(4, 1)
        f, r = torch.sigmoid(torch.cat([f, r], 1) + bias).chunk(2, 1)
        new_c = f * c + (1.0 - f) * x_bar
        outputs.append(r * torch.tanh(new_c) + (1.0 - r) * x_tx)
        c = keep_rows(mk, t, new_c, c)
    return stack_steps(outputs, mk), c


def _torch_ugrnn(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, h: torch.Tensor, mk: Masks | None,
                 forget_bias: float) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """UGRNN in torch ops: the double-backward path."""
    depth, outputs = x.shape[-1], []
    zx = x @ kernel[:depth] + bias
    for t in range(x.shape[0]):
        g, c = (zx[t] + h @ kernel[depth:]).chunk(2, 1)
        g = torch.sigmoid(g + forget_bias)
        h = keep_rows(mk, t, g * h + (1.0 - g) * torch.tanh(c), h)
        outputs.append(h)
    return stack_steps(outputs, mk), h


class _SRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, c0: torch.Tensor,
                lens: torch.Tensor | None, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, kernel, bias, c0)
        steps, batch, depth = x.shape
        units = c0.shape[1]
        rows = (steps, batch, units)
        work = _workspace.lease(((steps, batch, 4 * units), (steps + 1, batch, units), rows), x)
        ps, cs, ts = work.buffers
        torch.mm(x.reshape(-1, depth), kernel, out=ps.view(-1, 4 * units))
        cs[0].copy_(c0)
        out, bias = x.new_empty(rows), bias.contiguous()
        call("sru_forward", x, steps, batch, units, ps.data_ptr(), bias.data_ptr(), cs.data_ptr(), ts.data_ptr(),
              out.data_ptr(), ptr(lens))  # fmt: skip
        ctx.work, ctx.lens, ctx.masks = work, lens, mk
        return out, cs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None) -> tuple[Any, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            return (*double_backward(ctx, _torch_sru, (d_out, d_c), ctx.masks), None, None)
        ps, cs, ts = ctx.work.buffers
        x, kernel, _, c0 = ctx.saved_tensors
        dys = out_grad(d_out, ts.shape, ts)
        dc = state_grad(d_c, c0)
        grads = _workspace.lease((ps.shape,), ps)
        (dps,) = grads.buffers
        d_bias = ps.new_zeros(2 * c0.shape[1])  # summed by the native loop
        call("sru_backward", x, *ts.shape, ps.data_ptr(), cs.data_ptr(), ts.data_ptr(), dys.data_ptr(),
              dc.data_ptr(), dps.data_ptr(), d_bias.data_ptr(), ptr(ctx.lens))  # fmt: skip
        dp, need = dps.view(-1, ps.shape[-1]), ctx.needs_input_grad
        d_x = dp.mm(kernel.t()).view(x.shape) if need[0] else None
        d_kernel = x.reshape(-1, x.shape[-1]).t().mm(dp) if need[1] else None
        return d_x, d_kernel, d_bias if need[2] else None, dc, None, None


class _UGRNN(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, h0: torch.Tensor,
                forget_bias: float, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, kernel, bias, h0)
        steps, batch, depth = x.shape
        units = h0.shape[1]
        wide = _workspace.row_stride(
            depth + units
        )  # [x, h] rows, padded (columns past D + H never read)
        work = _workspace.lease(((steps + 1, batch, wide), (steps, batch, 2 * units)), x)
        xh, gs = work.buffers
        xh[:steps, :, :depth].copy_(x)
        xh[0, :, depth : depth + units].copy_(h0)
        kernel, bias = kernel.contiguous(), bias.contiguous()
        out = x.new_empty(steps, batch, units)
        call("ugrnn_forward", x, steps, batch, depth, units, wide, xh.data_ptr(), kernel.data_ptr(),
              bias.data_ptr(), forget_bias, gs.data_ptr(), out.data_ptr(), ptr(lens))  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.forget_bias = work, lens, mk, forget_bias
        return out, xh[-1, :, depth : depth + units].clone(memory_format=torch.contiguous_format)

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn: Callable[..., Any] = lambda x, k, b, h, mk: _torch_ugrnn(
                x, k, b, h, mk, ctx.forget_bias
            )
            return (*double_backward(ctx, fn, (d_out, d_h), ctx.masks), None, None, None)
        xh, gs = ctx.work.buffers
        x, kernel, _, h0 = ctx.saved_tensors
        (steps, batch, depth), units = x.shape, h0.shape[1]
        dys = out_grad(d_out, (steps, batch, units), gs)
        dh = state_grad(d_h, h0)
        grads = _workspace.lease((gs.shape, (batch, units)), gs)
        dzs, scratch = grads.buffers
        d_bias, wt = gs.new_zeros(2 * units), kernel[depth:].t().contiguous()
        call("ugrnn_backward", x, steps, batch, depth, units, xh.shape[-1], wt.data_ptr(), xh.data_ptr(),
              gs.data_ptr(), dys.data_ptr(), dh.data_ptr(), dzs.data_ptr(), d_bias.data_ptr(), scratch.data_ptr(),
              ptr(ctx.lens))  # fmt: skip
        dz, need = dzs.view(-1, 2 * units), ctx.needs_input_grad
        d_x = dz.mm(kernel[:depth].t()).view(x.shape) if need[0] else None
        rows = xh[:-1].reshape(-1, xh.shape[-1])[
            :, : depth + units
        ]  # [X, H_prev], padding left out
        d_kernel = rows.t().mm(dz) if need[1] else None
        return d_x, d_kernel, d_bias if need[2] else None, dh, None, None, None


def sru_sequence(
    x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, c0: torch.Tensor,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """SRU (module docstring) over time-major ``x [T, B, D]`` with TF's ``kernel [D, 4H]`` and ``bias [2H]``, from
    ``c0 [B, H]``. Returns ``(outputs [T, B, H], c_T)``."""
    steps, batch, depth, units = sequence_dims("sru_sequence", x, c0, "c0")
    shapes = {
        "x": tuple(x.shape),
        "kernel": (depth, 4 * units),
        "bias": (2 * units,),
        "c0": (batch, units),
    }
    check_shapes("sru_sequence", shapes, x=x, kernel=kernel, bias=bias, c0=c0)
    trimmed, mk, lens = trim(x, lengths)
    out, c = _SRU.apply(trimmed.contiguous(), kernel, bias, c0.contiguous(), lens, mk)
    return pad_steps(out, steps), c


def ugrnn_sequence(
    x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, h0: torch.Tensor, forget_bias: float = 1.0,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """UGRNN over time-major ``x [T, B, D]`` with TF's ``kernel [D+H, 2H]`` and ``bias [2H]``, from ``h0 [B, H]``.
    Returns ``(outputs [T, B, H], h_T)``."""
    steps, batch, depth, units = sequence_dims("ugrnn_sequence", x, h0, "h0")
    shapes = {"x": tuple(x.shape), "kernel": (depth + units, 2 * units), "bias": (2 * units,)}
    check_shapes(
        "ugrnn_sequence", shapes | {"h0": (batch, units)}, x=x, kernel=kernel, bias=bias, h0=h0
    )
    trimmed, mk, lens = trim(x, lengths)
    out, h = _UGRNN.apply(
        trimmed.contiguous(), kernel, bias, h0.contiguous(), float(forget_bias), lens, mk
    )
    return pad_steps(out, steps), h
