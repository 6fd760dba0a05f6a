r"""contrib's ``PhasedLSTMCell`` over a whole sequence as one autograd node, its loops native
(``native/phased_real.h``).

For ``t = 0 .. T-1`` (``[x_t, h]`` is one buffer row; ``c`` joins the mask gates' and ``c~`` the output gate's
product only with peepholes)::

    i, f = sigmoid([x_t, h (, c)] @ mask_kernel + mask_bias);  j = tanh([x_t, h] @ input_kernel + input_bias)
    c~ = c * f + i * j;  o = sigmoid([x_t, h (, c~)] @ output_kernel + output_bias);  h~ = tanh(c~) * o
    r = mod(time_t - phase, period) / period                      # torch ops, before the native loop
    k = 2 r / ratio_on  (r < ratio_on / 2),  2 - 2 r / ratio_on  (r < ratio_on),  leak * r  (otherwise)
    c' = k * c~ + (1 - k) * c;  h' = k * h~ + (1 - k) * h

The cycle ratio ``r [T, B, H]`` is computed for all steps at once by the cell's own ``cycle_ratio`` (its modulo,
dtype casts and TF's ``stop_gradient`` in torch ops); the native loops take it as an input. Its gradient: with
timestamps in the inputs' dtype the native backward sums the gradients of ``time``, ``phase`` and ``period``
itself, as they pass the quotient and the difference (the modulo passes ``time - phase``'s gradient, as TF's
``stop_gradient`` trick); with timestamps in another dtype it returns the ratio's gradient and autograd takes it
through the torch ops, in the timestamps' dtype, as TF does.

The three kernels' first ``D + H`` rows are laid side by side (``[D+H, 4H]``, gates ``i | f | j | o``): one product
per step, and their gradient one product ``[X, H_prev]^T @ dZ`` over all ``T * B`` rows (the peephole rows:
``C_prev^T @ dZ_if`` and ``C~^T @ dZ_o``). The leak applies in training and evaluation alike, as in TF 1.15. Under
``create_graph=True`` the backward recomputes in torch ops (NOTE [double backward]).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from ..cells.contrib.phased import PhasedLSTMCell, cycle_ratio
from ..cells.state import LSTMStateTuple
from . import _workspace
from ._double_backward import double_backward
from ._mask import Masks, keep_rows, pad_steps, trim
from .native import call, check_shapes, out_grad, ptr, sequence_dims, state_grad

__all__ = ["phased_lstm_sequence", "run_phased_cell"]

Tensors = tuple[torch.Tensor, ...]


def _torch_phased(leak: float, ratio: torch.Tensor, times: torch.Tensor | None, phase: torch.Tensor | None,
                  period: torch.Tensor | None, x: torch.Tensor, mk: torch.Tensor, mb: torch.Tensor,
                  ik: torch.Tensor, ib: torch.Tensor, ok: torch.Tensor, ob: torch.Tensor, ron: torch.Tensor,
                  c: torch.Tensor, h: torch.Tensor, masks: Masks | None) -> Tensors:  # fmt: skip
    """The same recurrence in torch ops (autograd records it): the double-backward path."""
    if (
        times is not None and phase is not None and period is not None
    ):  # the ratio's path was the kernel's
        ratio = cycle_ratio(times, phase, period, x.dtype)
    wide, outputs = x.shape[-1] + h.shape[-1], []
    for t in range(x.shape[0]):
        xh = torch.cat([x[t], h], 1)
        gates = xh @ mk[:wide] + mb + (c @ mk[wide:] if mk.shape[0] > wide else 0)
        i, f = torch.sigmoid(gates).chunk(2, 1)
        new_c = c * f + i * torch.tanh(xh @ ik + ib)
        o = xh @ ok[:wide] + ob + (new_c @ ok[wide:] if ok.shape[0] > wide else 0)
        new_h = torch.tanh(new_c) * torch.sigmoid(o)
        k_up = 2 * ratio[t] / ron
        k = torch.where(ratio[t] < ron, 2 - k_up, leak * ratio[t])
        k = torch.where(ratio[t] < 0.5 * ron, k_up, k)
        c = keep_rows(masks, t, k * new_c + (1 - k) * c, c)
        h = keep_rows(masks, t, k * new_h + (1 - k) * h, h)
        outputs.append(h)
    out = torch.stack(outputs)
    return (out * masks.keep if masks is not None else out), c, h


class _PhasedSequence(torch.autograd.Function):
    """``ratio`` is either differentiable itself (``times``, ``phase``, ``period`` None: autograd takes its
    gradient on) or a constant computed from ``times``, ``phase``, ``period``, whose gradients the native backward
    then sums up itself (``phase_real.h``, ``phased_back_time``)."""

    @staticmethod
    def forward(ctx: Any, ratio: torch.Tensor, times: torch.Tensor | None, phase: torch.Tensor | None,
                period: torch.Tensor | None, x: torch.Tensor, mk: torch.Tensor, mb: torch.Tensor, ik: torch.Tensor,
                ib: torch.Tensor, ok: torch.Tensor, ob: torch.Tensor, ron: torch.Tensor, c0: torch.Tensor,
                h0: torch.Tensor, leak: float, lens: torch.Tensor | None,
                masks: Masks | None) -> Tensors:  # fmt: skip
        # the arguments themselves: version counters catch an in-place change before backward, and the
        # double-backward path differentiates with respect to them (in this order)
        ctx.save_for_backward(ratio, times, phase, period, x, mk, mb, ik, ib, ok, ob, ron, c0, h0)
        steps, batch, depth = x.shape
        units, wide = c0.shape[1], depth + c0.shape[1]
        stride, rows = _workspace.row_stride(wide), (steps, batch, units)
        shapes = ((steps + 1, batch, stride), (steps + 1, batch, units), (steps, batch, 4 * units))
        work = _workspace.lease((*shapes, rows, rows), x)
        xm, cs, gs, cts, tcs = work.buffers  # xm[t] = [x_t, h_{t-1}]
        xm[:steps, :, :depth].copy_(x)
        xm[0, :, depth:wide].copy_(h0)
        cs[0].copy_(c0)
        w = torch.cat([mk[:wide], ik, ok[:wide]], 1)  # [D+H, 4H]: i | f | j | o
        peep = mk.shape[0] > wide
        wcm = mk[wide:].contiguous() if peep else None
        wco = ok[wide:].contiguous() if peep else None
        bias, ron_c = torch.cat([mb, ib, ob]), ron.contiguous()
        out = x.new_empty(rows)  # the caller's: written by the loop, zero where a row has ended
        call(
            "phased_forward", x,
            steps, batch, depth, units, stride, xm.data_ptr(), w.data_ptr(), ptr(wcm), ptr(wco), bias.data_ptr(),
            ratio.data_ptr(), ron_c.data_ptr(), leak, cs.data_ptr(), gs.data_ptr(), cts.data_ptr(),
            tcs.data_ptr(), out.data_ptr(), ptr(lens),
        )  # fmt: skip
        ctx.work, ctx.lens, ctx.masks, ctx.leak = work, lens, masks, leak
        ctx.weights = (w, wcm, wco)
        final_h = xm[-1, :, depth:wide].clone(memory_format=torch.contiguous_format)
        return out, cs[-1].clone(), final_h

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor | None, d_c: torch.Tensor | None,
                 d_h: torch.Tensor | None) -> tuple[Any, ...]:  # fmt: skip
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            torch_phased = lambda *a: _torch_phased(ctx.leak, *a)  # noqa: E731
            recorded = double_backward(ctx, torch_phased, (d_out, d_c, d_h), ctx.masks)
            return (*recorded, None, None, None)
        xm, cs, gs, cts, tcs = ctx.work.buffers
        ratio, times, _, period, x, _, _, _, _, _, _, ron, c0, h0 = ctx.saved_tensors
        w, wcm, wco = ctx.weights
        steps, batch, units = tcs.shape
        depth, need = x.shape[-1], ctx.needs_input_grad
        dys, dh, dc = out_grad(d_out, tcs.shape, cs), state_grad(d_h, h0), state_grad(d_c, c0)
        grads = _workspace.lease((gs.shape, (2, batch, units), tcs.shape), cs)
        dzs, scratch, unused_ratio = (
            grads.buffers
        )  # the ratio's gradient goes to a pooled buffer when unused
        d_ratio = torch.empty_like(tcs) if need[0] else unused_ratio
        d_ron, d_bias = cs.new_zeros(units), cs.new_zeros(4 * units)
        d_times = d_phase = d_period = None
        if times is not None and any(need[1:4]):  # the timestamps' path summed by the native loop
            d_times, d_phase, d_period = (
                cs.new_empty(steps, batch, 1),
                cs.new_zeros(units),
                cs.new_zeros(units),
            )
            period = period.contiguous()
        wt, ron = w[depth:].t().contiguous(), ron.contiguous()
        call(
            "phased_backward", cs,
            steps, batch, depth, units, xm.shape[-1], wt.data_ptr(), ptr(wcm), ptr(wco), ratio.data_ptr(),
            ron.data_ptr(), ctx.leak, xm.data_ptr(), cs.data_ptr(), gs.data_ptr(), cts.data_ptr(), tcs.data_ptr(),
            dys.data_ptr(), dh.data_ptr(), dc.data_ptr(), dzs.data_ptr(), d_ratio.data_ptr(), d_ron.data_ptr(),
            d_bias.data_ptr(), ptr(period if d_times is not None else None), ptr(d_times), ptr(d_phase),
            ptr(d_period), scratch.data_ptr(), ptr(ctx.lens),
        )  # fmt: skip
        d_x = d_mk = d_ik = d_ok = None
        dz = dzs.view(-1, 4 * units)
        if need[4]:
            d_x = dz.mm(w[:depth].t()).view(x.shape)
        if need[5] or need[7] or need[9]:
            # [X, H_prev]^T @ dZ: the three kernels' first D + H rows in one product (padding columns left out)
            d_w = xm[:-1].reshape(-1, xm.shape[-1])[:, : depth + units].t().mm(dz)
            d_mk, d_ik, d_ok = (
                d_w[:, : 2 * units],
                d_w[:, 2 * units : 3 * units],
                d_w[:, 3 * units :],
            )
            if wcm is not None:  # the peephole rows: C_prev^T @ dZ_if and C~^T @ dZ_o
                d_mk = torch.cat([d_mk, cs[:-1].reshape(-1, units).t().mm(dz[:, : 2 * units])])
                d_ok = torch.cat([d_ok, cts.view(-1, units).t().mm(dz[:, 3 * units :])])
        d_mb, d_ib, d_ob = d_bias.split([2 * units, units, units])
        found = (
            d_ratio,
            d_times,
            d_phase,
            d_period,
            d_x,
            d_mk,
            d_mb,
            d_ik,
            d_ib,
            d_ok,
            d_ob,
            d_ron,
            dc,
            dh,
        )
        return (*(g if n else None for g, n in zip(found, need)), None, None, None)


def phased_lstm_sequence(
    times: torch.Tensor,
    x: torch.Tensor,
    weights: tuple[torch.Tensor, ...],
    time_gate: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    c0: torch.Tensor,
    h0: torch.Tensor,
    leak: float = 0.001,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run contrib's PhasedLSTMCell (module docstring) over time-major ``(times [T, B, 1], x [T, B, D])``.

    Args:
        times: the timestamps, any floating dtype (the cycle ratio is computed in it, then cast to ``x``'s);
            x: the inputs (rows past their length zeroed, as ``dynamic_rnn`` pads).
        weights: TF's ``(mask_gates/kernel [D+H(+H), 2H], mask_gates/bias [2H], new_input/kernel [D+H, H],
            new_input/bias [H], output_gate/kernel [D+H(+H), H], output_gate/bias [H])``; the mask and output
            kernels have the ``+H`` peephole rows together or not at all.
        time_gate: ``(period [H], phase [H], ratio_on [H])``.
        c0, h0: ``[B, H]``; leak: the closed gate's slope; lengths: optional ``[B]`` int64 (``_mask.py``).
            All but ``times`` on the CPU in one dtype, float32 or float64.

    Returns:
        ``(outputs [T, B, H], c_T, h_T)``.

    Raises:
        RuntimeError: when the native library is not available (the unrolls check ``native.library()`` first).
    """
    where = "phased_lstm_sequence"
    steps, batch, depth, units = sequence_dims(where, x, c0, "c0")
    if (
        not isinstance(times, torch.Tensor)
        or not times.is_floating_point()
        or tuple(times.shape) != (steps, batch, 1)
        or times.device != x.device
    ):
        got = (
            f"{list(times.shape)} {times.dtype} on {times.device}"
            if isinstance(times, torch.Tensor)
            else times
        )
        raise ValueError(
            f"{where}: expected times as a floating [T, B, 1] = {[steps, batch, 1]} tensor on {x.device}, "
            f"got {got}"
        )  # fmt: skip
    mk, mb, ik, ib, ok, ob = weights
    wide = depth + units + (units if mk.shape[0] == depth + 2 * units else 0)
    period, phase, ratio_on = time_gate
    shapes = {"x": tuple(x.shape), "c0": (batch, units), "h0": (batch, units), "period": (units,)}
    shapes |= {
        "phase": (units,),
        "ratio_on": (units,),
        "mask_bias": (2 * units,),
        "input_bias": (units,),
    }
    shapes |= {"mask_kernel": (wide, 2 * units), "input_kernel": (depth + units, units)}
    shapes |= {"output_kernel": (wide, units), "output_bias": (units,)}
    check_shapes(where, shapes, x=x, c0=c0, h0=h0, period=period, phase=phase, ratio_on=ratio_on, mask_kernel=mk,
                 mask_bias=mb, input_kernel=ik, input_bias=ib, output_kernel=ok, output_bias=ob)  # fmt: skip
    x, masks, lens = trim(x, lengths)
    times = times[: x.shape[0]]
    # Timestamps in the inputs' dtype: the ratio is a constant here and the native backward sums the gradients of
    # times, phase and period itself (about 2 ms of a 30 ms mnist training pass saved); in another dtype autograd
    # takes the ratio's gradient through torch's ops, in that dtype, as TF does.
    native_time = times.dtype == x.dtype
    with torch.no_grad() if native_time else contextlib.nullcontext():
        ratio = cycle_ratio(times, phase, period, x.dtype).contiguous()
    gate = (times, phase, period) if native_time else (None, None, None)
    out, c, h = _PhasedSequence.apply(
        ratio, *gate, x.contiguous(), mk, mb, ik, ib, ok, ob, ratio_on, c0.contiguous(), h0.contiguous(),
        float(leak), lens, masks,
    )  # fmt: skip
    return pad_steps(out, steps), c, h


def run_phased_cell(
    cell: PhasedLSTMCell, inputs: tuple[torch.Tensor, torch.Tensor], state: Any, lengths: Any
) -> tuple[torch.Tensor, LSTMStateTuple]:
    """``cell`` over time-major ``inputs = (times [T, B, 1], x [T, B, D])`` from ``state = (c, h)``: the runner
    ``dispatch.kernel_for`` hands the unrolls."""
    times, x = inputs
    c0, h0 = state
    weights = (cell.mask_kernel, cell.mask_bias, cell.input_kernel, cell.input_bias, cell.output_kernel,
               cell.output_bias)  # fmt: skip
    time_gate = (cell.period, cell.phase, cell.ratio_on)
    out, c, h = phased_lstm_sequence(times, x, weights, time_gate, c0, h0, cell.leak, lengths)
    return out, LSTMStateTuple(c, h)
