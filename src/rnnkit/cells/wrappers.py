"""TF1's cell wrappers: ``ResidualWrapper``, ``DeviceWrapper`` here; ``DropoutWrapper`` (``dropout.py``) and the
contrib ``OutputProjectionWrapper`` / ``InputProjectionWrapper`` (``projection.py``) re-exported, so that
``rnnkit.cells.wrappers`` is the one place to import every wrapper from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import nest
from .._checks import TF_DEVICE_EXAMPLES, describe, tf_device_to_torch
from .base import RNNCell
from .dropout import DropoutWrapper, default_dropout_state_filter_visitor  # noqa: F401 (kept importable, not listed)
from .lazy import unbuilt
from .projection import InputProjectionWrapper, OutputProjectionWrapper
from .wrapper_base import CellWrapper

__all__ = [
    "CellWrapper",
    "DropoutWrapper",
    "ResidualWrapper",
    "DeviceWrapper",
    "OutputProjectionWrapper",
    "InputProjectionWrapper",
]


class ResidualWrapper(CellWrapper):
    r"""Add the cell's inputs to its outputs (a residual connection, Wu et al. 2016)::

        out, new_state = cell(x, state)
        out = residual_fn(x, out)          # default: x + out, leaf by leaf

    Args:
        cell: the rnnkit cell to wrap; with the default ``residual_fn`` its output must have the inputs'
            structure and shapes (``output_size == D``).
        residual_fn: optional ``fn(inputs, outputs) -> outputs``.

    TF names: none added; the wrapped cell's names pass through.
    """

    def __init__(self, cell: RNNCell, residual_fn: Callable[[Any, Any], Any] | None = None) -> None:
        super().__init__(cell)
        if residual_fn is not None and not callable(residual_fn):
            raise TypeError(
                f"ResidualWrapper: expected residual_fn to be callable, got {describe(residual_fn)}"
            )
        self.residual_fn = residual_fn

    @staticmethod
    def _add(inputs: Any, outputs: Any) -> Any:
        where = "ResidualWrapper"
        nest.assert_same_structure(inputs, outputs, where=f"{where} (inputs vs outputs)")
        for x, y in zip(nest.flatten(inputs), nest.flatten(outputs)):
            if x.shape != y.shape:
                raise ValueError(
                    f"{where}: expected the cell's output to have the inputs' shape {tuple(x.shape)} (the default "
                    f"residual_fn adds them), got {tuple(y.shape)}"
                )
        return nest.map_structure(lambda x, y: x + y, inputs, outputs)

    def forward(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        """One step: ``(residual_fn(inputs, output), new_state)``."""
        output, new_state = self.cell(inputs, state)
        fn = self.residual_fn or self._add
        return fn(inputs, output), new_state


def _to(structure: Any, device: torch.device) -> Any:
    return nest.map_structure(
        lambda x: x.to(device) if isinstance(x, torch.Tensor) else x, structure
    )


class DeviceWrapper(CellWrapper):
    r"""Run the wrapped cell on ``device`` (TF1's ``tf.device`` around the cell call)::

        out, new_state = cell(x.to(device), state.to(device))
        return out.to(x.device), new_state.to(x.device)

    The cell is moved to ``device`` here (a lazily built cell builds there). Outputs and state go back to the
    inputs' device, as TF copied tensors between devices implicitly, so the wrapper composes with any unroll.

    Args:
        cell: the rnnkit cell to wrap.
        device: a ``torch.device``, a torch device string (``"cuda:0"``, ``"cpu"``) or a TF device string
            (``"/gpu:0"``, ``"/device:CPU:0"``, ``"/job:localhost/replica:0/task:0/device:GPU:1"``; GPU N is
            ``cuda:N``).

    TF names: none added.
    """

    def __init__(self, cell: RNNCell, device: torch.device | str) -> None:
        super().__init__(cell)
        if not isinstance(device, (str, torch.device)):
            raise TypeError(
                f"DeviceWrapper: expected device to be a str or torch.device, got {describe(device)}"
            )
        tf_name = tf_device_to_torch(device) if isinstance(device, str) else None
        try:
            self.device = torch.device(tf_name or device)
        except RuntimeError as err:
            raise ValueError(
                "DeviceWrapper: expected a torch device name ('cpu', 'cuda:0') or a TF device string "
                f"({TF_DEVICE_EXAMPLES}), got {device!r}"
            ) from err
        # A cell not built at all holds only placeholders (cells/lazy.py): nothing to move (it builds on the
        # inputs' device, which is this one), and moving them would need the device to exist here already.
        params = list(self.cell.parameters())
        if not params or not all(unbuilt(p) for p in params):
            self.cell.to(self.device)

    def zero_state(
        self, batch_size: int, dtype: Any = None, device: torch.device | str | None = None
    ) -> Any:
        return self.cell.zero_state(
            batch_size, dtype, device=device if device is not None else self.device
        )

    def forward(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        """One step of the wrapped cell on ``self.device``; results on the inputs' device."""
        home = nest.flatten(inputs)[0].device
        output, new_state = self.cell(_to(inputs, self.device), _to(state, self.device))
        return _to(output, home), _to(new_state, home)

    def extra_repr(self) -> str:
        return f"device={self.device}"
