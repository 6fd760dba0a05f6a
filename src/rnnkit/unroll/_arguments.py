"""The unrolls' argument checks: the cell (``cells.base.check_cell``), ``sequence_length`` and the initial state."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import nest
from .._checks import autocast_enabled, describe, to_torch_dtype
from ..cells.base import RNNCell, check_cell, check_state

__all__ = [
    "check_cell",
    "check_dtype_matches",
    "check_input_leaf",
    "check_sequence_length",
    "initial_state_or_zeros",
]


def check_input_leaf(
    where: str, name: str, x: Any, layout: str, rank: int, exact: bool = True
) -> torch.Tensor:
    """Check one tensor of an unroll's inputs (``name`` says which, e.g. ``inputs[3]``): a floating-point tensor
    of rank ``rank``, or of rank ``rank`` or more when not ``exact`` (the extra axes are the cell's to check);
    ``layout`` (``"[B, T, D]"``, ``"[B, D]"``) spells the expected shape in the messages."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: expected {name} to hold {layout} tensors, got {describe(x)}")
    if x.dim() < rank or (exact and x.dim() > rank):
        raise ValueError(
            f"{where}: expected {name} of rank {rank} {layout}, got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(f"{where}: expected floating-point inputs, got {x.dtype}")
    return x


def check_sequence_length(
    where: str,
    sequence_length: Any,
    batch: int,
    time: int,
    device: torch.device,
    name: str = "sequence_length",
) -> torch.Tensor | None:
    """Return ``sequence_length`` as an int64 ``[B]`` tensor on ``device``, or None.

    Raises for a wrong shape, a non-integer dtype, negative entries or entries longer than the time axis.
    """
    if sequence_length is None:
        return None
    if isinstance(sequence_length, torch.Tensor):
        lengths = sequence_length
    else:
        try:
            array = np.asarray(sequence_length)
        except ValueError:  # ragged nested lists
            array = np.asarray(None)
        if array.dtype == object or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise TypeError(
                f"{where}: expected {name} to hold integers, got {describe(sequence_length)} "
                f"of {array.dtype} values"
            )
        lengths = torch.as_tensor(array.astype(np.int64))
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{where}: expected {name} to hold integers, got {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ValueError(
            f"{where}: expected {name} of shape [B] = ({batch},), got shape {tuple(lengths.shape)}"
        )
    lengths = lengths.to(device=device, dtype=torch.int64)
    # the unroll reads the lengths (to check them, to stop early): meta tensors have none
    if lengths.is_meta:
        raise ValueError(
            f"{where}: expected {name} with values, got a tensor on the meta device (inputs on the meta "
            f"device need {name}=None)"
        )
    if batch:
        low, high = int(lengths.min()), int(lengths.max())
        if low < 0:
            raise ValueError(f"{where}: expected {name} >= 0, got a minimum of {low}")
        if high > time:
            raise ValueError(
                f"{where}: expected {name} <= the number of time steps ({time}), got {high}"
            )
    return lengths


def check_dtype_matches(where: str, dtype: torch.dtype | None, like: torch.Tensor) -> None:
    """Raise unless ``dtype`` (already a torch dtype: ``to_torch_dtype``) is None or ``like``'s dtype: TF's
    ``dtype=`` argument named the state's dtype, which here is always the inputs'."""
    if dtype is not None and dtype != like.dtype:
        raise TypeError(
            f"{where}: expected dtype to match the inputs' dtype {like.dtype}, got {dtype}"
        )


def initial_state_or_zeros(
    where: str, cell: RNNCell, initial_state: Any, dtype: Any, batch: int, like: torch.Tensor
) -> Any:
    """The checked ``initial_state``, or the cell's zero state in the inputs' dtype on their device.

    ``dtype`` (TF demanded it when there was no initial state) is optional; given, it must match the inputs.
    """
    dtype = to_torch_dtype(where, dtype)
    if autocast_enabled(like.device.type):
        # Mixed precision: inputs may arrive in bf16/fp16 (from an autocast layer), but the state starts in and
        # keeps the parameters' dtype (see cells.base.keep_state_dtype); any floating initial state is accepted.
        if initial_state is None:
            return cell.zero_state(
                batch, dtype or cell._default_dtype_device()[0], device=like.device
            )
        check_state(where, cell.state_size, initial_state, batch)
        return initial_state
    check_dtype_matches(where, dtype, like)
    if initial_state is None:
        return cell.zero_state(batch, like.dtype, device=like.device)
    check_state(where, cell.state_size, initial_state, batch)
    for size, tensor in zip(nest.flatten(cell.state_size), nest.flatten(initial_state)):
        if not isinstance(size, int):
            continue  # a step counter or an alignment history: its owner checks it (see check_state)
        if tensor.device != like.device:
            raise ValueError(
                f"{where}: expected initial_state on {like.device} (the inputs' device), got {tensor.device}"
            )
        if tensor.dtype != like.dtype:
            raise TypeError(
                f"{where}: expected initial_state of dtype {like.dtype} (the inputs' dtype), got {tensor.dtype}"
            )
    return initial_state
