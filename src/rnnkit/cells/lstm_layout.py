r"""TF's LSTM weights in torch's layout as ONE autograd node: the fused path's re-layout while training.

TF keeps ``kernel [D+P, 4H]`` (rows ``[x, h]``, gate columns ``i, j, f, o``) and ``bias [4H]``; torch's LSTM
kernels take ``weight_ih [4H, D]``, ``weight_hh [4H, P]`` and ``bias_ih [4H]`` with gate rows ``i, f, j, o``::

    weight_ih = swap_jf(kernel[:D]).T      weight_hh = swap_jf(kernel[D:]).T      bias_ih = swap_jf(bias) + forget

``swap_jf`` exchanges the ``j`` and ``f`` column blocks; it is its own inverse, so the backward is the same
shuffle: ``d kernel = swap_jf([d weight_ih, d weight_hh].T)``, ``d bias = swap_jf(d bias_ih)``.

Why a Function: written as split / chunk / cat / transpose, the re-layout recorded about a dozen autograd nodes
per call, and its transposed (non-contiguous) weights sent oneDNN's LSTM through extra copies; together about
0.3 ms of a 25 ms mnist training step, 1.2–1.4% of the gap to ``torch.nn.LSTM`` (issue 19, BENCHMARKS.md).
Here it is one node with contiguous weights. Its backward is made of differentiable ops, so ``create_graph=True``
works through it; a trace or export gets the same ops unwrapped (``tracing=True``), which it can record.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

__all__ = [
    "NativeLayout",
    "install_native",
    "native_layout",
    "native_relayout",
    "tf_lstm_to_torch",
]


class NativeLayout(Protocol):
    """C loops for the two shuffles (``rnnkit.kernels``' native library); each returns None where it cannot run
    (a device, a dtype, no compiler), and the torch ops below run instead."""

    def to_torch(
        self,
        kernel: torch.Tensor,
        bias: torch.Tensor,
        input_size: int,
        forget: torch.Tensor,
        leased: bool = False,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], Any] | None:
        """``((w_ih, w_hh, b_ih), keep)``; ``leased``: large weights in pooled buffers, valid while ``keep`` (the
        lease) lives (NOTE [pooled kernel weights], fused_spec.py; else ``keep`` is None)."""
        ...

    def to_tf(
        self, d_ih: torch.Tensor, d_hh: torch.Tensor, d_bias: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor] | None: ...

    def accepts(self, kernel: torch.Tensor) -> bool:
        """Whether ``to_torch`` runs for a kernel of this dtype and device."""
        ...

    def inference(
        self,
        kernel: torch.Tensor,
        bias: torch.Tensor,
        input_size: int,
        forget: torch.Tensor,
        zero: torch.Tensor,
        leased: bool = False,
    ) -> tuple[list[torch.Tensor], Any] | None:
        """``([*weights, zero], keep)`` of ``to_torch`` with the fewest checks, for a no-grad call (NOTE [lean
        re-layout], fused_spec.py); ``leased`` as ``to_torch``'s. None where that does not apply."""
        ...


# NOTE [native re-layout]: in torch ops the shuffle is about ten ops each way (chunk, cat, transposing copies),
# 0.5-0.65 ms of a 25 ms mnist training step between kernel calls, 2-2.6% of it (measured by replacing it with
# fixed weights; issue 19). rnnkit.kernels, a layer above, installs its C loops here (kernels/lstm_layout.py):
# one call each way, tiled transposes. This module cannot import them, and runs the torch ops where they are absent.
_NATIVE: list[NativeLayout | None] = [None]


def install_native(native: NativeLayout | None) -> None:
    """Let ``native`` compute the re-layout from now on (None: the torch ops alone)."""
    _NATIVE[0] = native


def native_layout() -> NativeLayout | None:
    """The installed C loops, or None."""
    return _NATIVE[0]


def native_relayout(kernel: torch.Tensor) -> bool:
    """Whether the C loops re-lay out this kernel (its dtype and device, the library present)."""
    native = _NATIVE[0]
    return native is not None and native.accepts(kernel)


def _swap_jf(w: torch.Tensor, dim: int) -> torch.Tensor:
    """``w`` with its ``j`` and ``f`` blocks (2nd and 3rd quarter of ``dim``) exchanged, as a new tensor."""
    i, j, f, o = w.chunk(4, dim)
    return torch.cat([i, f, j, o], dim)


def _gather(
    kernel: torch.Tensor, bias: torch.Tensor, input_size: int, forget: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rows = _swap_jf(kernel, 1).t()  # [4H, D+P] in torch's gate order
    w_ih, w_hh = rows[:, :input_size].contiguous(), rows[:, input_size:].contiguous()
    return w_ih, w_hh, _swap_jf(bias, 0) + forget


def _relayout(
    kernel: torch.Tensor,
    bias: torch.Tensor,
    input_size: int,
    forget: torch.Tensor,
    leased: bool = False,
) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], Any]:
    """``((weight_ih, weight_hh, bias_ih), keep)``: by the C loops where they run, else the torch ops (``keep``
    None: new tensors)."""
    native = _NATIVE[0]
    done = None if native is None else native.to_torch(kernel, bias, input_size, forget, leased)
    return done if done is not None else (_gather(kernel, bias, input_size, forget), None)


class _ToTorchLayout(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        kernel: torch.Tensor,
        bias: torch.Tensor,
        input_size: int,
        forget: torch.Tensor,
        values: tuple[torch.Tensor, ...] | None,
        leased: bool,
    ) -> tuple[torch.Tensor, ...]:
        if values is not None:  # computed already from these very parameters: share their memory
            return tuple(v.view_as(v) for v in values)
        weights, keep = _relayout(kernel, bias, input_size, forget, leased)
        if keep is None:
            return weights
        # NOTE [pooled kernel weights]: the lease lives as long as this node, so the buffers go back to the pool
        # only once the graph that saved them is gone. The outputs are new tensor objects on the buffers (detach):
        # autograd sets their history, and the pooled tensors themselves must not hold this node (a cycle)
        ctx.keep = keep
        return tuple(w.detach() for w in weights)

    @staticmethod
    def backward(
        ctx: Any, d_ih: torch.Tensor, d_hh: torch.Tensor, d_bias: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None, None, None, None]:
        # (an output without a gradient arrives as zeros: a Function materializes them)
        native = _NATIVE[0]
        # (under create_graph=True the gradient must be recorded: the torch ops)
        if native is not None and not torch.is_grad_enabled():
            done = native.to_tf(d_ih, d_hh, d_bias)
            if done is not None:
                return done[0], done[1], None, None, None, None
        rows = torch.cat([d_ih.t(), d_hh.t()], 0)  # [D+P, 4H] in torch's gate order, contiguous
        return _swap_jf(rows, 1), _swap_jf(d_bias, 0), None, None, None, None


def tf_lstm_to_torch(
    kernel: torch.Tensor,
    bias: torch.Tensor,
    input_size: int,
    forget: torch.Tensor,
    tracing: bool = False,
    values: tuple[torch.Tensor, ...] | None = None,
    leased: bool = False,
) -> tuple[torch.Tensor, ...]:
    """``(weight_ih [4H, D], weight_hh [4H, P], bias_ih [4H])``, contiguous, from TF's ``kernel [D+P, 4H]`` and
    ``bias [4H]``; ``forget``: a ``[4H]`` constant added to ``bias_ih`` (``forget_bias`` on torch's ``f`` block).
    ``tracing``: a graph is being recorded (jit.trace or an ONNX export would keep the Function as an opaque
    Python op), so the same ops run unwrapped; with nothing to record (no_grad, inference, parameters without
    ``requires_grad``) there is no autograd node either. ``values``: this function's result for the same parameters at
    the same versions, computed earlier without autograd; the outputs are then views of it (one copy of the
    weights serves several kernel calls, and oneDNN finds its weights where it left them). ``leased``: for the
    fused path's own kernel call only, which lets no output escape (NOTE [pooled kernel weights],
    fused_spec.py): when recording, large weights go into pooled buffers held by the autograd node."""
    if tracing:
        return _gather(kernel, bias, input_size, forget)
    if values is None and not (
        torch.is_grad_enabled() and (kernel.requires_grad or bias.requires_grad)
    ):  # nothing to record (inference, no_grad): no autograd node, and no node to hold a lease
        return _relayout(kernel, bias, input_size, forget)[0]
    return _ToTorchLayout.apply(kernel, bias, input_size, forget, values, leased)
