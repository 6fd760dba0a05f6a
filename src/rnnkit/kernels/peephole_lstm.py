r"""TF's ``LSTMCell`` with peepholes and/or ``cell_clip`` (tanh, no projection) over a whole sequence as one
autograd node, its loops native (``native.py``).

For ``t = 0 .. T-1``, from ``zx[t] = x_t @ kernel[:D] + bias`` (``forget_bias`` folded into ``f``, computed by the
caller and differentiable by autograd)::

    i, j, f, o = split(zx[t] + m @ W, 4)                        # W = kernel[D:]  [H, 4H]
    c' = sigmoid(f + w_f * c) * c + sigmoid(i + w_i * c) * tanh(j)
    c' = clip_by_value(c', -cell_clip, cell_clip)               # when cell_clip is given
    m' = sigmoid(o + w_o * c') * tanh(c')                       # peephole terms only with use_peepholes

The forward stores the activated gates, ``tanh(c')``, every ``c`` and ``m`` (and ``c'`` before the clip); the
backward runs the reverse recurrence natively (one product a step, ``dz @ W^T``), adds up the peephole gradients
as it goes, and then ``dW = M_prev^T @ dZ`` as one product over all ``T * B`` rows. The clip passes the gradient
where ``-cell_clip <= c' <= cell_clip``, as TF's ``clip_by_value`` (``cells/lstm.py``).
"""

from __future__ import annotations

from typing import Any

import torch

from . import _workspace
from ._mask import Masks, masks
from .native import NativeLibrary, library

__all__ = ["peephole_lstm_sequence"]


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


class _LSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, zx: torch.Tensor, w: torch.Tensor, peep: torch.Tensor | None, c0: torch.Tensor,
                m0: torch.Tensor, clip: float, native: NativeLibrary, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        steps, batch, four = zx.shape
        units = four // 4
        w = w.contiguous()
        peep = None if peep is None else peep.contiguous()
        state, gates = (steps + 1, batch, units), (steps, batch, 4 * units)
        rows = (steps, batch, units)
        work = _workspace.lease((state, state, gates, rows, rows if clip > 0 else (0,)), zx)
        ms, cs, gs, tcs, ups = work.buffers
        ms[0].copy_(m0)
        cs[0].copy_(c0)
        native.fn("lstm_forward", zx.dtype)(
            steps, batch, units, zx.data_ptr(), w.data_ptr(), _ptr(peep), clip, ms.data_ptr(),
            cs.data_ptr(), gs.data_ptr(), tcs.data_ptr(), ups.data_ptr(), _ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.native, ctx.lens, ctx.w, ctx.peep, ctx.clip = (
            work,
            native,
            lens,
            w,
            peep,
            clip,
        )
        out = ms[1:] * mk.keep if mk is not None else ms[1:].clone()
        return out, cs[-1].clone(), ms[-1].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None,
                 d_m: torch.Tensor | None) -> tuple[Any, ...]:  # fmt: skip
        ms, cs, gs, tcs, ups = ctx.work.buffers
        steps, batch, units = tcs.shape
        dys = ms.new_zeros(steps, batch, units) if d_out is None else d_out.contiguous()
        dm = ms.new_zeros(batch, units) if d_m is None else d_m.contiguous().clone()
        dc = ms.new_zeros(batch, units) if d_c is None else d_c.contiguous().clone()
        dzs = torch.empty_like(gs)
        dpeep = None if ctx.peep is None else ms.new_zeros(3, units)
        scratch = ms.new_empty(batch, units)  # a name keeps it alive through the call
        ctx.native.fn("lstm_backward", ms.dtype)(
            steps, batch, units, ctx.w.data_ptr(), _ptr(ctx.peep), ctx.clip, ms.data_ptr(), cs.data_ptr(),
            gs.data_ptr(), tcs.data_ptr(), ups.data_ptr(), dys.data_ptr(), dm.data_ptr(), dc.data_ptr(),
            dzs.data_ptr(), _ptr(dpeep), scratch.data_ptr(), _ptr(ctx.lens),
        )  # fmt: skip
        d_w = (
            ms[:-1].reshape(-1, units).t().mm(dzs.view(-1, 4 * units))
            if ctx.needs_input_grad[1]
            else None
        )
        return dzs, d_w, dpeep, dc, dm, None, None, None, None


def peephole_lstm_sequence(
    zx: torch.Tensor,
    w: torch.Tensor,
    peepholes: torch.Tensor | None,
    c0: torch.Tensor,
    m0: torch.Tensor,
    cell_clip: float | None = None,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run TF's LSTMCell (module docstring) over time-major ``zx [T, B, 4H]``.

    Args:
        zx: the input half, bias and forget_bias included; w ``[H, 4H]``: the kernel's recurrent rows;
            peepholes: ``[3, H]`` stacked ``(w_i_diag, w_f_diag, w_o_diag)`` or None; c0, m0 ``[B, H]``;
            cell_clip: positive float or None; lengths: optional ``[B]`` int64 (``_mask.py``). All on the CPU in
            one dtype, float32 or float64.

    Returns:
        ``(outputs [T, B, H], c_T, m_T)``.

    Raises:
        RuntimeError: when the native library is not available (the unrolls check ``native.library()`` first).
    """
    native = library()
    if native is None:
        raise RuntimeError("peephole_lstm_sequence: the native loops are not available here")
    steps = zx.shape[0]
    mk = masks(lengths, steps, zx)
    if mk is not None and mk.steps < steps:
        zx = zx[: mk.steps]
    lens = None if mk is None else lengths.to(torch.int64).contiguous()  # type: ignore[union-attr]
    clip = -1.0 if cell_clip is None else float(cell_clip)
    out, c, m = _LSTMSequence.apply(
        zx.contiguous(), w, peepholes, c0.contiguous(), m0.contiguous(), clip, native, lens, mk
    )
    if out.shape[0] < steps:
        out = torch.cat([out, out.new_zeros(steps - out.shape[0], *out.shape[1:])])
    return out, c, m
