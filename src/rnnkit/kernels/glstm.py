r"""contrib's ``GLSTMCell`` (group LSTM, optional projection) over a whole sequence as one autograd node, loops
native (``native/glstm_real.h``). With G groups, ``x_g`` / ``m_g`` the g-th of G equal column slices of ``x_t``
and of the previous output, and ``w_g [D/G + P/G, 4H/G]`` group g's kernel::

    z_g = [x_g, m_g] @ w_g;  i, j, f, o = concat_g(split(z_g, 4)) + (bias_i, bias_j, bias_f, bias_o)
    c' = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j)
    h = sigmoid(o) * act(c')                     # act: tanh or relu
    m' = h @ projection  (projection [H, P]),  or m' = h (P = H)

Each step runs one product per group on a buffer row ``[x_g, m_g]`` (TF's own product, ``K = D/G + P/G``) and,
with a projection, one ``[B, H] @ [H, P]``; the forward keeps the activated gates, ``act(c')``, every ``c``
and ``m`` (and ``h`` with a projection). The backward runs the reverse recurrence natively (per step the
projection's ``dm' @ projection^T`` and one ``dz_g @ w_g[D/G:]^T`` per group) and then every weight gradient is
one product over all ``T * B`` rows: ``[X_g, M_g]^T @ dZ_g`` for the G kernels (one batched product),
``H^T @ dM'`` for the projection; the inputs' ``dZ_g @ w_g[:D/G]^T`` likewise. Under ``create_graph=True`` it
recomputes in torch ops (NOTE [double backward]).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, keep_rows, pad_steps, stack_steps, trim
from .native import call, check_shapes, out_grad, ptr, sequence_dims, state_grad

__all__ = ["glstm_sequence"]

_ACTIVATIONS = ("tanh", "relu")


def _torch_glstm(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor, proj: torch.Tensor | None,
                 c0: torch.Tensor, m0: torch.Tensor, mk: Masks | None, forget_bias: float,
                 relu: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """GLSTMCell in torch ops (autograd records it): the double-backward path. ``w [G, Dg+Pg, 4Hg]``,
    ``bias [4, H]``."""
    groups, depth = w.shape[0], x.shape[-1] // w.shape[0]
    c, m, outputs = c0, m0, []
    for t in range(x.shape[0]):
        xm = torch.cat([x[t].unflatten(1, (groups, depth)), m.unflatten(1, (groups, -1))], 2)
        z = torch.bmm(xm.transpose(0, 1), w)  # [G, B, 4Hg]
        i, j, f, o = (part.transpose(0, 1).flatten(1) + b for part, b in zip(z.chunk(4, 2), bias))
        new_c = torch.sigmoid(f + forget_bias) * c + torch.sigmoid(i) * torch.tanh(j)
        new_m = torch.sigmoid(o) * (torch.relu(new_c) if relu else torch.tanh(new_c))
        if proj is not None:
            new_m = new_m @ proj
        c, m = keep_rows(mk, t, new_c, c), keep_rows(mk, t, new_m, m)
        outputs.append(m)
    return stack_steps(outputs, mk), c, m


class _GLSTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor, proj: torch.Tensor | None,
                c0: torch.Tensor, m0: torch.Tensor, forget_bias: float, relu: bool, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, w, bias, proj, c0, m0)
        (steps, batch, depth), groups = x.shape, w.shape[0]
        units, out_units = c0.shape[1], m0.shape[1]
        d_g, p_g = depth // groups, out_units // groups
        wide = _workspace.row_stride(d_g + p_g)
        hidden = (steps, batch, units)
        work = _workspace.lease(
            (
                (groups, steps, batch, wide),
                (groups, steps, batch, 4 * units // groups),
                (steps + 1, batch, units),
                hidden,
                (steps + 1, batch, out_units),
                hidden if proj is not None else (0,),
            ),
            x,
        )
        xm, gs, cs, acts, ms, hs = work.buffers  # xm[g, t] = [x_g, m_g] of step t
        xm[..., :d_g].copy_(x.unflatten(2, (groups, d_g)).permute(2, 0, 1, 3))
        xm[:, 0, :, d_g : d_g + p_g].copy_(m0.unflatten(1, (groups, p_g)).transpose(0, 1))
        cs[0].copy_(c0)
        ms[0].copy_(m0)
        w_c, bias_c = w.contiguous(), bias.contiguous()
        proj_c = None if proj is None else proj.contiguous()
        out = x.new_empty(steps, batch, out_units)
        call(
            "glstm_forward", x,
            steps, batch, groups, d_g, units // groups, p_g, wide, int(relu), forget_bias, xm.data_ptr(),
            w_c.data_ptr(), bias_c.data_ptr(), ptr(proj_c), gs.data_ptr(), cs.data_ptr(), acts.data_ptr(),
            ms.data_ptr(), ptr(hs if proj is not None else None), out.data_ptr(), ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.forget_bias, ctx.relu = work, lens, mk, forget_bias, relu
        return out, cs[-1].clone(), ms[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None,
                 d_m: torch.Tensor | None) -> tuple[Any, ...]:  # fmt: skip
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn = lambda x, w, b, p, c0, m0, mk: _torch_glstm(
                x, w, b, p, c0, m0, mk, ctx.forget_bias, ctx.relu
            )
            return (*double_backward(ctx, fn, (d_out, d_c, d_m), ctx.masks), None, None, None, None)
        xm, gs, cs, acts, ms, hs = ctx.work.buffers
        x, w, _, proj, c0, m0 = ctx.saved_tensors
        (steps, batch, depth), (groups, rows, cols) = x.shape, w.shape
        units, out_units = c0.shape[1], m0.shape[1]
        d_g = depth // groups
        dys = out_grad(d_out, (steps, batch, out_units), cs)
        dm = state_grad(d_m, m0)
        dc = state_grad(d_c, c0)
        dms_shape = (steps, batch, out_units) if proj is not None else (0,)
        grads = _workspace.lease((gs.shape, dms_shape, (batch, 2 * out_units + units)), cs)
        dzs, dms, scratch = grads.buffers
        w_c, proj_c = w.contiguous(), None if proj is None else proj.contiguous()
        call(
            "glstm_backward", cs,
            steps, batch, groups, d_g, units // groups, out_units // groups, int(ctx.relu), w_c.data_ptr(),
            ptr(proj_c), gs.data_ptr(), cs.data_ptr(), acts.data_ptr(), dys.data_ptr(), dm.data_ptr(),
            dc.data_ptr(), dzs.data_ptr(), ptr(dms if proj is not None else None), scratch.data_ptr(),
            ptr(ctx.lens),
        )  # fmt: skip
        dz, need = dzs.view(groups, -1, cols), ctx.needs_input_grad
        d_x = None
        if need[
            0
        ]:  # (w_g[:Dg] @ dZ_g^T)^T, all groups in one batched product, back to [T, B, D]; this
            # way round (a wide output) about 30% faster than dZ_g @ w_g[:Dg]^T, whose output has Dg columns
            d_x = torch.bmm(w[:, :d_g], dz.transpose(1, 2)).permute(2, 0, 1).reshape(x.shape)
        # [X_g, M_g]^T @ dZ_g over all T * B rows (the padding columns left out)
        d_w = (
            torch.bmm(xm.view(groups, -1, xm.shape[-1])[:, :, :rows].transpose(1, 2), dz)
            if need[1]
            else None
        )
        d_bias = (
            dz.unflatten(2, (4, -1)).sum(1).transpose(0, 1).reshape(4, units) if need[2] else None
        )
        d_proj = None
        if proj is not None and need[3]:
            d_proj = hs.view(-1, units).t().mm(dms.view(-1, out_units))
        return d_x, d_w, d_bias, d_proj, dc, dm, None, None, None, None


def glstm_sequence(
    x: torch.Tensor,
    kernels: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    projection: torch.Tensor | None,
    c0: torch.Tensor,
    m0: torch.Tensor,
    forget_bias: float = 1.0,
    activation: str = "tanh",
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run contrib's GLSTMCell (module docstring) over time-major ``x [T, B, D]``.

    Args:
        x: the inputs (rows past their length zeroed, as ``dynamic_rnn`` pads).
        kernels: the G group kernels ``group{g}/kernel [D/G + P/G, 4H/G]`` (G >= 1 dividing D, H and P).
        biases: ``(bias_i, bias_j, bias_f, bias_o)``, each ``[H]``.
        projection: ``projection/kernel [H, P]``, or None (then ``P = H``).
        c0 ``[B, H]``, m0 ``[B, P]``: the initial state; forget_bias: added to ``f``; activation: ``"tanh"`` or
            ``"relu"`` (of ``c'``); lengths: optional ``[B]`` int64 (``_mask.py``). All tensors on the CPU in one
            dtype, float32 or float64.

    Returns:
        ``(outputs [T, B, P], c_T, m_T)``.

    Raises:
        RuntimeError: when the native library is not available; ValueError / TypeError for inputs the loops
        cannot take (the messages say which).
    """
    where = "glstm_sequence"
    steps, batch, depth, units = sequence_dims(where, x, c0, "c0")
    groups = len(kernels)
    if len(biases) != 4:
        raise ValueError(
            f"{where}: expected biases (bias_i, bias_j, bias_f, bias_o), got {len(biases)} tensors"
        )
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{where}: expected activation 'tanh' or 'relu', got {activation!r}")
    # P from the projection when it has two dimensions (else check_shapes reports it)
    out_units = projection.shape[1] if projection is not None and projection.dim() == 2 else units
    if groups == 0 or depth % groups or units % groups or out_units % groups:
        raise ValueError(
            f"{where}: expected D, H and P divisible by the number of kernels (groups), got D={depth}, "
            f"H={units}, P={out_units} and {groups} kernels"
        )
    kernel_shape = (depth // groups + out_units // groups, 4 * units // groups)
    named = {f"kernel{g}": k for g, k in enumerate(kernels)}
    shapes: dict[str, tuple[int, ...]] = {name: kernel_shape for name in named}
    named |= {f"bias_{q}": b for q, b in zip("ijfo", biases)}
    shapes |= {f"bias_{q}": (units,) for q in "ijfo"}
    shapes |= {"x": tuple(x.shape), "projection": (units, out_units)}
    shapes |= {"c0": (batch, units), "m0": (batch, out_units)}
    check_shapes(where, shapes, x=x, c0=c0, projection=projection, m0=m0, **named)
    trimmed, mk, lens = trim(x, lengths)
    w, bias = torch.stack(list(kernels)), torch.stack(list(biases))
    out, c, m = _GLSTM.apply(
        trimmed.contiguous(), w, bias, projection, c0.contiguous(), m0.contiguous(), float(forget_bias),
        activation == "relu", lens, mk,
    )  # fmt: skip
    return pad_steps(out, steps), c, m
