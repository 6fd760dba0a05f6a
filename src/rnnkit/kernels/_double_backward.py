"""NOTE [double backward]: the native kernels' backward when autograd must record it (``create_graph=True``).

The native backward computes numbers, not a graph: a gradient penalty or a Hessian-vector product through it
would silently lose every second-order term. So when grad mode is on inside ``backward`` (which is exactly
``create_graph=True``), the kernel recomputes its forward in torch ops from the saved inputs and returns
``torch.autograd.grad`` of that, with ``create_graph=True``: the same gradients to float rounding, now
differentiable again. Slower (a step loop), and only on that path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["double_backward"]


def double_backward(
    ctx: Any, forward: Callable[..., tuple[torch.Tensor, ...]], grad_outputs: tuple, masks: Any
) -> list[torch.Tensor | None]:
    """Gradients of ``forward(*saved_tensors, masks)`` for the saved tensors, recorded by autograd."""
    inputs = ctx.saved_tensors
    outputs = forward(*inputs, masks)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if g is not None]
    wanted = [
        i
        for i, t in enumerate(inputs)
        if t is not None and t.requires_grad and ctx.needs_input_grad[i]
    ]
    found = torch.autograd.grad(
        [o for o, _ in pairs],
        [inputs[i] for i in wanted],
        [g for _, g in pairs],
        create_graph=True,
        allow_unused=True,
    )
    grads: list[torch.Tensor | None] = [None] * len(inputs)
    for i, g in zip(wanted, found):
        grads[i] = g
    return grads
