r"""TF's ``GRUCell`` (tanh) over a whole sequence as one autograd node, its loops native (``native.py``).

For ``t = 0 .. T-1``, with the kernels split into the input rows ``[:D]`` and the recurrent rows ``[D:]``::

    gx, cx = x_t @ Wg[:D] + bg, x_t @ Wc[:D] + bc  # all steps in one product each, before the loop
    r, u = split(sigmoid(gx + h @ Wg[D:]), 2)      # Wg = gates/kernel      [D+H, 2H]
    c    = tanh(cx + (r * h) @ Wc[D:])             # Wc = candidate/kernel  [D+H, H]
    h'   = lerp(c, h, u) = u * h + (1 - u) * c

The forward stores ``r|u``, ``c``, ``r * h`` and every ``h``; the backward runs the reverse recurrence natively
(two products a step: ``dc @ Wc[D:]^T`` and ``d[r|u] @ Wg[D:]^T``) and then each kernel's gradient as two products
over all ``T * B`` rows, ``dWg = [X, H_prev]^T @ d[r|u]`` and ``dWc = [X, R * H_prev]^T @ dc``; the biases' are
sums, and the inputs' ``d[r|u] @ Wg[:D]^T + dc @ Wc[:D]^T`` when they need one.

Why the input products are inside the node rather than autograd's: their ``[T, B, 3H]`` results and gradients
then live in reused buffers (``_workspace.py``) instead of fresh megabytes a call (measured below).
"""

from __future__ import annotations

from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, trim
from .native import check_shapes, library

__all__ = ["gru_sequence"]


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


class _GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, wg: torch.Tensor, bg: torch.Tensor, wc: torch.Tensor,
                bc: torch.Tensor, h0: torch.Tensor, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        native = library()
        assert native is not None  # gru_sequence checked
        steps, batch, depth = x.shape
        units = h0.shape[1]
        rows = (steps, batch, units)
        work = _workspace.lease(
            ((steps + 1, batch, units), (steps, batch, 2 * units), rows, rows), x
        )
        hs, gs, cs, rhs = work.buffers
        flat = x.reshape(steps * batch, depth)
        # gx and cx go where the loop writes r|u and c: each step reads its rows before overwriting them
        torch.addmm(bg, flat, wg[:depth], out=gs.view(-1, 2 * units))
        torch.addmm(bc, flat, wc[:depth], out=cs.view(-1, units))
        hs[0].copy_(h0)
        ug, uc = wg[depth:].contiguous(), wc[depth:].contiguous()
        native.fn("gru_forward", x.dtype)(
            steps, batch, units, gs.data_ptr(), cs.data_ptr(), ug.data_ptr(), uc.data_ptr(),
            hs.data_ptr(), gs.data_ptr(), cs.data_ptr(), rhs.data_ptr(), _ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.masks = work, lens, mk
        ctx.save_for_backward(x, wg, bg, wc, bc, h0)  # version counters catch in-place changes
        out = hs[1:] * mk.keep if mk is not None else hs[1:].clone()
        return out, hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        if (
            torch.is_grad_enabled()
        ):  # create_graph=True (NOTE [double backward], _double_backward.py)
            recorded = double_backward(ctx, _torch_gru, (d_out, d_h), ctx.masks)
            return (*recorded, None, None)
        hs, gs, cs, rhs = ctx.work.buffers
        x, wg, _, wc, _, _ = ctx.saved_tensors
        steps, batch, units = cs.shape
        depth = x.shape[-1]
        ug, uc = wg[depth:].contiguous(), wc[depth:].contiguous()
        dys = hs.new_zeros(steps, batch, units) if d_out is None else d_out.contiguous()
        dh = hs.new_zeros(batch, units) if d_h is None else d_h.contiguous().clone()
        grads = _workspace.lease((gs.shape, cs.shape, (3, batch, units)), hs)
        dgs, dcs, scratch = grads.buffers
        d_bg, d_bc = hs.new_zeros(2 * units), hs.new_zeros(units)  # summed by the native loop
        library().fn("gru_backward", hs.dtype)(  # type: ignore[union-attr]
            steps, batch, units, ug.data_ptr(), uc.data_ptr(), hs.data_ptr(), gs.data_ptr(),
            cs.data_ptr(), dys.data_ptr(), dh.data_ptr(), dgs.data_ptr(), dcs.data_ptr(),
            d_bg.data_ptr(), d_bc.data_ptr(), scratch.data_ptr(), _ptr(ctx.lens),
        )  # fmt: skip
        flat, dg, dc = x.reshape(-1, depth), dgs.view(-1, 2 * units), dcs.view(-1, units)
        need = ctx.needs_input_grad
        d_x = d_wg = d_wc = None
        if need[0]:
            d_x = torch.addmm(dg.mm(wg[:depth].t()), dc, wc[:depth].t()).view(x.shape)
        if need[1]:
            d_wg = wg.new_empty(wg.shape)
            torch.mm(flat.t(), dg, out=d_wg[:depth])
            torch.mm(hs[:-1].reshape(-1, units).t(), dg, out=d_wg[depth:])
        if need[3]:
            d_wc = wc.new_empty(wc.shape)
            torch.mm(flat.t(), dc, out=d_wc[:depth])
            torch.mm(rhs.view(-1, units).t(), dc, out=d_wc[depth:])
        return d_x, d_wg, d_bg if need[2] else None, d_wc, d_bc if need[4] else None, dh, None, None


def _torch_gru(x: torch.Tensor, wg: torch.Tensor, bg: torch.Tensor, wc: torch.Tensor, bc: torch.Tensor,
               h0: torch.Tensor, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """The same recurrence in torch ops (autograd records it): the double-backward path."""
    depth, h, outputs = x.shape[-1], h0, []
    gx, cx = x @ wg[:depth] + bg, x @ wc[:depth] + bc
    for t in range(x.shape[0]):
        r, u = torch.sigmoid(gx[t] + h @ wg[depth:]).chunk(2, 1)
        new = torch.lerp(torch.tanh(cx[t] + (r * h) @ wc[depth:]), h, u)
        h = torch.where(mk.keep[t] > 0, new, h) if mk is not None and mk.masked[t] else new
        outputs.append(h)
    out = torch.stack(outputs)
    return (out * mk.keep if mk is not None else out), h


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
    if library() is None:
        raise RuntimeError("gru_sequence: the native loops are not available here")
    if x.dim() != 3 or h0.dim() != 2:
        raise ValueError(
            f"gru_sequence: expected x [T, B, D] and h0 [B, H], got {list(x.shape)}, {list(h0.shape)}"
        )
    (steps, batch, depth), units = x.shape, h0.shape[1]
    rows, shapes = depth + units, {"x": tuple(x.shape), "h0": (batch, units)}
    shapes |= {"gates_kernel": (rows, 2 * units), "gates_bias": (2 * units,)}
    shapes |= {"candidate_kernel": (rows, units), "candidate_bias": (units,)}
    check_shapes("gru_sequence", shapes, x=x, h0=h0, gates_kernel=gates_kernel, gates_bias=gates_bias,
                 candidate_kernel=candidate_kernel, candidate_bias=candidate_bias)  # fmt: skip
    x, mk, lens = trim(x, lengths)
    out, h = _GRUSequence.apply(
        x.contiguous(),
        gates_kernel,
        gates_bias,
        candidate_kernel,
        candidate_bias,
        h0.contiguous(),
        lens,
        mk,
    )
    if out.shape[0] < steps:
        out = torch.cat([out, out.new_zeros(steps - out.shape[0], *out.shape[1:])])
    return out, h
