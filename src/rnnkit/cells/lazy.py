"""Parameters built later, without the lazy-build trap: torch's ``UninitializedParameter`` (as ``nn.LazyLinear``).

A cell that does not know its input depth yet holds placeholders; ``parameters()`` lists them, so an optimizer made
before the first call holds them too, and building *materializes the same objects in place*: nothing is left out of
training, and nothing needs rebuilding.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

from .._checks import check_positive_int

__all__ = ["placeholder", "unbuilt", "adopt", "create_in_place", "already_built"]


def placeholder(device: Any = None, dtype: torch.dtype | None = None) -> nn.Parameter:
    """An uninitialized parameter (a ``Parameter`` at run time; torch's annotations omit its factory keywords)."""
    return cast(nn.Parameter, UninitializedParameter(device=device, dtype=dtype))  # type: ignore[call-arg]


def unbuilt(param: Any) -> bool:
    """True for None and for a placeholder not materialized yet."""
    return param is None or isinstance(param, UninitializedParameter)


def adopt(held: Any, made: nn.Parameter) -> nn.Parameter:
    """``made``'s value moved into ``held`` when that is a placeholder (the object an early optimizer holds),
    else ``made`` itself."""
    if not isinstance(held, UninitializedParameter):
        return made
    held.materialize(made.shape, device=made.device, dtype=made.dtype)
    with torch.no_grad():
        held.copy_(made)
    return cast(nn.Parameter, held)  # materialize() made it a Parameter


def create_in_place(
    cell: Any, input_size: int, dtype: torch.dtype | None = None, device: Any = None
) -> None:
    """A ``LayerCell``'s ``_create_parameters(input_size, dtype, device)``, then each new value moved into the
    placeholder it replaces, so the parameter objects stay the ones ``cell.parameters()`` gave before."""
    held = {attr: getattr(cell, attr) for _, attr in cell._tf_params}
    cell._create_parameters(input_size, dtype=dtype, device=device)
    for attr, old in held.items():
        made = getattr(cell, attr)
        if (
            isinstance(made, nn.Parameter) and made is not old
        ):  # (a buffer, e.g. an unused bias, stays one)
            setattr(cell, attr, adopt(old, made))


def already_built(owner: Any, input_size: Any) -> bool:
    """Check ``owner.build(input_size)``'s argument: a positive int, and the depth ``owner`` was built for if it
    is built already. True when it is (nothing left to do), False when the parameters are still to create."""
    name = type(owner).__name__
    check_positive_int(f"{name}.build", "input_size", input_size)
    if owner.input_size is None:
        return False
    if input_size != owner.input_size:
        raise ValueError(
            f"{name}: built for input_size={owner.input_size}, got input_size={input_size}"
        )
    return True
