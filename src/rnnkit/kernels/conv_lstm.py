r"""contrib's convolutional LSTMs (``Conv1DLSTMCell`` … ``ConvLSTMCell``) over a whole sequence, one autograd node.

Channels-last like TF: ``x [T, B, *S, C]``, state ``c, h [B, *S, K]``, ``kernel [*k, C+K, 4K]``. For each step::

    z = conv_SAME([x_t, h], W) + b                   # stride 1; TF pads an even window's extra row at the end
    i, j, f, o = split(z, 4, axis=-1)
    c' = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j)
    h' = tanh(c') * sigmoid(o)

How it is computed (NOTE [conv sequence]):

* ``[x_t, h_{t-1}]`` is one slice of a channels-last buffer ``xh [T+1, B, *S, C+K]``: the step's convolution
  reads it in place (torch's NCHW view of NHWC memory), and the step writes ``h_t`` into the next slice. Why not
  TF's split into an input half for all steps plus a recurrent half: measured at B=16, 16x16, 4 -> 16 channels,
  the input half over all ``T * B`` frames costs what ``T`` small ones cost, and the split adds a pass over
  ``[T, B, *S, 4K]``. Channels-last: oneDNN convolves NHWC 2-5x faster than NCHW at these channel counts.
* ``j``'s rows of ``W`` and ``b`` are doubled (exact: a power of two) and ``forget_bias`` is folded into ``b``'s
  ``f`` (one rounding moves), so one sigmoid over all ``4K`` channels gives ``i, f, o`` and ``tanh(j) =
  2 sigmoid(2j) - 1``.
* SAME padding: the convolution pads ``k // 2`` on both sides, which is TF's padding for an odd window; for an
  even one the output has one row too many at the start, and the step reads from the second row on.
* Each step's pointwise work (gates, state, and the factors its backward needs) is one pass over the pixels in
  the native loops on CPU float32/float64 (``native/conv_lstm_real.h``; measured 1.75x the naive loop against
  1.5x with the same work as a dozen torch ops a step), and torch ops elsewhere (CUDA; the same formulas). The
  forward stores the sigmoids ``a``, the gate factors ``k = a (1 - a) * [tanh j, 2 i, c, tanh c']`` and ``a_c =
  o (1 - tanh^2 c')``; a reverse step is then a few products and one transposed convolution ``dz -> dh``.
* The weight gradient is ONE convolution backward over all ``T * B`` frames of ``xh`` and ``dZ``, the bias's one
  reduction of ``dZ``, the inputs' one transposed convolution over all frames (when the inputs need one).
* TF's ``sequence_length`` rule as in the other kernels (``_mask.py``); ``create_graph=True`` recomputes in torch
  ops (``_double_backward.py``). Buffers are reused (``_workspace.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..cells.contrib.conv_lstm import _ConvLSTMCell
from ..cells.state import LSTMStateTuple
from . import _workspace
from ._conv_check import check_conv_lstm_args
from ._double_backward import double_backward
from ._inputs import native_reason
from ._mask import Masks, keep_rows, pad_steps, stack_steps, trim
from .native import call, ptr

__all__ = ["conv_lstm_sequence"]

Opt = torch.Tensor | None
_CONV: tuple[Callable[..., torch.Tensor], ...] = (F.conv1d, F.conv2d, F.conv3d)
_CONV_T: tuple[Callable[..., torch.Tensor], ...] = (
    F.conv_transpose1d,
    F.conv_transpose2d,
    F.conv_transpose3d,
)


class _Geometry:
    """The shapes of one call: ``T, B``, spatial ``S``, ``C``, ``K``, the window, ``pads = k // 2`` and ``extra``
    (1 where the window is even: the convolution's output has one more row there, its first)."""

    def __init__(
        self, x: torch.Tensor, c0: torch.Tensor, window: tuple[int, ...], native: bool = False
    ) -> None:
        self.native = native  # the pointwise steps in the native loops (else torch ops)
        self.steps, self.batch, *spatial, self.depth = x.shape
        self.spatial = tuple(spatial)
        self.units = c0.shape[-1]
        self.pixels = torch.Size(self.spatial).numel()
        self.pads = tuple(k // 2 for k in window)
        self.extra = tuple(1 - k % 2 for k in window)
        self.even = any(self.extra)
        self.conv, self.conv_t = _CONV[len(window) - 1], _CONV_T[len(window) - 1]

    def crop(self, full: torch.Tensor) -> torch.Tensor:
        """The SAME-padded result inside a channels-last convolution output ``[N, *S+extra, F]``."""
        if not self.even:
            return full
        return full[(slice(None),) + tuple(slice(e, None) for e in self.extra)]

    def full_shape(self, lead: tuple[int, ...], channels: int) -> tuple[int, ...]:
        return (*lead, *(s + e for s, e in zip(self.spatial, self.extra)), channels)


def _first(t: torch.Tensor) -> torch.Tensor:
    """Channels-last memory ``[N, *S, C]`` as the ``[N, C, *S]`` tensor torch's convolutions take (a view)."""
    return t.movedim(-1, 1)


def _last(t: torch.Tensor) -> torch.Tensor:
    return t.movedim(1, -1)


def _torch_step(
    a: torch.Tensor, c: torch.Tensor, c_next: torch.Tensor, h: torch.Tensor, h_next: torch.Tensor,
    scratch: torch.Tensor, keep: torch.Tensor | None, factors: tuple[torch.Tensor, torch.Tensor] | None,
) -> None:  # fmt: skip
    """One step's pointwise work in torch ops (what ``conv_lstm_step`` of the native loops does in one pass):
    ``a [B, P, 4, K]`` the sigmoids, ``c, h -> c_next, h_next`` (``[B, P, K]``), ``keep [B, 1, 1]`` a mask or
    None; ``factors = (k [B, P, 4, K], a_c [B, P, K])`` to fill for the backward, or None."""
    i, a_j, f, o = a.unbind(2)
    g_j = torch.add(a_j, a_j, out=scratch[0]).sub_(1)  # tanh(j), j doubled
    cn = torch.mul(f, c, out=scratch[2] if keep is not None else c_next).addcmul_(i, g_j)
    tc = torch.mul(cn, 2, out=scratch[1]).sigmoid_().mul_(2).sub_(1)  # kernels/_pointwise.tanh
    hn = torch.mul(tc, o, out=scratch[3] if keep is not None else h_next)
    if keep is not None:
        torch.where(keep, cn, c, out=c_next)
        torch.where(keep, hn, h, out=h_next)
    if factors is not None:  # a carried row's are zeroed by the backward's keep
        k = torch.addcmul(a, a, a, value=-1, out=factors[0])
        k[:, :, 0].mul_(g_j)
        k[:, :, 1].mul_(i).mul_(2)
        k[:, :, 2].mul_(c)
        k[:, :, 3].mul_(tc)
        torch.addcmul(o, hn, tc, value=-1, out=factors[1])


def _forward(
    x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor, c0: torch.Tensor, h0: torch.Tensor,
    mk: Masks | None, lens: torch.Tensor | None, g: _Geometry, save: bool,
) -> tuple[_workspace.Lease, torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """Run the recurrence; ``(lease, out [T, B, *S, K], c_T, h_T)``, the lease holding ``xh, cs, a, k, a_c``
    (and scratch)."""
    steps, batch, pix, units, depth = g.steps, g.batch, g.pixels, g.units, g.depth
    rows, saved = (batch, *g.spatial), steps if save else 1
    work = _workspace.lease(
        (
            (steps + 1, *rows, depth + units),
            (steps + 1, *rows, units),
            (saved, *rows, 4 * units),
            (steps if save else 0, *rows, 4 * units),
            (steps if save else 0, *rows, units),
            (4, batch, pix, units),  # scratch: tanh(j), tanh(c'), and c', h' before a mask
        ),
        x,
    )
    xh, cs, a_all, k_all, ac_all, scratch = work.buffers
    xh[:steps, ..., :depth].copy_(x)
    xh[0, ..., depth:].copy_(h0)
    cs[0].copy_(c0)
    hs = xh.view(steps + 1, batch, pix, depth + units)[..., depth:]  # hs[t] = h_{t-1}, [B, P, K]
    for t in range(steps):
        z = g.crop(_last(g.conv(_first(xh[t]), w, bias, padding=g.pads)))
        if g.native:
            z = z.contiguous()  # a copy for an even window's crop only
            keep = [a_all[t], k_all[t], ac_all[t]] if save else [None] * 3
            call(
                "conv_lstm_step", x, batch, pix, units, t, ptr(lens), z.data_ptr(), cs[t].data_ptr(),
                cs[t + 1].data_ptr(), hs[t].data_ptr(), hs[t + 1].data_ptr(), depth + units, *map(ptr, keep),
            )  # fmt: skip
            continue
        a = torch.sigmoid(z, out=a_all[t if save else 0]).view(batch, pix, 4, units)
        mask = mk.keep[t].unsqueeze(-1) > 0 if mk is not None and mk.masked[t] else None
        factors = None
        if save:
            factors = (k_all[t].view(batch, pix, 4, units), ac_all[t].view(batch, pix, units))
        c, c_next = cs[t].view(batch, pix, units), cs[t + 1].view(batch, pix, units)
        _torch_step(a, c, c_next, hs[t], hs[t + 1], scratch, mask, factors)
    # the outputs in the inputs' memory order: batch-major inputs (a transposed view) get batch-major outputs,
    # which the unroll's transpose back then takes without a copy (measured 1.2 ms a pass each way)
    out = x.new_empty(batch, steps, *rows[1:], units).transpose(0, 1)
    if x.stride(0) >= x.stride(1):
        out = x.new_empty(steps, *rows, units)
    if mk is not None:
        torch.mul(hs[1:].view(out.shape), mk.keep.view(steps, batch, *[1] * len(rows)), out=out)
    else:
        out.copy_(hs[1:].view(out.shape))
    h_last = hs[steps].reshape(rows + (units,)).clone(memory_format=torch.contiguous_format)
    return work, out, cs[steps].clone(), h_last


def _torch_reverse_step(ctx: Any, t: int, dh: torch.Tensor, dc: torch.Tensor,
                        dz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:  # fmt: skip
    """Step ``t``'s pointwise backward in torch ops: fills ``dz [B, P, 4, K]``; ``(dc_{t-1}, dh_t's part that
    bypasses the step or None)``, and the live part ``dh`` is folded in."""
    _, _, a_all, k_all, ac_all, _ = ctx.work.buffers
    mk, shape = ctx.masks, dh.shape
    carry_h = None
    if mk is not None and mk.masked[t]:
        keep = mk.keep[t].unsqueeze(-1)
        carry_h, carry_c = dh * (1 - keep), dc * (1 - keep)
        dh, dc = dh * keep, dc * keep
    dcn = torch.addcmul(dc, dh, ac_all[t].view(shape))
    k = k_all[t].view(dz.shape)
    for gate in range(3):  # (one broadcast product over the three measured 2x slower)
        torch.mul(dcn, k[:, :, gate], out=dz[:, :, gate])
    torch.mul(dh, k[:, :, 3], out=dz[:, :, 3])
    dc = dcn * a_all[t].view(dz.shape)[:, :, 2]
    if carry_h is not None:
        dc = dc + carry_c
    return dc, dh, carry_h


def _backward(
    ctx: Any, d_out: torch.Tensor, d_c: torch.Tensor, d_h: torch.Tensor
) -> tuple[Opt, ...]:
    g, mk, w, lens = ctx.geometry, ctx.masks, ctx.w, ctx.lens
    xh, _, a_all, k_all, ac_all, _ = ctx.work.buffers
    steps, batch, pix, units, depth = g.steps, g.batch, g.pixels, g.units, g.depth
    need_x, _, need_b, need_c0, need_h0 = ctx.needs_input_grad[:5]
    if mk is not None:
        d_out = d_out * mk.keep.view(steps, batch, *[1] * (d_out.dim() - 2))
    dz_lease = _workspace.lease((g.full_shape((steps, batch), 4 * units),), d_out)
    d_z = dz_lease.buffers[0]
    evens = [d for d, e in enumerate(g.extra) if e]
    for dim in evens:  # an even window's first output row: no gradient
        d_z.narrow(dim + 2, 0, 1).zero_()
    scratch = d_out.new_empty(batch, pix, 4, units) if g.even else None
    w_h = w[:, depth:].contiguous()
    dh = (d_out[-1] + d_h).reshape(batch, pix, units).contiguous()
    dc = d_c.reshape(batch, pix, units).clone(memory_format=torch.contiguous_format)
    for t in range(steps - 1, -1, -1):
        dz = scratch if scratch is not None else d_z[t].view(batch, pix, 4, units)
        carry_h = None
        if g.native:  # dc becomes dc_{t-1}; dh the part that bypasses the step
            call("conv_lstm_step_backward", d_out, batch, pix, units, t, ptr(lens), a_all[t].data_ptr(),
                 k_all[t].data_ptr(), ac_all[t].data_ptr(), dh.data_ptr(), dc.data_ptr(), dz.data_ptr())  # fmt: skip
            carry_h = dh if mk is not None and mk.masked[t] else None
        else:
            dc, dh, carry_h = _torch_reverse_step(ctx, t, dh, dc, dz)
        if scratch is not None:
            g.crop(d_z[t]).copy_(scratch.view(batch, *g.spatial, 4 * units))
        if t == 0 and not need_h0:
            break
        new = _last(g.conv_t(_first(d_z[t]), w_h, padding=g.pads)).reshape(batch, pix, units)
        new = new + d_out[t - 1].reshape(batch, pix, units) if t > 0 else new
        dh = (new + carry_h if carry_h is not None else new).contiguous()
    frames = _first(d_z.view(steps * batch, *d_z.shape[2:]))
    inputs = _first(xh[:steps].view(steps * batch, *xh.shape[2:]))
    ones, zeros = [1] * len(g.pads), [0] * len(g.pads)
    d_w = torch.ops.aten.convolution_backward(
        frames, inputs, w, None, ones, list(g.pads), ones, False, zeros, 1, [False, True, False]
    )[1]
    # the bias's gradient apart: one reduction of dZ measured 5x faster than the convolution backward's own
    d_b = d_z.view(-1, w.shape[0]).sum(0) if need_b else None
    d_x = None
    if need_x:
        d_x = _last(g.conv_t(frames, w[:, :depth].contiguous(), padding=g.pads))
        d_x = d_x.reshape(steps, batch, *g.spatial, depth)
    d_c0 = dc.view(batch, *g.spatial, units) if need_c0 else None
    d_h0 = dh.view(batch, *g.spatial, units) if need_h0 else None
    return d_x, d_w, d_b, d_c0, d_h0


class _ConvLSTMSequence(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor, c0: torch.Tensor, h0: torch.Tensor,
        mk: Masks | None, lens: torch.Tensor | None, window: tuple[int, ...], native: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        ctx.save_for_backward(x, w, bias, c0, h0)  # for create_graph=True (and version checks)
        g = _Geometry(x, c0, window, native)
        work, out, c, h = _forward(x, w, bias, c0, h0, mk, lens, g, True)
        ctx.work, ctx.masks, ctx.lens, ctx.geometry, ctx.w = work, mk, lens, g, w
        ctx.window = window
        return out, c, h

    @staticmethod
    def backward(
        ctx: Any, d_out: torch.Tensor, d_c: torch.Tensor, d_h: torch.Tensor
    ) -> tuple[Opt, ...]:
        if torch.is_grad_enabled():  # create_graph=True: NOTE [double backward]
            plain: Callable[..., Any] = lambda x, w, b, c0, h0, mk: _torch_conv_lstm(
                x, w, b, c0, h0, mk, ctx.window
            )
            return (
                *double_backward(ctx, plain, (d_out, d_c, d_h), ctx.masks),
                None,
                None,
                None,
                None,
            )
        return (*_backward(ctx, d_out, d_c, d_h), None, None, None, None)


def _torch_conv_lstm(
    x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor, c: torch.Tensor, h: torch.Tensor,
    mk: Masks | None, window: tuple[int, ...],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """The same recurrence in plain torch ops, recorded by autograd (the double-backward path)."""
    g = _Geometry(x, c, window)
    outputs = []
    if mk is not None:  # keep [T, B, 1] -> [T, B, 1, ..., 1] for states [B, *S, K]
        mk = Masks(mk.keep.view(*mk.keep.shape[:2], *[1] * (c.dim() - 1)), mk.masked, mk.steps)
    for t in range(x.shape[0]):
        z = _last(g.conv(_first(torch.cat([x[t], h], -1)), w, bias, padding=g.pads))
        i, j, f, o = torch.sigmoid(g.crop(z)).chunk(4, -1)
        new_c = f * c + i * (2 * j - 1)
        new_h = torch.tanh(new_c) * o
        c, h = keep_rows(mk, t, new_c, c), keep_rows(mk, t, new_h, h)
        outputs.append(h)
    return stack_steps(outputs, mk), c, h


def _folded(
    kernel: torch.Tensor, biases: torch.Tensor | None, forget_bias: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W [4K, C+K, *k], b [4K])`` from TF's ``kernel [*k, C+K, 4K]``, ``biases``: ``j``'s rows doubled (exact)
    and ``forget_bias`` added to ``f``'s bias (NOTE [conv sequence]); differentiable, so the parameters' gradients
    come back through it."""
    n, units = kernel.dim() - 2, kernel.shape[-1] // 4
    scale = kernel.new_ones(4, units)
    scale[1] = 2
    w = (kernel * scale.view(-1)).permute(n + 1, n, *range(n)).contiguous()
    shift = kernel.new_zeros(4, units)
    shift[2] = forget_bias
    b = shift.view(-1) if biases is None else biases * scale.view(-1) + shift.view(-1)
    return w, b


def _native_steps(like: torch.Tensor) -> bool:
    """Whether the steps' pointwise work runs natively (``_inputs.native_reason``; else as torch ops: CUDA...)."""
    return native_reason(like) is None


def conv_lstm_sequence(
    x: torch.Tensor,
    kernel: torch.Tensor,
    biases: torch.Tensor | None,
    c0: torch.Tensor,
    h0: torch.Tensor,
    lengths: torch.Tensor | None = None,
    forget_bias: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run contrib's convolutional LSTM (module docstring) over ``x [T, B, *S, C]`` (time-major, channels-last,
    1 to 3 spatial dimensions; stride 1, TF's SAME padding).

    Args:
        x: the inputs; kernel: TF's ``[*k, C+K, 4K]``; biases: ``[4K]`` or None (``use_bias=False``);
        c0, h0: ``[B, *S, K]``; lengths: optional ``[B]`` int64 (TF's sequence_length rule, ``kernels/_mask.py``).

    Returns:
        ``(outputs [T, B, *S, K], c_T, h_T)``.
    """
    window = check_conv_lstm_args(x, kernel, biases, c0, h0)
    # 1-D as a 2-D convolution over [1, L]: oneDNN has no channels-last 1-D path (measured 2x slower)
    if len(window) == 1:
        out, c, h = conv_lstm_sequence(
            x.unsqueeze(2), kernel.unsqueeze(0), biases, c0.unsqueeze(1), h0.unsqueeze(1), lengths,
            forget_bias,
        )  # fmt: skip
        return out.squeeze(2), c.squeeze(1), h.squeeze(1)
    steps = x.shape[0]
    x, mk, lens = trim(x, lengths)
    w, b = _folded(kernel, biases, float(forget_bias))
    tensors = (x, w, b, c0, h0)
    native = _native_steps(x)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        out, c, h = _ConvLSTMSequence.apply(*tensors, mk, lens, window, native)
    else:
        g = _Geometry(x, c0, window, native)
        _, out, c, h = _forward(x, w, b, c0, h0, mk, lens, g, False)
    return pad_steps(out, steps), c, h


def run_conv_lstm_cell(
    cell: _ConvLSTMCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, LSTMStateTuple]:
    """``cell`` over time-major ``x [T, B, *S, C]`` (the unrolls' runner): the cell's own checks first; a state of
    another dtype converted, as the step loop's concatenation and products promote it."""
    cell._check(x[0], state)
    c0, h0 = (s.to(x.dtype) for s in state)
    out, c, h = conv_lstm_sequence(x, cell.kernel, cell.biases, c0, h0, lengths, cell.forget_bias)
    return out, LSTMStateTuple(c, h)
