r"""contrib's independently recurrent cells over a whole sequence as one autograd node, loops native
(``native/indy_real.h``): ``IndRNNCell`` (tanh or relu), ``IndyGRUCell`` and ``IndyLSTMCell`` (tanh).

Their recurrent weights are diagonal (``u [1, kH]``: each unit sees only its own previous state), so after the
input product ``x @ W`` of all steps (one product, into a reused buffer; the loop adds the bias) a step is
pointwise work only; in a Python loop that work is a dozen small ops a step, each paying its dispatch, which the
native loop does not. Per step, with ``[h, h]`` the state repeated once per gate::

    IndRNN:    h' = act(zx + u * h)
    IndyGRU:   r, z = split(sigmoid(gx + [h, h] * ug), 2);  c = tanh(cx + r * h * uc);  h' = lerp(c, h, z)
    IndyLSTM:  i, j, f, o = split(zx + [h, h, h, h] * u, 4)
               c' = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j);  h' = tanh(c') * sigmoid(o)

The backward runs the reverse recurrence natively and sums the diagonal weights' gradients as it goes; under
``create_graph=True`` it recomputes in torch ops instead (NOTE [double backward]).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, keep_rows, pad_steps, stack_steps, trim
from .native import call, check_shapes, out_grad, ptr, sequence_dims, state_grad

__all__ = ["indrnn_sequence", "indy_gru_sequence", "indy_lstm_sequence"]


def _torch_indrnn(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, u: torch.Tensor, h: torch.Tensor,
                  mk: Masks | None, relu: bool) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndRNN in torch ops (autograd records it): the double-backward path."""
    act, zx, outputs = torch.relu if relu else torch.tanh, x @ w + b, []
    for t in range(zx.shape[0]):
        h = keep_rows(mk, t, act(zx[t] + u * h), h)
        outputs.append(h)
    return stack_steps(outputs, mk), h


def _torch_indy_gru(x: torch.Tensor, wg: torch.Tensor, bg: torch.Tensor, ug: torch.Tensor, wc: torch.Tensor,
                    bc: torch.Tensor, uc: torch.Tensor, h: torch.Tensor,
                    mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndyGRU in torch ops: the double-backward path."""
    gx, cx, outputs = x @ wg + bg, x @ wc + bc, []
    for t in range(gx.shape[0]):
        r, z = torch.sigmoid(gx[t] + h.repeat(1, 2) * ug).chunk(2, 1)
        new = torch.lerp(torch.tanh(cx[t] + r * h * uc), h, z)
        h = keep_rows(mk, t, new, h)
        outputs.append(h)
    return stack_steps(outputs, mk), h


def _torch_indy_lstm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, u: torch.Tensor, c: torch.Tensor,
                     h: torch.Tensor, mk: Masks | None,
                     forget_bias: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndyLSTM in torch ops: the double-backward path."""
    zx, outputs = x @ w + b, []
    for t in range(zx.shape[0]):
        i, j, f, o = (zx[t] + h.repeat(1, 4) * u).chunk(4, 1)
        new_c = c * torch.sigmoid(f + forget_bias) + torch.sigmoid(i) * torch.tanh(j)
        new_h = torch.tanh(new_c) * torch.sigmoid(o)
        c, h = keep_rows(mk, t, new_c, c), keep_rows(mk, t, new_h, h)
        outputs.append(h)
    return stack_steps(outputs, mk), c, h


def _project(x: torch.Tensor, w: torch.Tensor, into: torch.Tensor) -> None:
    """``into [T, B, K] = x [T, B, D] @ w [D, K]`` (the bias is added in the loop)."""
    torch.mm(x.reshape(-1, x.shape[-1]), w, out=into.view(-1, into.shape[-1]))


def _input_grads(x: torch.Tensor, w: torch.Tensor, dz: torch.Tensor, need_x: bool,
                 need_w: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:  # fmt: skip
    """The gradients of ``x`` and ``w`` from the pre-activations' ``dz [T, B, K]`` (each when needed)."""
    flat, rows = x.reshape(-1, x.shape[-1]), dz.view(-1, dz.shape[-1])
    d_x = rows.mm(w.t()).view(x.shape) if need_x else None
    return d_x, (flat.t().mm(rows) if need_w else None)


class _IndRNN(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, u: torch.Tensor, h0: torch.Tensor,
                relu: bool, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, w, b, u, h0)
        steps, batch, _ = x.shape
        units = h0.shape[1]
        work = _workspace.lease(((steps, batch, units), (steps + 1, batch, units)), x)
        zx, hs = work.buffers
        _project(x, w, zx)
        hs[0].copy_(h0)
        out, u, b = x.new_empty(steps, batch, units), u.contiguous(), b.contiguous()
        call("indrnn_forward", x, steps, batch, units, zx.data_ptr(), u.data_ptr(), b.data_ptr(), int(relu),
              hs.data_ptr(), out.data_ptr(), ptr(lens))  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.relu = work, lens, mk, relu
        return out, hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn: Callable[..., Any] = lambda x, w, b, u, h, mk: _torch_indrnn(
                x, w, b, u, h, mk, ctx.relu
            )
            return (*double_backward(ctx, fn, (d_out, d_h), ctx.masks), None, None, None)
        zx, hs = ctx.work.buffers
        x, w, b, u, h0 = ctx.saved_tensors
        u = u.contiguous()
        dys, dh = out_grad(d_out, zx.shape, zx), state_grad(d_h, h0)
        grads = _workspace.lease((zx.shape,), zx)
        (dzx,) = grads.buffers
        du, db = torch.zeros_like(u), torch.zeros_like(b)
        call("indrnn_backward", x, *zx.shape, u.data_ptr(), int(ctx.relu), hs.data_ptr(), dys.data_ptr(),
              dh.data_ptr(), dzx.data_ptr(), du.data_ptr(), db.data_ptr(), ptr(ctx.lens))  # fmt: skip
        need = ctx.needs_input_grad
        d_x, d_w = _input_grads(x, w, dzx, need[0], need[1])
        return d_x, d_w, db, du, dh, None, None, None


class _IndyGRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, wg: torch.Tensor, bg: torch.Tensor, ug: torch.Tensor,
                wc: torch.Tensor, bc: torch.Tensor, uc: torch.Tensor, h0: torch.Tensor,
                lens: torch.Tensor | None, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, wg, bg, ug, wc, bc, uc, h0)
        steps, batch, _ = x.shape
        units = h0.shape[1]
        rows, gates = (steps, batch, units), (steps, batch, 2 * units)
        work = _workspace.lease((gates, rows, (steps + 1, batch, units), gates, rows), x)
        gx, cx, hs, gs, cs = work.buffers
        _project(x, wg, gx)
        _project(x, wc, cx)
        hs[0].copy_(h0)
        out = x.new_empty(rows)
        ug, uc, bg, bc = ug.contiguous(), uc.contiguous(), bg.contiguous(), bc.contiguous()
        call("indy_gru_forward", x, steps, batch, units, gx.data_ptr(), cx.data_ptr(), ug.data_ptr(),
              uc.data_ptr(), bg.data_ptr(), bc.data_ptr(), hs.data_ptr(), gs.data_ptr(), cs.data_ptr(),
              out.data_ptr(), ptr(lens))  # fmt: skip
        ctx.work, ctx.lens, ctx.masks = work, lens, mk
        return out, hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            return (*double_backward(ctx, _torch_indy_gru, (d_out, d_h), ctx.masks), None, None)
        _, cx, hs, gs, cs = ctx.work.buffers
        x, wg, bg, ug, wc, bc, uc, h0 = ctx.saved_tensors
        ug, uc = ug.contiguous(), uc.contiguous()
        dys, dh = out_grad(d_out, cx.shape, cx), state_grad(d_h, h0)
        grads = _workspace.lease((gs.shape, cs.shape), cs)
        dgs, dcs = grads.buffers
        dug, duc, dbg, dbc = (torch.zeros_like(t) for t in (ug, uc, bg, bc))
        call("indy_gru_backward", x, *cx.shape, ug.data_ptr(), uc.data_ptr(), hs.data_ptr(), gs.data_ptr(),
              cs.data_ptr(), dys.data_ptr(), dh.data_ptr(), dgs.data_ptr(), dcs.data_ptr(), dug.data_ptr(),
              duc.data_ptr(), dbg.data_ptr(), dbc.data_ptr(), ptr(ctx.lens))  # fmt: skip
        need = ctx.needs_input_grad
        dx_g, d_wg = _input_grads(x, wg, dgs, need[0], need[1])
        dx_c, d_wc = _input_grads(x, wc, dcs, need[0], need[4])
        d_x = dx_g + dx_c if dx_g is not None and dx_c is not None else None
        return d_x, d_wg, dbg, dug, d_wc, dbc, duc, dh, None, None


class _IndyLSTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, u: torch.Tensor, c0: torch.Tensor,
                h0: torch.Tensor, forget_bias: float, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        # the arguments themselves (before any .contiguous()): version counters catch an in-place change
        # before backward, and the double-backward path differentiates with respect to them
        ctx.save_for_backward(x, w, b, u, c0, h0)
        steps, batch, _ = x.shape
        units = h0.shape[1]
        state, rows, gates = (
            (steps + 1, batch, units),
            (steps, batch, units),
            (steps, batch, 4 * units),
        )
        work = _workspace.lease((gates, state, state, gates, rows), x)
        zx, cs, hs, gs, tcs = work.buffers
        _project(x, w, zx)
        cs[0].copy_(c0)
        hs[0].copy_(h0)
        out, u, b = x.new_empty(rows), u.contiguous(), b.contiguous()
        call("indy_lstm_forward", x, steps, batch, units, zx.data_ptr(), u.data_ptr(), b.data_ptr(), forget_bias,
              cs.data_ptr(), hs.data_ptr(), gs.data_ptr(), tcs.data_ptr(), out.data_ptr(), ptr(lens))  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.forget_bias = work, lens, mk, forget_bias
        return out, cs[-1].clone(), hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None,
                 d_h: torch.Tensor | None) -> tuple[Any, ...]:  # fmt: skip
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn: Callable[..., Any] = lambda x, w, b, u, c, h, mk: _torch_indy_lstm(
                x, w, b, u, c, h, mk, ctx.forget_bias
            )
            return (*double_backward(ctx, fn, (d_out, d_c, d_h), ctx.masks), None, None, None)
        _, cs, hs, gs, tcs = ctx.work.buffers
        x, w, b, u, c0, h0 = ctx.saved_tensors
        u = u.contiguous()
        steps, batch, units = tcs.shape
        dys, dm, dc = out_grad(d_out, tcs.shape, x), state_grad(d_h, h0), state_grad(d_c, c0)
        grads = _workspace.lease((gs.shape,), gs)
        (dzs,) = grads.buffers
        du, db = torch.zeros_like(u), torch.zeros_like(b)
        call("indy_lstm_backward", x, steps, batch, units, u.data_ptr(), cs.data_ptr(), hs.data_ptr(),
              gs.data_ptr(), tcs.data_ptr(), dys.data_ptr(), dm.data_ptr(), dc.data_ptr(), dzs.data_ptr(),
              du.data_ptr(), db.data_ptr(), ptr(ctx.lens))  # fmt: skip
        need = ctx.needs_input_grad
        d_x, d_w = _input_grads(x, w, dzs, need[0], need[1])
        return d_x, d_w, db, du, dc, dm, None, None, None


def indrnn_sequence(
    x: torch.Tensor, kernel_w: torch.Tensor, bias: torch.Tensor, kernel_u: torch.Tensor, h0: torch.Tensor,
    lengths: torch.Tensor | None = None, relu: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndRNN (module docstring) over time-major ``x [T, B, D]`` with TF's ``kernel_w [D, H]``, ``bias [H]``,
    ``kernel_u [1, H]`` (or flat), from ``h0 [B, H]``; ``relu``: the activation is relu instead of tanh.
    Returns ``(outputs [T, B, H], h_T)``."""
    steps, batch, depth, units = sequence_dims("indrnn_sequence", x, h0, "h0")
    u = kernel_u.reshape(-1)
    shapes = {
        "x": tuple(x.shape),
        "kernel_w": (depth, units),
        "bias": (units,),
        "kernel_u": (units,),
    }
    check_shapes("indrnn_sequence", shapes | {"h0": (batch, units)}, x=x, kernel_w=kernel_w, bias=bias,
                 kernel_u=u, h0=h0)  # fmt: skip
    trimmed, mk, lens = trim(x, lengths)
    out, h = _IndRNN.apply(
        trimmed.contiguous(), kernel_w, bias, u, h0.contiguous(), bool(relu), lens, mk
    )
    return pad_steps(out, steps), h


def indy_gru_sequence(
    x: torch.Tensor, gates_kernel_w: torch.Tensor, gates_bias: torch.Tensor, gates_kernel_u: torch.Tensor,
    candidate_kernel_w: torch.Tensor, candidate_bias: torch.Tensor, candidate_kernel_u: torch.Tensor,
    h0: torch.Tensor, lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndyGRU over time-major ``x [T, B, D]`` with TF's variables (``gates/kernel_w [D, 2H]``, ``gates/bias
    [2H]``, ``gates/kernel_u [1, 2H]``, and the candidate's with ``H``), from ``h0 [B, H]``. Returns
    ``(outputs [T, B, H], h_T)``."""
    steps, batch, depth, units = sequence_dims("indy_gru_sequence", x, h0, "h0")
    ug, uc = gates_kernel_u.reshape(-1), candidate_kernel_u.reshape(-1)
    shapes = {"x": tuple(x.shape), "h0": (batch, units), "gates_kernel_w": (depth, 2 * units)}
    shapes |= {
        "gates_bias": (2 * units,),
        "gates_kernel_u": (2 * units,),
        "candidate_kernel_w": (depth, units),
    }
    shapes |= {"candidate_bias": (units,), "candidate_kernel_u": (units,)}
    check_shapes("indy_gru_sequence", shapes, x=x, h0=h0, gates_kernel_w=gates_kernel_w, gates_bias=gates_bias,
                 gates_kernel_u=ug, candidate_kernel_w=candidate_kernel_w, candidate_bias=candidate_bias,
                 candidate_kernel_u=uc)  # fmt: skip
    trimmed, mk, lens = trim(x, lengths)
    out, h = _IndyGRU.apply(trimmed.contiguous(), gates_kernel_w, gates_bias, ug, candidate_kernel_w,
                            candidate_bias, uc, h0.contiguous(), lens, mk)  # fmt: skip
    return pad_steps(out, steps), h


def indy_lstm_sequence(
    x: torch.Tensor, kernel_w: torch.Tensor, bias: torch.Tensor, kernel_u: torch.Tensor, c0: torch.Tensor,
    h0: torch.Tensor, forget_bias: float = 1.0, lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndyLSTM over time-major ``x [T, B, D]`` with TF's ``kernel_w [D, 4H]``, ``bias [4H]``, ``kernel_u [1, 4H]``
    (or flat), from ``c0, h0 [B, H]``. Returns ``(outputs [T, B, H], c_T, h_T)``."""
    steps, batch, depth, units = sequence_dims("indy_lstm_sequence", x, h0, "h0")
    u = kernel_u.reshape(-1)
    shapes = {
        "x": tuple(x.shape),
        "kernel_w": (depth, 4 * units),
        "bias": (4 * units,),
        "kernel_u": (4 * units,),
    }
    check_shapes("indy_lstm_sequence", shapes | {"c0": (batch, units), "h0": (batch, units)}, x=x,
                 kernel_w=kernel_w, bias=bias, kernel_u=u, c0=c0, h0=h0)  # fmt: skip
    trimmed, mk, lens = trim(x, lengths)
    out, c, h = _IndyLSTM.apply(trimmed.contiguous(), kernel_w, bias, u, c0.contiguous(), h0.contiguous(),
                                float(forget_bias), lens, mk)  # fmt: skip
    return pad_steps(out, steps), c, h
