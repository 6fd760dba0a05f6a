r"""TF's ``LSTMCell`` with peepholes and/or ``cell_clip`` (tanh, no projection) over a whole sequence as one
autograd node, its loops native (``native.py``).

For ``t = 0 .. T-1`` (``forget_bias`` folded into ``f``'s bias; ``[x_t, m]`` is one buffer row, so the product
is one, with ``K = D + H``)::

    i, j, f, o = split([x_t, m] @ kernel + bias, 4)             # kernel [D+H, 4H]
    c' = sigmoid(f + w_f * c) * c + sigmoid(i + w_i * c) * tanh(j)
    c' = clip_by_value(c', -cell_clip, cell_clip)               # when cell_clip is given
    m' = sigmoid(o + w_o * c') * tanh(c')                       # peephole terms only with use_peepholes

The forward stores the activated gates, ``tanh(c')``, every ``c`` and the rows ``[x_t, m_{t-1}]`` (and ``c'``
before the clip); the backward runs the reverse recurrence natively (one product a step, ``dz @ kernel[D:]^T``),
adds up the peephole and bias gradients as it goes and the kernel's gradient ``[X, M_prev]^T @ dZ`` every ~128
rows, in cache; then the inputs' ``dZ @ kernel[:D]^T`` (when they need one). ``x`` and the outputs' gradient
are read where they lie, and buffers are reused (``_workspace.py``), as in ``gru.py``. The clip passes the gradient
where ``-cell_clip <= c' <= cell_clip``, as TF's ``clip_by_value`` (``cells/lstm.py``), or everywhere
(``clip_gradient=False``: contrib's ``LSTMBlockCell``, whose TF kernels ignore the clip in the backward).
"""

from __future__ import annotations

from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, keep_rows, pad_steps, stack_steps, trim
from .native import (
    call,
    check_shapes,
    ptr,
    row_strides,
    rows_view,
    sequence_dims,
    state_grad,
    weight_grad_chunk,
)

__all__ = ["peephole_lstm_sequence"]


class _LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, peep: torch.Tensor | None,
                c0: torch.Tensor, m0: torch.Tensor, forget_bias: float, clip: float, clip_gradient: bool,
                lens: torch.Tensor | None, mk: Masks | None) -> tuple[torch.Tensor, ...]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, kernel, bias, peep, c0, m0)
        steps, batch, depth = x.shape
        units = c0.shape[1]
        # [x, m] rows, padded (columns past D + H are never read)
        wide, rows = _workspace.row_stride(depth + units), (steps, batch, units)
        shapes = (
            (steps + 1, batch, wide),
            (steps + 1, batch, units),
            (steps, batch, 4 * units),
            rows,
        )
        work = _workspace.lease((*shapes, rows if clip > 0 else (0,)), x)
        xm, cs, gs, tcs, ups = work.buffers  # xm[t] = [x_t, m_{t-1}] (the loop fills x_t)
        xm[0, :, depth : depth + units].copy_(m0)
        cs[0].copy_(c0)
        # forget_bias folded into f's bias, as LSTMCell.input_projection rounds it
        b_i, b_j, b_f, b_o = bias.chunk(4)
        folded = torch.cat([b_i, b_j, b_f + forget_bias, b_o])
        kernel, peep_c = kernel.contiguous(), None if peep is None else peep.contiguous()
        out = x.new_empty(rows)  # the caller's: written by the loop, zero where a row has ended
        xs = rows_view(x)
        call(
            "lstm_forward", x,
            steps, batch, depth, units, wide, xs.data_ptr(), xs.stride(0), xs.stride(1), xm.data_ptr(),
            kernel.data_ptr(), folded.data_ptr(), ptr(peep_c), clip, cs.data_ptr(), gs.data_ptr(), tcs.data_ptr(),
            ups.data_ptr(), out.data_ptr(), ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.clip, ctx.masks, ctx.forget_bias = work, lens, clip, mk, forget_bias
        ctx.clip_gradient = clip_gradient
        final_m = xm[-1, :, depth : depth + units].clone(memory_format=torch.contiguous_format)
        return out, cs[-1].clone(), final_m

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None,
                 d_m: torch.Tensor | None) -> tuple[Any, ...]:  # fmt: skip
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            torch_lstm = lambda x, k, b, p, c0, m0, mk: _torch_lstm(
                x, k, b, p, c0, m0, mk, ctx.forget_bias, ctx.clip, ctx.clip_gradient
            )
            recorded = double_backward(ctx, torch_lstm, (d_out, d_c, d_m), ctx.masks)
            return (*recorded, None, None, None, None, None)
        xm, cs, gs, tcs, ups = ctx.work.buffers
        x, kernel, _, peep, c0, m0 = ctx.saved_tensors
        peep = None if peep is None else peep.contiguous()
        steps, batch, units = tcs.shape
        depth = x.shape[-1]
        dys = None if d_out is None else rows_view(d_out)
        dm = state_grad(d_m, m0)
        dc = state_grad(d_c, c0)
        grads = _workspace.lease((gs.shape, (batch * units + units,)), cs)
        dzs, scratch = grads.buffers
        need = ctx.needs_input_grad
        dpeep = None if peep is None else cs.new_zeros(3, units)
        d_bias = cs.new_zeros(4 * units)  # summed by the native loop
        d_kernel = (
            cs.new_zeros(kernel.shape) if need[1] else None
        )  # [X, M_prev]^T @ dZ, added up by the loop
        wt = kernel[depth:].t().contiguous()
        clip_mask = ctx.clip if ctx.clip_gradient else -1.0  # <= 0: the gradient passes the clip
        call(
            "lstm_backward", cs,
            steps, batch, depth, units, xm.shape[-1], wt.data_ptr(), ptr(peep), clip_mask, xm.data_ptr(),
            cs.data_ptr(), gs.data_ptr(), tcs.data_ptr(), ups.data_ptr(), ptr(dys), *row_strides(dys),
            dm.data_ptr(), dc.data_ptr(), dzs.data_ptr(), ptr(dpeep), d_bias.data_ptr(), ptr(d_kernel),
            weight_grad_chunk(batch), scratch.data_ptr(), ptr(ctx.lens),
        )  # fmt: skip
        d_x = dzs.view(-1, 4 * units).mm(kernel[:depth].t()).view(x.shape) if need[0] else None
        d_bias_out = d_bias if need[2] else None
        return d_x, d_kernel, d_bias_out, dpeep, dc, dm, None, None, None, None, None


def _torch_lstm(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, peep: torch.Tensor | None,
                c0: torch.Tensor, m0: torch.Tensor, mk: Masks | None, forget_bias: float,
                clip: float, clip_gradient: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """The same recurrence in torch ops (autograd records it): the double-backward path."""
    depth, c, m, outputs = x.shape[-1], c0, m0, []
    b_i, b_j, b_f, b_o = bias.chunk(4)
    zx = x @ kernel[:depth] + torch.cat([b_i, b_j, b_f + forget_bias, b_o])
    for t in range(x.shape[0]):
        i, j, f, o = (zx[t] + m @ kernel[depth:]).chunk(4, 1)
        if peep is not None:
            i, f = i + peep[0] * c, f + peep[1] * c
        new_c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(j)
        if clip > 0:  # clip_by_value, gradient 1 on the bounds (cells/lstm.py)
            clipped = torch.where(new_c > clip, clip, torch.where(new_c < -clip, -clip, new_c))
            new_c = clipped if clip_gradient else new_c + (clipped - new_c).detach()
        if peep is not None:
            o = o + peep[2] * new_c
        new_m = torch.sigmoid(o) * torch.tanh(new_c)
        c, m = keep_rows(mk, t, new_c, c), keep_rows(mk, t, new_m, m)
        outputs.append(m)
    return stack_steps(outputs, mk), c, m


def peephole_lstm_sequence(
    x: torch.Tensor,
    kernel: torch.Tensor,
    bias: torch.Tensor,
    peepholes: torch.Tensor | None,
    c0: torch.Tensor,
    m0: torch.Tensor,
    forget_bias: float = 1.0,
    cell_clip: float | None = None,
    lengths: torch.Tensor | None = None,
    clip_gradient: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run TF's LSTMCell (module docstring) over time-major ``x [T, B, D]``.

    Args:
        x: the inputs (rows past their length zeroed, as ``dynamic_rnn`` pads); kernel ``[D+H, 4H]``, bias
            ``[4H]``: TF's variables; peepholes: ``[3, H]`` stacked ``(w_i_diag, w_f_diag, w_o_diag)`` or None;
            c0, m0 ``[B, H]``; forget_bias: added to ``f``; cell_clip: positive float or None; lengths: optional
            ``[B]`` int64 (``_mask.py``). All on the CPU in one dtype, float32 or float64.
        clip_gradient: the clip's gradient is ``clip_by_value``'s (True) or passes unchanged (False).

    Returns:
        ``(outputs [T, B, H], c_T, m_T)``.

    Raises:
        RuntimeError: when the native library is not available (the unrolls check ``native.library()`` first).
    """
    steps, batch, depth, units = sequence_dims("peephole_lstm_sequence", x, c0, "c0")
    shapes = {
        "x": tuple(x.shape),
        "c0": (batch, units),
        "m0": (batch, units),
        "peepholes": (3, units),
    }
    shapes |= {"kernel": (depth + units, 4 * units), "bias": (4 * units,)}
    check_shapes("peephole_lstm_sequence", shapes, x=x, kernel=kernel, bias=bias, peepholes=peepholes, c0=c0,
                 m0=m0)  # fmt: skip
    x, mk, lens = trim(x, lengths)
    clip = -1.0 if cell_clip is None else float(cell_clip)
    out, c, m = _LSTMSequence.apply(
        x, kernel, bias, peepholes, c0.contiguous(), m0.contiguous(), float(forget_bias), clip,
        bool(clip_gradient), lens, mk,
    )  # fmt: skip
    out = pad_steps(out, steps)
    return out, c, m
