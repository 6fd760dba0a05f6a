r"""TF's ``GRUCell`` (tanh) over a whole sequence as one autograd node, its loops native (``native.py``).

For ``t = 0 .. T-1``, from the input halves ``gx[t] = x_t @ gates/kernel[:D] + gates/bias`` and
``cx[t] = x_t @ candidate/kernel[:D] + candidate/bias`` (computed by the caller, differentiable by autograd)::

    r, u = split(sigmoid(gx[t] + h @ Ug), 2)      # Ug = gates/kernel[D:]      [H, 2H]
    c    = tanh(cx[t] + (r * h) @ Uc)             # Uc = candidate/kernel[D:]  [H, H]
    h'   = lerp(c, h, u) = u * h + (1 - u) * c

The forward stores ``r|u``, ``c``, ``r * h`` and every ``h``; the backward runs the reverse recurrence natively
(two products a step: ``dc @ Uc^T`` and ``d[r|u] @ Ug^T``) and then each weight gradient as one product over all
``T * B`` rows: ``dUg = H_prev^T @ d[r|u]``, ``dUc = (R * H_prev)^T @ dc``. The gradients of ``gx`` and ``cx`` are
those pre-activation gradients themselves.
"""

from __future__ import annotations

from typing import Any

import torch

from . import _workspace
from ._mask import Masks, masks
from .native import NativeLibrary, library

__all__ = ["gru_sequence"]


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _forward(native: NativeLibrary, gx: torch.Tensor, cx: torch.Tensor, ug: torch.Tensor, uc: torch.Tensor,
             h0: torch.Tensor, lens: torch.Tensor | None) -> _workspace.Lease:  # fmt: skip
    steps, batch, units = cx.shape
    work = _workspace.lease(
        (
            (steps + 1, batch, units),
            (steps, batch, 2 * units),
            (steps, batch, units),
            (steps, batch, units),
        ),
        gx,
    )
    hs, gs, cs, rhs = work.buffers
    hs[0].copy_(h0)
    native.fn("gru_forward", gx.dtype)(
        steps, batch, units, gx.data_ptr(), cx.data_ptr(), ug.data_ptr(), uc.data_ptr(),
        hs.data_ptr(), gs.data_ptr(), cs.data_ptr(), rhs.data_ptr(), _ptr(lens),
    )  # fmt: skip
    return work


def _outputs(hs: torch.Tensor, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:
    out = hs[1:] * mk.keep if mk is not None else hs[1:].clone()
    return out, hs[-1].clone()


class _GRUSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, gx: torch.Tensor, cx: torch.Tensor, ug: torch.Tensor, uc: torch.Tensor,
                h0: torch.Tensor, native: NativeLibrary, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        ug, uc = ug.contiguous(), uc.contiguous()
        work = _forward(native, gx, cx, ug, uc, h0, lens)
        ctx.work, ctx.native, ctx.lens, ctx.weights = work, native, lens, (ug, uc)
        return _outputs(work.buffers[0], mk)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        hs, gs, cs, rhs = ctx.work.buffers
        ug, uc = ctx.weights
        steps, batch, units = cs.shape
        dys = hs.new_zeros(steps, batch, units) if d_out is None else d_out.contiguous()
        dh = hs.new_zeros(batch, units) if d_h is None else d_h.contiguous().clone()
        dgs, dcs = torch.empty_like(gs), torch.empty_like(cs)
        scratch = hs.new_empty(3, batch, units)
        ctx.native.fn("gru_backward", hs.dtype)(
            steps, batch, units, ug.data_ptr(), uc.data_ptr(), hs.data_ptr(), gs.data_ptr(),
            cs.data_ptr(), dys.data_ptr(), dh.data_ptr(), dgs.data_ptr(), dcs.data_ptr(),
            scratch.data_ptr(), _ptr(ctx.lens),
        )  # fmt: skip
        need = ctx.needs_input_grad
        d_ug = hs[:-1].reshape(-1, units).t().mm(dgs.view(-1, 2 * units)) if need[2] else None
        d_uc = rhs.view(-1, units).t().mm(dcs.view(-1, units)) if need[3] else None
        return dgs, dcs, d_ug, d_uc, dh, None, None, None


def gru_sequence(
    gx: torch.Tensor,
    cx: torch.Tensor,
    ug: torch.Tensor,
    uc: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run TF's GRU (module docstring) over time-major ``gx [T, B, 2H]`` and ``cx [T, B, H]``.

    Args:
        gx, cx: the input halves, biases included; ug ``[H, 2H]``, uc ``[H, H]``: the kernels' recurrent rows;
            h0 ``[B, H]``; lengths: optional ``[B]`` int64 (TF's sequence_length rule, ``_mask.py``). All on the
            CPU in one dtype, float32 or float64.

    Returns:
        ``(outputs [T, B, H], h_T [B, H])``.

    Raises:
        RuntimeError: when the native library is not available (``native.unavailable_reason()``); the unrolls
        check ``native.library()`` before they call this.
    """
    native = library()
    if native is None:
        raise RuntimeError("gru_sequence: the native loops are not available here")
    steps = gx.shape[0]
    mk = masks(lengths, steps, gx)
    if mk is not None and mk.steps < steps:
        gx, cx = gx[: mk.steps], cx[: mk.steps]
    gx, cx, h0 = gx.contiguous(), cx.contiguous(), h0.contiguous()
    lens = None if mk is None else lengths.to(torch.int64).contiguous()  # type: ignore[union-attr]
    out, h = _GRUSequence.apply(gx, cx, ug, uc, h0, native, lens, mk)
    if out.shape[0] < steps:
        out = torch.cat([out, out.new_zeros(steps - out.shape[0], *out.shape[1:])])
    return out, h
