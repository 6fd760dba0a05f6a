"""Activation functions given by callable or by TF name (``"relu"``), as TF1 cells accepted both."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["resolve_activation", "ACTIVATIONS"]

Activation = Callable[[torch.Tensor], torch.Tensor]


def _linear(x: torch.Tensor) -> torch.Tensor:
    return x


# Names as tf.keras.activations.get spelled them.
ACTIVATIONS: dict[str, Activation] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "elu": F.elu,
    "selu": F.selu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "relu6": F.relu6,
    "gelu": F.gelu,
    "swish": F.silu,
    "linear": _linear,
}

# Callables we recognise by identity, so the fused path (torch's RNN kernels) can tell tanh from relu.
_KNOWN_CALLABLES: dict[Activation, str] = {
    torch.tanh: "tanh",
    torch.Tensor.tanh: "tanh",
    F.tanh: "tanh",
    torch.relu: "relu",
    F.relu: "relu",
    torch.Tensor.relu: "relu",
    torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
}


def resolve_activation(
    where: str, activation: str | Activation | None
) -> tuple[Activation, str | None]:
    """Return ``(fn, name)``; ``name`` is the TF name when known (``None`` for an arbitrary callable).

    ``None`` means tanh (TF's default for every RNN cell).
    """
    if activation is None:
        return torch.tanh, "tanh"
    if isinstance(activation, str):
        key = activation.lower()
        if key not in ACTIVATIONS:
            known = ", ".join(sorted(ACTIVATIONS))
            raise ValueError(
                f"{where}: expected activation to be a callable or one of {known}, got {activation!r}"
            )
        return ACTIVATIONS[key], key
    if callable(activation):
        return activation, _KNOWN_CALLABLES.get(activation)
    raise TypeError(f"{where}: expected activation to be a callable or a name, got {activation!r}")
