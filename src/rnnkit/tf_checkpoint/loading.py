"""Load a TF checkpoint into an rnnkit cell or model (``rk.load_tf_checkpoint``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .._checks import describe
from ..cells.base import RNNCell
from ..tf_names import DEFAULT_SCOPE, LoadResult, collect_tf_variables, default_scope_for
from .errors import CheckpointError
from .legacy_names import modern_name
from .reader import CheckpointReader
from .writer import write

__all__ = ["load_tf_checkpoint", "save_tf_checkpoint", "tf_name_map"]

_WHERE = "load_tf_checkpoint"


def _check_path(where: str, name: str, path: Any) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"{where}: expected {name} to be a str or os.PathLike, got {describe(path)}"
        )


def _wanted(
    module: Any, scope: str | None, where: str = _WHERE
) -> Mapping[str, torch.nn.Parameter]:
    if isinstance(module, RNNCell) or callable(getattr(module, "named_tf_variables", None)):
        return collect_tf_variables(where, module, scope)
    method = getattr(module, "tf_variables", None)
    if callable(method):
        names = method()
        if not isinstance(names, Mapping):
            raise TypeError(
                f"{where}: expected {type(module).__name__}.tf_variables() to return a mapping "
                f"of TF name -> Parameter, got {type(names).__name__}"
            )
        return names
    raise TypeError(
        f"{where}: expected an rnnkit cell or a module with a tf_variables() method, "
        f"got {type(module).__name__}"
    )


def _checkpoint_names(reader: CheckpointReader) -> dict[str, str]:
    """Current-style name -> name in the checkpoint; exact names win over renamed old ones."""
    names = {name: name for name in reader.names()}
    for name in reader.names():
        names.setdefault(modern_name(name), name)
    return names


def load_tf_checkpoint(
    module_or_cell: Any,
    path: str | os.PathLike[str],
    scope: str | None = DEFAULT_SCOPE,
    strict: bool = True,
) -> LoadResult:
    """Copy a TF checkpoint's variables into an rnnkit cell (or model) by TF variable name.

    Args:
        module_or_cell: an rnnkit cell (built: give ``input_size=`` or run it once), whose names are
            ``rk.tf_variables(cell, scope)``; or any module with a ``tf_variables()`` method returning
            ``{full TF name: Parameter}`` (then ``scope`` is not used).
        path: checkpoint prefix, ``.index`` file, or directory with a ``checkpoint`` state file.
        scope: the unroll's scope in the TF graph: ``"rnn"`` for ``dynamic_rnn``/``static_rnn``,
            ``"bidirectional_rnn/fw"``, or e.g. ``"LSTM_cell/rnn"`` when the unroll ran inside
            ``tf.variable_scope("LSTM_cell")``.
        strict: when True (default) every parameter must be found, and no other RNN variable may sit
            under the same scope (e.g. a third layer the cell does not have); optimizer slots
            (``.../kernel/Adam``) and variables outside the scope are always ignored.

    Old names (TF < 1.2: ``RNN/BasicLSTMCell/Linear/Matrix``, ``.../weights``, ``.../biases``,
    ``LSTMCell/W_0``, ...) are matched to the current ones (see ``legacy_names``). Values are cast to
    the parameters' dtype and device.

    Returns:
        ``LoadResult(missing, unexpected)``: names not found / checkpoint names under the scope left
        unused (both empty when ``strict``).

    Raises:
        CheckpointError: unreadable checkpoint, or (strict) missing / unexpected variables.
        ValueError: a shape differs from the parameter's.
    """
    if not isinstance(strict, bool):
        raise TypeError(f"{_WHERE}: expected strict to be a bool, got {strict!r}")
    _check_path(_WHERE, "path", path)
    scope = default_scope_for(module_or_cell, scope)
    wanted = _wanted(module_or_cell, scope)
    reader = CheckpointReader(path)
    available = _checkpoint_names(reader)
    found = {name: available[name] for name in wanted if name in available}
    missing = [name for name in wanted if name not in found]

    used = set(found.values())
    # Variables TF saved next to the model's own that carry nothing more (a cuDNN layer's opaque_kernel buffer,
    # saved beside its canonical weights), named by the module; never "unexpected".
    redundant = getattr(module_or_cell, "tf_redundant_variables", None)
    if callable(redundant):
        used |= {name for name in available if name in set(redundant(scope))}
    if isinstance(module_or_cell, RNNCell) and scope:
        prefix = scope.strip("/") + "/"

        def in_scope(modern: str) -> bool:
            return modern.startswith(prefix)

    else:  # no scope to go by: the model's own top-level scopes
        roots = {name.split("/")[0] for name in wanted}

        def in_scope(modern: str) -> bool:
            return modern.split("/")[0] in roots

    unexpected = sorted(
        original
        for original in reader.names()
        if original not in used
        and in_scope(modern_name(original))
        and not any(original.startswith(u + "/") for u in used)  # optimizer slots of used ones
        and reader.dtype_name(original) != "string"
    )
    if strict and (missing or unexpected):
        parts = []
        if missing:
            near = sorted(n for n in available if in_scope(n))[:12]
            parts.append(f"missing {missing} (checkpoint names under the scope: {near})")
        if unexpected:
            parts.append(f"unexpected {unexpected}")
        raise CheckpointError(
            f"{_WHERE}: expected the model's TF variables under scope {scope!r}, got "
            + ", ".join(parts),
            reader.prefix,
        )
    values = {name: reader.tensor(original) for name, original in found.items()}
    try:
        _copy(wanted, values)
    except ValueError as e:  # a shape mismatch: name the checkpoint it came from
        raise CheckpointError(str(e), reader.prefix) from None
    return LoadResult(missing, unexpected)


def _copy(wanted: Mapping[str, torch.nn.Parameter], values: Mapping[str, np.ndarray]) -> None:
    bad = [
        f"{name}: expected {tuple(wanted[name].shape)}, got {value.shape}"
        for name, value in values.items()
        if tuple(value.shape) != tuple(wanted[name].shape)
    ]
    if bad:
        raise ValueError(f"{_WHERE}: shape mismatch [{'; '.join(bad)}]")
    with torch.no_grad():
        for name, value in values.items():
            param = wanted[name]
            param.copy_(torch.from_numpy(value).to(dtype=param.dtype, device=param.device))


def save_tf_checkpoint(
    module_or_cell: Any,
    prefix: str | os.PathLike[str],
    scope: str | None = DEFAULT_SCOPE,
    write_state: bool = True,
) -> str:
    """Write a cell's (or model's) parameters as a TF checkpoint under their TF names.

    The inverse of :func:`load_tf_checkpoint`: names come from ``rk.tf_variables(cell, scope)`` or the
    module's ``tf_variables()``; values keep their dtype (float32 stays float32). TensorFlow restores
    the result with ``tf.train.Saver().restore`` into the graph that uses the same names.
    Returns the prefix.
    """
    where = "save_tf_checkpoint"
    _check_path(where, "prefix", prefix)
    wanted = _wanted(module_or_cell, scope, where)
    values = {name: param.detach().cpu().numpy() for name, param in wanted.items()}
    return write(prefix, values, write_state=write_state)


def tf_name_map(module_or_cell: Any, scope: str | None = DEFAULT_SCOPE) -> dict[str, str]:
    """``{state_dict key: TF name}`` for every parameter that has a TF name.

    Turns an rnnkit model's saved state (e.g. a run directory's safetensors) into a TF checkpoint:
    ``convert.safetensors_to_checkpoint(path, prefix, rename=tf_name_map(model))``.
    """
    by_id = {
        id(param): name for name, param in _wanted(module_or_cell, scope, "tf_name_map").items()
    }
    return {
        key: by_id[id(param)]
        for key, param in module_or_cell.named_parameters()
        if id(param) in by_id
    }
