"""``rk.build(module, example_input)``: create every lazily built parameter now, in one call.

A cell given ``input_size=`` builds at construction. Without it, its parameters are torch
``UninitializedParameter``\\ s (as ``nn.LazyLinear``'s) until the first call fixes the input depth; an optimizer
made before then still holds them and trains them. ``build`` runs that first call on an example (no gradients,
nothing recorded) so that parameter counts, ``rk.tf_variables``, checkpoint loading and ``.to()`` see real
tensors at once.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

from ._checks import describe
from .cells.base import RNNCell

__all__ = ["build"]


def build(module: nn.Module, example_input: Any) -> nn.Module:
    """Build ``module``'s lazy parameters by running it once on ``example_input``; returns ``module``.

    Args:
        module: an rnnkit cell -- then ``example_input`` is any tensor ``[..., D]`` whose last axis is the input
            depth ``D`` (``[B, D]`` or ``[B, T, D]``; its dtype and device become the parameters') -- or any
            ``nn.Module``, called as ``module(example_input)`` (a tuple is passed as positional arguments).
        example_input: as above; its values do not matter.

    Raises:
        ValueError: a parameter is still unbuilt after the call (named), e.g. a branch the example did not reach.
    """
    where = "build"
    if not isinstance(module, nn.Module):
        raise TypeError(f"{where}: expected a torch.nn.Module, got {describe(module)}")
    with torch.no_grad():
        if isinstance(module, RNNCell):
            if not isinstance(example_input, torch.Tensor) or example_input.dim() < 2:
                raise TypeError(
                    f"{where}: expected example_input to be a [B, D] or [B, T, D] tensor for a cell, "
                    f"got {describe(example_input)}"
                )
            step = example_input.reshape(-1, example_input.shape[-1])[:1]
            module(step, module.zero_state(1, step.dtype, step.device))
        elif isinstance(example_input, tuple):
            module(*example_input)
        else:
            module(example_input)
    unbuilt = [k for k, p in module.named_parameters() if isinstance(p, UninitializedParameter)]
    if unbuilt:
        raise ValueError(
            f"{where}: expected every parameter built after one call, got still unbuilt {unbuilt}"
        )
    return module
