r"""contrib's ``NASCell`` (optional projection) over a whole sequence as one autograd node, loops native
(``native/nas_real.h``)::

    a = x_t @ kernel;  b = m @ recurrent_kernel (+ bias);  each split in 8 blocks of H
    l0, l1, l2, l3 = sigmoid(a0 + b0), relu(a1 + b1), sigmoid(a2 + b2), relu(a3 * b3)
    l4, l5, l6, l7 = tanh(a4 + b4), sigmoid(a5 + b5), tanh(a6 + b6), sigmoid(a7 + b7)
    c' = tanh(tanh(l0 * l1) + c) * tanh(l2 + l3);  h = tanh(c' * tanh(tanh(l4 * l5) + sigmoid(l6 + l7)))
    m' = h @ projection_weights  ([H, P], num_proj),  or m' = h  (P = H)

(tensorflow/nmt's ``unit_type="nas"``). The input product of all steps goes into a reused buffer (``_workspace.py``);
per step the loop runs the recurrent product, the gates and (num_proj) the projection ``[B, H] @ [H, P]``, and
leaves the gates and intermediate values in the ``a`` and ``b`` buffers; the backward reads them (no
transcendental), runs ``(dm' + dy) @ projection^T`` (num_proj) and ``db @ recurrent_kernel^T`` a step, and then
the weights' gradients are one product each over all ``T * B`` rows (``X^T @ dA``, ``M_prev^T @ dB``,
``H^T @ dM'`` for the projection). Under ``create_graph=True`` it recomputes in torch ops (NOTE [double
backward]).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, keep_rows, pad_steps, stack_steps, trim
from .native import call, check_shapes, out_grad, ptr, sequence_dims, state_grad

__all__ = ["nas_sequence"]


def _torch_nas(x: torch.Tensor, kernel: torch.Tensor, rk: torch.Tensor, bias: torch.Tensor | None,
               proj: torch.Tensor | None, c: torch.Tensor, m: torch.Tensor,
               mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """NASCell in torch ops (autograd records it): the double-backward path."""
    sig, tanh, outputs = torch.sigmoid, torch.tanh, []
    xa = x @ kernel
    for t in range(x.shape[0]):
        rec = m @ rk if bias is None else m @ rk + bias
        a, b = xa[t].chunk(8, 1), rec.chunk(8, 1)
        l0, l1, l2, l3 = (
            sig(a[0] + b[0]),
            torch.relu(a[1] + b[1]),
            sig(a[2] + b[2]),
            torch.relu(a[3] * b[3]),
        )
        l4, l5, l6, l7 = tanh(a[4] + b[4]), sig(a[5] + b[5]), tanh(a[6] + b[6]), sig(a[7] + b[7])
        new_c = tanh(tanh(l0 * l1) + c) * tanh(l2 + l3)
        new_m = tanh(new_c * tanh(tanh(l4 * l5) + sig(l6 + l7)))
        if proj is not None:
            new_m = new_m @ proj
        c, m = keep_rows(mk, t, new_c, c), keep_rows(mk, t, new_m, m)
        outputs.append(m)
    return stack_steps(outputs, mk), c, m


class _NAS(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: torch.Tensor, rk: torch.Tensor, bias: torch.Tensor | None,
                proj: torch.Tensor | None, c0: torch.Tensor, m0: torch.Tensor, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, kernel, rk, bias, proj, c0, m0)
        steps, batch, depth = x.shape
        units, out_units = c0.shape[1], m0.shape[1]
        gates, state = (steps, batch, 8 * units), (steps + 1, batch, units)
        hidden = (steps, batch, units) if proj is not None else (0,)
        work = _workspace.lease((gates, gates, state, (steps + 1, batch, out_units), hidden), x)
        xa, rb, cs, ms, hs = work.buffers
        torch.mm(x.reshape(-1, depth), kernel, out=xa.view(-1, 8 * units))
        cs[0].copy_(c0)
        ms[0].copy_(m0)
        rk_c, bias_c = rk.contiguous(), None if bias is None else bias.contiguous()
        proj_c = None if proj is None else proj.contiguous()
        out = x.new_empty(steps, batch, out_units)
        call(
            "nas_forward", x,
            steps, batch, units, out_units, xa.data_ptr(), rk_c.data_ptr(), ptr(bias_c), ptr(proj_c),
            cs.data_ptr(), ms.data_ptr(), ptr(hs if proj is not None else None), rb.data_ptr(), out.data_ptr(),
            ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.masks = work, lens, mk
        return out, cs[-1].clone(), ms[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None,
                 d_m: torch.Tensor | None) -> tuple[Any, ...]:  # fmt: skip
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn: Callable[..., Any] = _torch_nas
            return (*double_backward(ctx, fn, (d_out, d_c, d_m), ctx.masks), None, None)
        xa, rb, cs, ms, hs = ctx.work.buffers
        x, kernel, rk, bias, proj, c0, m0 = ctx.saved_tensors
        (steps, batch, depth), units, out_units = x.shape, c0.shape[1], m0.shape[1]
        dys = out_grad(d_out, (steps, batch, out_units), cs)
        dm = state_grad(d_m, m0)
        dc = state_grad(d_c, c0)
        dms_shape = (steps, batch, out_units) if proj is not None else (0,)
        scratch_shape = (batch * (2 * out_units + units) + units,)
        grads = _workspace.lease((xa.shape, rb.shape, dms_shape, scratch_shape), xa)
        das, dbs, dms, scratch = grads.buffers
        d_bias = None if bias is None else torch.zeros_like(bias)
        rkt, proj_c = rk.t().contiguous(), None if proj is None else proj.contiguous()
        call(
            "nas_backward", x,
            steps, batch, units, out_units, rkt.data_ptr(), ptr(proj_c), xa.data_ptr(), rb.data_ptr(),
            cs.data_ptr(), ms.data_ptr(), ptr(hs if proj is not None else None), dys.data_ptr(), dm.data_ptr(),
            dc.data_ptr(), das.data_ptr(), dbs.data_ptr(), ptr(dms if proj is not None else None), ptr(d_bias),
            scratch.data_ptr(), ptr(ctx.lens),
        )  # fmt: skip
        da, db, need = das.view(-1, 8 * units), dbs.view(-1, 8 * units), ctx.needs_input_grad
        d_x = da.mm(kernel.t()).view(x.shape) if need[0] else None
        d_kernel = x.reshape(-1, depth).t().mm(da) if need[1] else None
        d_rk = ms[:-1].reshape(-1, out_units).t().mm(db) if need[2] else None
        d_proj = None
        if proj is not None and need[4]:  # H^T @ dM' over all T * B rows
            d_proj = hs.view(-1, units).t().mm(dms.view(-1, out_units))
        return d_x, d_kernel, d_rk, d_bias, d_proj, dc, dm, None, None


def nas_sequence(
    x: torch.Tensor, kernel: torch.Tensor, recurrent_kernel: torch.Tensor, bias: torch.Tensor | None,
    c0: torch.Tensor, m0: torch.Tensor, lengths: torch.Tensor | None = None,
    projection: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """NASCell (module docstring) over time-major ``x [T, B, D]`` with TF's ``kernel [D, 8H]``,
    ``recurrent_kernel [P, 8H]``, ``bias [8H]`` (or None) and ``projection`` (``projection_weights [H, P]``, or
    None: ``P = H``), from ``c0 [B, H]``, ``m0 [B, P]``. Returns ``(outputs [T, B, P], c_T, m_T)``."""
    steps, batch, depth, units = sequence_dims("nas_sequence", x, c0, "c0")
    # P from the projection when it has two dimensions (else check_shapes reports it)
    out_units = projection.shape[1] if projection is not None and projection.dim() == 2 else units
    shapes = {
        "x": tuple(x.shape),
        "kernel": (depth, 8 * units),
        "recurrent_kernel": (out_units, 8 * units),
    }
    shapes |= {"bias": (8 * units,), "projection": (units, out_units)}
    shapes |= {"c0": (batch, units), "m0": (batch, out_units)}
    check_shapes("nas_sequence", shapes, x=x, kernel=kernel, projection=projection,
                 recurrent_kernel=recurrent_kernel, bias=bias, c0=c0, m0=m0)  # fmt: skip
    trimmed, mk, lens = trim(x, lengths)
    out, c, m = _NAS.apply(trimmed.contiguous(), kernel, recurrent_kernel, bias, projection, c0.contiguous(),
                           m0.contiguous(), lens, mk)  # fmt: skip
    out = pad_steps(out, steps)
    return out, c, m
