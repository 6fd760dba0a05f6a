"""What the contrib cells share: argument checks, TF's initialisers as in-place callables, the split of a step
into an input part and a recurrent part, and contrib's layer normalisation."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from ..._checks import check_initializer, describe
from ..base import Initializer, LayerCell

__all__ = [
    "SplitCell",
    "check_bool",
    "check_float",
    "constant_",
    "layer_norm",
    "optional_init",
    "uniform_",
]

# contrib's layers.layer_norm adds this to the variance (nn.batch_normalization's variance_epsilon).
LAYER_NORM_EPSILON = 1e-12


def check_float(where: str, name: str, value: Any) -> float:
    """A real number (not a bool) as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: expected {name} to be a float, got {describe(value)}")
    return float(value)


def check_bool(where: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where}: expected {name} to be a bool, got {describe(value)}")
    return value


def optional_init(where: str, name: str, init: Any) -> Initializer | None:
    """An in-place initialiser ``fn(tensor)`` or None (TF's default for that variable), checked as every cell's
    (``check_initializer``)."""
    check_initializer(where, name, init)
    return init


def constant_(value: float) -> Initializer:
    """TF's ``constant_initializer(value)``."""
    return lambda t: torch.nn.init.constant_(t, value)


def uniform_(low: float, high: float) -> Initializer:
    """TF's ``random_uniform_initializer(low, high)``."""
    return lambda t: torch.nn.init.uniform_(t, low, high)


def layer_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """contrib ``layers.layer_norm`` over the last axis (moments, then ``nn.batch_normalization``)::

        LN(x) = x * g + (beta - mean * g),  g = gamma / sqrt(var(x) + 1e-12)

    The variance is taken around a stop-gradient copy of the mean, as ``nn.moments`` does (same value and
    gradient); the order of operations is ``batch_normalization``'s, which rounds as TF does in float32.
    """
    mean = x.mean(dim=-1, keepdim=True)
    var = (x - mean.detach()).square().mean(dim=-1, keepdim=True)
    inv = torch.rsqrt(var + LAYER_NORM_EPSILON) * gamma
    return x * inv + (beta - mean * inv)


class SplitCell(LayerCell):
    """A contrib cell whose step splits into an input part, computed for all time steps at once, and a
    recurrent part (the cell contract of ``LayerCell``, docs/design/0004-cell-contract.md)::

        projected = input_projection(x)                 # [..., K] (or a tuple), any leading dims
        output, new_state = recurrent_step(projected_t, state)

    ``forward`` (``LayerCell``'s) and the step loop are both this composition, so the math is stated once.
    """
