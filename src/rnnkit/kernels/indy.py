r"""contrib's independently recurrent cells over a whole sequence as one autograd node, loops native
(``native/indy_real.h``): ``IndRNNCell`` (tanh or relu), ``IndyGRUCell`` and ``IndyLSTMCell`` (tanh).

Their recurrent weights are diagonal (``u [1, kH]``: each unit sees only its own previous state), so after the
input product ``x @ W + b`` of all steps (the caller's, differentiable by autograd) a step is pointwise work
only; in a Python loop that work is a dozen small ops a step, each paying its dispatch, which the native loop
does not. Per step, with ``[h, h]`` the state repeated once per gate::

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
from ._mask import Masks, trim
from .native import check_shapes, library, sequence_dims

__all__ = ["indrnn_sequence", "indy_gru_sequence", "indy_lstm_sequence"]


def _ptr(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _call(name: str, like: torch.Tensor, *args: Any) -> None:
    library().fn(name, like.dtype)(*args)  # type: ignore[union-attr]


def _state_grad(d: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """A fresh contiguous copy of a state's incoming gradient (the loop writes into it), zeros for None."""
    return torch.zeros_like(like) if d is None else d.contiguous().clone()


def _out_grad(d: torch.Tensor | None, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    return like.new_zeros(shape) if d is None else d.contiguous()


def _keep(mk: Masks | None, t: int, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    return torch.where(mk.keep[t] > 0, new, old) if mk is not None and mk.masked[t] else new


def _torch_indrnn(zx: torch.Tensor, u: torch.Tensor, h: torch.Tensor, mk: Masks | None,
                  relu: bool) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndRNN in torch ops (autograd records it): the double-backward path."""
    act = torch.relu if relu else torch.tanh
    outputs = []
    for t in range(zx.shape[0]):
        h = _keep(mk, t, act(zx[t] + u * h), h)
        outputs.append(h)
    out = torch.stack(outputs)
    return (out * mk.keep if mk is not None else out), h


def _torch_indy_gru(gx: torch.Tensor, cx: torch.Tensor, ug: torch.Tensor, uc: torch.Tensor, h: torch.Tensor,
                    mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndyGRU in torch ops: the double-backward path."""
    outputs = []
    for t in range(gx.shape[0]):
        r, z = torch.sigmoid(gx[t] + h.repeat(1, 2) * ug).chunk(2, 1)
        new = torch.lerp(torch.tanh(cx[t] + r * h * uc), h, z)
        h = _keep(mk, t, new, h)
        outputs.append(h)
    out = torch.stack(outputs)
    return (out * mk.keep if mk is not None else out), h


def _torch_indy_lstm(zx: torch.Tensor, u: torch.Tensor, c: torch.Tensor, h: torch.Tensor, mk: Masks | None,
                     forget_bias: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndyLSTM in torch ops: the double-backward path."""
    outputs = []
    for t in range(zx.shape[0]):
        i, j, f, o = (zx[t] + h.repeat(1, 4) * u).chunk(4, 1)
        new_c = c * torch.sigmoid(f + forget_bias) + torch.sigmoid(i) * torch.tanh(j)
        new_h = torch.tanh(new_c) * torch.sigmoid(o)
        c, h = _keep(mk, t, new_c, c), _keep(mk, t, new_h, h)
        outputs.append(h)
    out = torch.stack(outputs)
    return (out * mk.keep if mk is not None else out), c, h


class _IndRNN(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, zx: torch.Tensor, u: torch.Tensor, h0: torch.Tensor, relu: bool,
                lens: torch.Tensor | None, mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        steps, batch, units = zx.shape
        work = _workspace.lease(((steps + 1, batch, units),), zx)
        (hs,) = work.buffers
        hs[0].copy_(h0)
        out, u_c = zx.new_empty(steps, batch, units), u.contiguous()
        _call("indrnn_forward", zx, steps, batch, units, zx.data_ptr(), u_c.data_ptr(), int(relu),
              hs.data_ptr(), out.data_ptr(), _ptr(lens))  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.relu = work, lens, mk, relu
        ctx.save_for_backward(zx, u_c, h0)
        return out, hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn: Callable[..., Any] = lambda zx, u, h, mk: _torch_indrnn(zx, u, h, mk, ctx.relu)
            return (*double_backward(ctx, fn, (d_out, d_h), ctx.masks), None, None, None)
        (hs,) = ctx.work.buffers
        zx, u, h0 = ctx.saved_tensors
        dys, dh = _out_grad(d_out, zx.shape, zx), _state_grad(d_h, h0)
        dzx, du = torch.empty_like(zx), torch.zeros_like(u)
        _call("indrnn_backward", zx, *zx.shape, u.data_ptr(), int(ctx.relu), hs.data_ptr(), dys.data_ptr(),
              dh.data_ptr(), dzx.data_ptr(), du.data_ptr(), _ptr(ctx.lens))  # fmt: skip
        return dzx, du, dh, None, None, None


class _IndyGRU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, gx: torch.Tensor, cx: torch.Tensor, ug: torch.Tensor, uc: torch.Tensor,
                h0: torch.Tensor, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        steps, batch, units = cx.shape
        work = _workspace.lease(((steps + 1, batch, units), gx.shape, cx.shape), cx)
        hs, gs, cs = work.buffers
        hs[0].copy_(h0)
        out, ug_c, uc_c = cx.new_empty(steps, batch, units), ug.contiguous(), uc.contiguous()
        _call("indy_gru_forward", cx, steps, batch, units, gx.data_ptr(), cx.data_ptr(), ug_c.data_ptr(),
              uc_c.data_ptr(), hs.data_ptr(), gs.data_ptr(), cs.data_ptr(), out.data_ptr(), _ptr(lens))  # fmt: skip
        ctx.work, ctx.lens, ctx.masks = work, lens, mk
        ctx.save_for_backward(gx, cx, ug_c, uc_c, h0)
        return out, hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_h: torch.Tensor | None) -> tuple[Any, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            return (*double_backward(ctx, _torch_indy_gru, (d_out, d_h), ctx.masks), None, None)
        hs, gs, cs = ctx.work.buffers
        gx, cx, ug, uc, h0 = ctx.saved_tensors
        dys, dh = _out_grad(d_out, cx.shape, cx), _state_grad(d_h, h0)
        dgs, dcs, dug, duc = (
            torch.empty_like(gx),
            torch.empty_like(cx),
            torch.zeros_like(ug),
            torch.zeros_like(uc),
        )
        _call("indy_gru_backward", cx, *cx.shape, ug.data_ptr(), uc.data_ptr(), hs.data_ptr(), gs.data_ptr(),
              cs.data_ptr(), dys.data_ptr(), dh.data_ptr(), dgs.data_ptr(), dcs.data_ptr(), dug.data_ptr(),
              duc.data_ptr(), _ptr(ctx.lens))  # fmt: skip
        return dgs, dcs, dug, duc, dh, None, None


class _IndyLSTM(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, zx: torch.Tensor, u: torch.Tensor, c0: torch.Tensor, h0: torch.Tensor,
                forget_bias: float, lens: torch.Tensor | None,
                mk: Masks | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        steps, batch, four = zx.shape
        units, state = four // 4, (steps + 1, batch, four // 4)
        work = _workspace.lease((state, state, zx.shape, (steps, batch, units)), zx)
        cs, hs, gs, tcs = work.buffers
        cs[0].copy_(c0)
        hs[0].copy_(h0)
        out, u_c = zx.new_empty(steps, batch, units), u.contiguous()
        _call("indy_lstm_forward", zx, steps, batch, units, zx.data_ptr(), u_c.data_ptr(), forget_bias,
              cs.data_ptr(), hs.data_ptr(), gs.data_ptr(), tcs.data_ptr(), out.data_ptr(), _ptr(lens))  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.forget_bias = work, lens, mk, forget_bias
        ctx.save_for_backward(zx, u_c, c0, h0)
        return out, cs[-1].clone(), hs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None,
                 d_h: torch.Tensor | None) -> tuple[Any, ...]:  # fmt: skip
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            fn: Callable[..., Any] = lambda zx, u, c, h, mk: _torch_indy_lstm(
                zx, u, c, h, mk, ctx.forget_bias
            )
            return (*double_backward(ctx, fn, (d_out, d_c, d_h), ctx.masks), None, None, None)
        cs, hs, gs, tcs = ctx.work.buffers
        zx, u, c0, h0 = ctx.saved_tensors
        steps, batch, units = tcs.shape
        dys, dm, dc = _out_grad(d_out, tcs.shape, zx), _state_grad(d_h, h0), _state_grad(d_c, c0)
        dzs, du = torch.empty_like(zx), torch.zeros_like(u)
        _call("indy_lstm_backward", zx, steps, batch, units, u.data_ptr(), cs.data_ptr(), hs.data_ptr(),
              gs.data_ptr(), tcs.data_ptr(), dys.data_ptr(), dm.data_ptr(), dc.data_ptr(), dzs.data_ptr(),
              du.data_ptr(), _ptr(ctx.lens))  # fmt: skip
        return dzs, du, dc, dm, None, None, None


def _run(apply: Callable[..., Any], zx: torch.Tensor, lengths: torch.Tensor | None,
         *rest: Any) -> tuple[torch.Tensor, ...]:  # fmt: skip
    """Trim the steps past every row's end, run, and pad the outputs back to ``T``."""
    steps = zx.shape[0]
    trimmed, mk, lens = trim(zx, lengths)
    results = apply(trimmed.contiguous(), *rest, lens, mk)
    out = results[0]
    if out.shape[0] < steps:
        out = torch.cat([out, out.new_zeros(steps - out.shape[0], *out.shape[1:])])
    return (out, *results[1:])


def indrnn_sequence(
    zx: torch.Tensor,
    u: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor | None = None,
    relu: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """IndRNN (module docstring) over time-major ``zx [T, B, H]`` (``x @ kernel_w + bias``, every step); u ``[1, H]``
    or ``[H]``; h0 ``[B, H]``; ``relu``: the activation is relu instead of tanh. Returns ``(outputs, h_T)``."""
    steps, batch, _, units = sequence_dims("indrnn_sequence", zx, h0, "h0")
    u = u.reshape(-1)
    check_shapes("indrnn_sequence", {"zx": (steps, batch, units), "u": (units,), "h0": (batch, units)},
                 zx=zx, u=u, h0=h0)  # fmt: skip
    out, h = _run(_IndRNN.apply, zx, lengths, u, h0.contiguous(), bool(relu))
    return out, h


def indy_gru_sequence(
    gx: torch.Tensor, cx: torch.Tensor, ug: torch.Tensor, uc: torch.Tensor, h0: torch.Tensor,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndyGRU over time-major ``gx [T, B, 2H]``, ``cx [T, B, H]`` (the input products, biases included); ug
    ``[1, 2H]``, uc ``[1, H]`` (or flat); h0 ``[B, H]``. Returns ``(outputs, h_T)``."""
    steps, batch, _, units = sequence_dims("indy_gru_sequence", cx, h0, "h0")
    ug, uc = ug.reshape(-1), uc.reshape(-1)
    shapes = {
        "gx": (steps, batch, 2 * units),
        "cx": (steps, batch, units),
        "ug": (2 * units,),
        "uc": (units,),
    }
    check_shapes(
        "indy_gru_sequence", shapes | {"h0": (batch, units)}, gx=gx, cx=cx, ug=ug, uc=uc, h0=h0
    )
    _, mk, lens = trim(cx, lengths)
    cut = cx.shape[0] if mk is None else mk.steps
    out, h = _IndyGRU.apply(
        gx[:cut].contiguous(), cx[:cut].contiguous(), ug, uc, h0.contiguous(), lens, mk
    )
    if out.shape[0] < steps:
        out = torch.cat([out, out.new_zeros(steps - out.shape[0], *out.shape[1:])])
    return out, h


def indy_lstm_sequence(
    zx: torch.Tensor, u: torch.Tensor, c0: torch.Tensor, h0: torch.Tensor, forget_bias: float = 1.0,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """IndyLSTM over time-major ``zx [T, B, 4H]`` (``x @ kernel_w + bias``); u ``[1, 4H]`` (or flat); c0, h0
    ``[B, H]``. Returns ``(outputs, c_T, h_T)``."""
    steps, batch, _, units = sequence_dims("indy_lstm_sequence", zx, h0, "h0")
    u = u.reshape(-1)
    shapes = {
        "zx": (steps, batch, 4 * units),
        "u": (4 * units,),
        "c0": (batch, units),
        "h0": (batch, units),
    }
    check_shapes("indy_lstm_sequence", shapes, zx=zx, u=u, c0=c0, h0=h0)
    out, c, h = _run(
        _IndyLSTM.apply, zx, lengths, u, c0.contiguous(), h0.contiguous(), float(forget_bias)
    )
    return out, c, h
