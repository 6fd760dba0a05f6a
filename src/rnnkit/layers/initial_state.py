"""``TrainableInitialState``: a learned initial state for any cell, one trainable vector per state leaf.

TF1 programs learned an initial state by hand (a ``tf.get_variable`` per state tensor, tiled over the batch);
Keras and PyTorch have no switch for it either (keras-team/keras#9797, flairNLP/flair#897). Here it is a module::

    init = rk.TrainableInitialState(cell)          # parameters initial_state_0 .. initial_state_{L-1}, each [size]
    state = init(batch_size)                       # nested like cell.state_size, each leaf [B, size]
    outputs, final = rk.dynamic_rnn(cell, x, initial_state=state)

Gradients from every row reach the one vector per leaf (``expand`` sums them in backward).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .. import nest
from .._checks import check_positive_int, to_torch_device, to_torch_dtype
from ..cells.base import RNNCell, check_cell

__all__ = ["TrainableInitialState"]


class TrainableInitialState(nn.Module):
    """One trainable vector per leaf of ``cell.state_size``, broadcast to a batch on call.

    Args:
        cell: the cell whose state this initialises (only its ``state_size`` is read; the cell is not kept).
        init: ``"zeros"`` (default: training starts exactly where the zero state starts) or an in-place
            initialiser applied to each vector (e.g. ``torch.nn.init.normal_``).
        dtype, device: of the parameters (default float32 on the CPU; ``.to()`` moves them like any module).

    Call: ``init(batch_size)`` → the state structure with leaves ``[batch_size, size]``.
    TF names: ``initial_state_{i}`` in ``nest.flatten`` order of the state (``named_tf_variables``).
    """

    def __init__(
        self, cell: RNNCell, init: Any = "zeros", dtype: Any = None, device: Any = None
    ) -> None:
        super().__init__()
        where = "TrainableInitialState"
        check_cell(where, cell)
        if init != "zeros" and not callable(init):
            raise TypeError(
                f"{where}: expected init to be 'zeros' or an in-place initializer (callable), got {init!r}"
            )
        self._structure = cell.state_size
        sizes = nest.flatten(self._structure)
        for size in sizes:
            if not isinstance(size, int):
                raise ValueError(
                    f"{where}: expected a cell whose state leaves are flat [size] vectors, got state_size "
                    f"{self._structure!r}"
                )
        dtype = to_torch_dtype(where, dtype) or torch.get_default_dtype()
        device = to_torch_device(where, device)
        self.vectors = nn.ParameterList(
            [nn.Parameter(torch.zeros(size, dtype=dtype, device=device)) for size in sizes]
        )
        if init != "zeros":
            with torch.no_grad():
                for v in self.vectors:
                    init(v)

    @property
    def state_size(self) -> Any:
        return self._structure

    def forward(self, batch_size: int) -> Any:
        """The learned state for ``batch_size`` rows, nested like ``state_size``, leaves ``[B, size]``."""
        if not isinstance(
            batch_size, (torch.Tensor, torch.SymInt)
        ):  # traced/exported: symbolic sizes
            check_positive_int("TrainableInitialState", "batch_size", batch_size)
        leaves = [v.unsqueeze(0).expand(batch_size, v.shape[0]) for v in self.vectors]
        return nest.pack_sequence_as(self._structure, leaves)

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        """``(prefix + "initial_state_{i}", vector)`` for each state leaf."""
        for i, v in enumerate(self.vectors):
            yield f"{prefix}initial_state_{i}", v

    def extra_repr(self) -> str:
        return f"state_size={self._structure}"
