"""TF variable names ⇄ cell parameters.

A full TF name is ``scope/cell path/parameter``: e.g. ``rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel`` for
``dynamic_rnn(MultiRNNCell([BasicLSTMCell(..), ..]), ...)`` under the default scope ``rnn``. Cells produce their
own part (``RNNCell._tf_variables``); this module adds the scope and does the copying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from .cells.base import RNNCell

__all__ = ["tf_variables", "load_tf_variables", "LoadResult"]


class LoadResult(NamedTuple):
    """What ``load_tf_variables`` did not match (both empty in strict mode)."""

    missing: list[str]
    unexpected: list[str]


def _prefix(where: str, scope: str | None) -> str:
    if scope is None or scope == "":
        return ""
    if not isinstance(scope, str):
        raise TypeError(f"{where}: expected scope to be a str, got {scope!r}")
    return scope.strip("/") + "/"


def _check_module(where: str, cell: Any) -> None:
    if not isinstance(cell, RNNCell):
        raise TypeError(f"{where}: expected an rnnkit cell, got {type(cell).__name__}")


def tf_variables(cell: RNNCell, scope: str | None = "rnn") -> dict[str, nn.Parameter]:
    """The cell's parameters by full TF name (no ``:0``), in TF's variable-creation order.

    ``scope`` is the unroll's scope: ``"rnn"`` for ``dynamic_rnn``/``static_rnn``, ``"bidirectional_rnn/fw"``...
    Raises ValueError if the cell has not built its parameters yet.
    """
    where = "tf_variables"
    _check_module(where, cell)
    result: dict[str, nn.Parameter] = {}
    for name, param in cell._tf_variables(_prefix(where, scope)):
        if param is None:
            raise ValueError(
                f"{where}: expected a built cell, got {type(cell).__name__} whose variable {name} does not "
                "exist yet; pass input_size= to the cell, call cell.build(D), or run it once"
            )
        result[name] = param
    return result


def _normalise_name(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def load_tf_variables(
    cell: RNNCell, values: Mapping[str, Any], scope: str | None = "rnn", strict: bool = True
) -> LoadResult:
    """Copy arrays (numpy or torch, any float dtype) into the cell's parameters by full TF name.

    Names may carry TF's ``:0`` suffix. With ``strict=True`` (default), any missing name, unexpected name or
    shape mismatch raises one ValueError listing all of them, and nothing is copied. With ``strict=False``
    the matching names are copied and the others returned; shape mismatches still raise.
    """
    where = "load_tf_variables"
    if not isinstance(values, Mapping):
        raise TypeError(f"{where}: expected values to be a mapping of TF name -> array, got {type(values).__name__}")
    own = tf_variables(cell, scope)
    incoming = {_normalise_name(k): v for k, v in values.items()}
    missing = [name for name in own if name not in incoming]
    unexpected = [name for name in incoming if name not in own]
    mismatched = []
    for name, param in own.items():
        if name in incoming:
            shape = tuple(np.shape(incoming[name]))
            if shape != tuple(param.shape):
                mismatched.append(f"{name}: expected {tuple(param.shape)}, got {shape}")
    if mismatched or (strict and (missing or unexpected)):
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if unexpected:
            parts.append(f"unexpected {unexpected}")
        if mismatched:
            parts.append(f"shape mismatch [{'; '.join(mismatched)}]")
        raise ValueError(f"{where}: expected the cell's TF variables under scope {scope!r}, got " + ", ".join(parts))
    with torch.no_grad():
        for name, param in own.items():
            if name in incoming:
                value = incoming[name]
                tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.array(value))
                param.copy_(tensor.to(dtype=param.dtype, device=param.device))
    return LoadResult(missing, unexpected)
