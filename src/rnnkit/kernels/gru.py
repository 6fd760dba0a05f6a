r"""TF's ``GRUCell`` (tanh) over a whole sequence as one autograd node, its loops native (``native.py``).

For ``t = 0 .. T-1``::

    r, u = split(sigmoid([x_t, h] @ Wg + bg), 2)   # Wg = gates/kernel      [D+H, 2H]
    c    = tanh([x_t, r * h] @ Wc + bc)            # Wc = candidate/kernel  [D+H, H]
    h'   = lerp(c, h, u) = u * h + (1 - u) * c

Each step's product takes ``[x_t, h]`` (and ``[x_t, r * h]``) from one buffer row, so the input and the recurrent
half of the kernel are one product with ``K = D + H``, in cache (no ``[T, B, 3H]`` input projection through
memory). The loop copies ``x_t`` into those rows itself, reading ``x`` where it lies (batch- or time-major, no
layout copy first). The forward stores ``r|u``, ``c`` and the rows ``[x_t, h_{t-1}]``, ``[x_t, r * h_{t-1}]``;
the backward reads the outputs' gradient where it lies too, runs the reverse recurrence natively (two products a
step: ``dc @ Wc[D:]^T`` and ``d[r|u] @ Wg[D:]^T``), sums the biases' gradients as it goes, and adds up the
kernels' gradients ``dWg = [X, H_prev]^T @ d[r|u]`` and ``dWc = [X, R * H_prev]^T @ dc`` every ~128 rows, while
those rows are in cache (``native.weight_grad_chunk``); the inputs' is ``d[r|u] @ Wg[:D]^T + dc @ Wc[:D]^T``
when they need one. All of it lives in reused buffers (``_workspace.py``), not fresh megabytes a call.
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

__all__ = ["gru_sequence"]


class _GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, wg: torch.Tensor, bg: torch.Tensor, wc: torch.Tensor,
                bc: torch.Tensor, h0: torch.Tensor, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, wg, bg, wc, bc, h0)
        steps, batch, depth = x.shape
        units = h0.shape[1]
        # [x, h] rows, padded (columns past D + H are never read)
        wide = _workspace.row_stride(depth + units)
        gates, rows = (steps, batch, 2 * units), (steps, batch, units)
        work = _workspace.lease(((steps + 1, batch, wide), (steps, batch, wide), gates, rows), x)
        # xh[t] = [x_t, h_{t-1}], xr[t] = [x_t, r * h_{t-1}]; the loop fills in x_t
        xh, xr, gs, cs = work.buffers
        xh[0, :, depth : depth + units].copy_(h0)
        wg, bg, wc, bc = wg.contiguous(), bg.contiguous(), wc.contiguous(), bc.contiguous()
        out = x.new_empty(rows)  # the caller's: written by the loop, zero where a row has ended
        xs = rows_view(x)
        call(
            "gru_forward", x,
            steps, batch, depth, units, wide, xs.data_ptr(), xs.stride(0), xs.stride(1), xh.data_ptr(),
            xr.data_ptr(), wg.data_ptr(), bg.data_ptr(), wc.data_ptr(), bc.data_ptr(), gs.data_ptr(), cs.data_ptr(),
            out.data_ptr(), ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.masks = work, lens, mk
        return out, xh[-1, :, depth : depth + units].clone(memory_format=torch.contiguous_format)

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            return (*double_backward(ctx, _torch_gru, (d_out, d_h), ctx.masks), None, None)
        xh, xr, gs, cs = ctx.work.buffers
        x, wg, _, wc, _, h0 = ctx.saved_tensors
        steps, batch, units = cs.shape
        depth = x.shape[-1]
        dys = None if d_out is None else rows_view(d_out)
        dh = state_grad(d_h, h0)
        grads = _workspace.lease((gs.shape, cs.shape, (3 * batch * units + units,)), cs)
        dgs, dcs, scratch = grads.buffers
        need = ctx.needs_input_grad
        d_bg, d_bc = cs.new_zeros(2 * units), cs.new_zeros(units)  # summed by the native loop
        # [X, H_prev]^T @ d[r|u] and [X, R * H_prev]^T @ dc, added up by the loop every few steps
        d_wg = cs.new_zeros(wg.shape) if need[1] else None
        d_wc = cs.new_zeros(wc.shape) if need[3] else None
        ugt, uct = wg[depth:].t().contiguous(), wc[depth:].t().contiguous()
        call(
            "gru_backward", cs,
            steps, batch, depth, units, xh.shape[-1], ugt.data_ptr(), uct.data_ptr(), xh.data_ptr(), xr.data_ptr(),
            gs.data_ptr(), cs.data_ptr(), ptr(dys), *row_strides(dys), dh.data_ptr(), dgs.data_ptr(),
            dcs.data_ptr(), d_bg.data_ptr(), d_bc.data_ptr(), ptr(d_wg), ptr(d_wc), weight_grad_chunk(batch),
            scratch.data_ptr(), ptr(ctx.lens),
        )  # fmt: skip
        d_x = None
        if need[0]:
            dg, dc = dgs.view(-1, 2 * units), dcs.view(-1, units)
            d_x = torch.addmm(dg.mm(wg[:depth].t()), dc, wc[:depth].t()).view(x.shape)
        return d_x, d_wg, d_bg if need[2] else None, d_wc, d_bc if need[4] else None, dh, None, None


def _torch_gru(x: torch.Tensor, wg: torch.Tensor, bg: torch.Tensor, wc: torch.Tensor, bc: torch.Tensor,
               h0: torch.Tensor, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """The same recurrence in torch ops (autograd records it): the double-backward path."""
    depth, h, outputs = x.shape[-1], h0, []
    gx, cx = x @ wg[:depth] + bg, x @ wc[:depth] + bc
    for t in range(x.shape[0]):
        r, u = torch.sigmoid(gx[t] + h @ wg[depth:]).chunk(2, 1)
        new = torch.lerp(torch.tanh(cx[t] + (r * h) @ wc[depth:]), h, u)
        h = keep_rows(mk, t, new, h)
        outputs.append(h)
    return stack_steps(outputs, mk), h


def gru_sequence(
    x: torch.Tensor,
    gates_kernel: torch.Tensor,
    gates_bias: torch.Tensor,
    candidate_kernel: torch.Tensor,
    candidate_bias: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run TF's GRU (module docstring) over time-major ``x [T, B, D]``.

    Args:
        x: the inputs (rows past their length zeroed, as ``dynamic_rnn`` pads); gates_kernel ``[D+H, 2H]``,
            gates_bias ``[2H]``, candidate_kernel ``[D+H, H]``, candidate_bias ``[H]``: TF's variables;
            h0 ``[B, H]``; lengths: optional ``[B]`` int64 (TF's sequence_length rule, ``_mask.py``). All on the
            CPU in one dtype, float32 or float64.

    Returns:
        ``(outputs [T, B, H], h_T [B, H])``.

    Raises:
        RuntimeError: when the native library is not available (``native.unavailable_reason()``); the unrolls
        check ``native.library()`` before they call this.
    """
    steps, batch, depth, units = sequence_dims("gru_sequence", x, h0, "h0")
    rows, shapes = depth + units, {"x": tuple(x.shape), "h0": (batch, units)}
    shapes |= {"gates_kernel": (rows, 2 * units), "gates_bias": (2 * units,)}
    shapes |= {"candidate_kernel": (rows, units), "candidate_bias": (units,)}
    check_shapes("gru_sequence", shapes, x=x, h0=h0, gates_kernel=gates_kernel, gates_bias=gates_bias,
                 candidate_kernel=candidate_kernel, candidate_bias=candidate_bias)  # fmt: skip
    x, mk, lens = trim(x, lengths)
    out, h = _GRUSequence.apply(
        x,
        gates_kernel,
        gates_bias,
        candidate_kernel,
        candidate_bias,
        h0.contiguous(),
        lens,
        mk,
    )
    out = pad_steps(out, steps)
    return out, h
