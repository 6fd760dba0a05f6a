"""Named state tuples, and the checks and dtype rule of states.

NOTE [LSTM state order]: ``LSTMStateTuple`` is ``(c, h)`` as in TF1; ``torch.nn.LSTM`` uses ``(h, c)``.
Only the fused path (``rnnkit.fused``) converts between the two.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from .. import nest
from .._checks import autocast_enabled, describe
from .state_order import warn_plain_lstm_tuples

__all__ = ["LSTMStateTuple", "check_state", "state_dtype", "keep_state_dtype"]


class LSTMStateTuple(NamedTuple):
    """The state of an LSTM cell: ``c`` is the memory cell ``[B, H]``, ``h`` the output ``[B, H]`` (or ``[B, P]``
    with a projection)."""

    # Tensors in a state; the same tuple holds the sizes of ``state_size`` (ints) and the flags of a dropout
    # state filter (bools), as TF's LSTMStateTuple does, so the fields are typed Any.
    c: Any
    h: Any

    @property
    def dtype(self) -> torch.dtype:
        """The common dtype of ``c`` and ``h`` (TF's LSTMStateTuple.dtype); TypeError if they differ."""
        if self.c.dtype != self.h.dtype:
            raise TypeError(
                f"LSTMStateTuple.dtype: expected c and h of one dtype, got {self.c.dtype} and {self.h.dtype}"
            )
        return self.c.dtype


def check_state(
    where: str,
    state_size: Any,
    state: Any,
    batch_size: int,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> None:
    """Check that ``state`` has the structure of ``state_size`` and leaves of shape ``[batch_size, size]``
    (and of the inputs' ``dtype`` and ``device``, when given)."""
    nest.assert_same_structure(state_size, state, where=f"{where} (state)")
    warn_plain_lstm_tuples(where, state_size, state)
    for size, tensor in zip(nest.flatten(state_size), nest.flatten(state)):
        if not isinstance(size, int):
            # Not a [B, size] row state: a scalar step counter or an alignment history (seq2seq's
            # AttentionWrapper), which its owner checks.
            continue
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{where}: expected state tensors, got {describe(tensor)}")
        expected = (batch_size, size) if isinstance(size, int) else None
        if expected is not None and tuple(tensor.shape) != expected:
            raise ValueError(
                f"{where}: expected a state tensor of shape [B={batch_size}, {size}], "
                f"got shape {tuple(tensor.shape)}"
            )
        if device is not None and tensor.device != device:
            raise ValueError(
                f"{where}: expected state tensors on {device} (the inputs'), got {tensor.device}"
            )
        if dtype is not None and tensor.dtype != dtype:
            raise TypeError(
                f"{where}: expected state tensors of dtype {dtype} (the inputs'), got {tensor.dtype}"
            )


def state_dtype(inputs: torch.Tensor) -> torch.dtype | None:
    """The dtype a cell's state must have: the inputs' (None under autocast, where dtypes legitimately mix)."""
    return None if autocast_enabled(inputs.device.type) else inputs.dtype


def keep_state_dtype(device_type: str, new_state: Any, state: Any) -> Any:
    """Under ``torch.autocast``, give each new state leaf the dtype of the matching leaf of ``state``.

    Mixed precision runs the matmuls in bf16/fp16, but the state carried from step to step stays in the dtype it
    came in (float32: the parameters' dtype), as TF kept an LSTM's ``c`` in the variables' dtype; otherwise an
    RNN's state would be rounded to 8 bits of mantissa at every one of T steps. Outside autocast: unchanged.
    """
    if not autocast_enabled(device_type):
        return new_state
    return nest.map_structure(lambda new, old: new.to(old.dtype), new_state, state)
