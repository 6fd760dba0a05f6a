"""TF variable names ⇄ cell parameters.

A full TF name is ``scope/cell path/parameter``: e.g. ``rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel`` for
``dynamic_rnn(MultiRNNCell([BasicLSTMCell(..), ..]), ...)`` under the default scope ``rnn``. Cells produce their
own part (``RNNCell.named_tf_variables``); this module adds the scope and does the copying.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ._checks import describe
from .cells.base import RNNCell
from .cells.lazy import unbuilt

__all__ = [
    "tf_variables",
    "load_tf_variables",
    "LoadResult",
    "load_tf_variable_dict",
    "tf_variables_bidirectional",
    "tf_variables_stack_bidirectional",
]


class _UnrollScope(str):
    """The default ``scope``: ``"rnn"`` (the unrolls' scope); nothing for sequence layers that open their own
    scope as TF's layers did (``LSTMBlockFusedCell``, the cuDNN layers: ``tf_scope_is_own = True``). An explicit
    ``scope="rnn"`` is taken literally."""


#: ``"rnn"`` as the default of every ``scope=`` argument (see ``_UnrollScope``).
DEFAULT_SCOPE = _UnrollScope("rnn")


def default_scope_for(module: Any, scope: str | None) -> str | None:
    """``scope``, except that the default means no scope for a module that opens its own (a sequence layer,
    marked by a true ``tf_scope_is_own`` attribute)."""
    if scope is DEFAULT_SCOPE and getattr(module, "tf_scope_is_own", False):
        return None
    return scope


class _LoadFields(NamedTuple):
    missing: list[str]
    unexpected: list[str]


class LoadResult(_LoadFields):
    """What a load did not match: ``missing`` (wanted, not found) and ``unexpected`` (found, not used; both
    empty in strict mode). It compares and unpacks as the pair ``(missing, unexpected)``.

    ``not_weights`` (an attribute, not a tuple field): checkpoint entries that are no model weight and were
    left alone on purpose when loading a whole model -- ``global_step``, learning rates and other scalars,
    optimizer slots (``.../Adam``), ``beta1_power``... (empty for cells and plain dictionaries).
    """

    not_weights: list[str]

    @classmethod
    def make(
        cls, missing: list[str], unexpected: list[str], not_weights: list[str] | None = None
    ) -> LoadResult:
        result = cls(missing, unexpected)
        result.not_weights = list(not_weights or [])
        return result


def _prefix(where: str, scope: str | None) -> str:
    if scope is None or scope == "":
        return ""
    if not isinstance(scope, str):
        raise TypeError(f"{where}: expected scope to be a str, got {scope!r}")
    return scope.strip("/") + "/"


def _check_module(where: str, cell: Any) -> None:
    # Cells, and the other modules that name their TF variables (rk.seq2seq's decoders, Dense, mechanisms;
    # the sequence layers LSTMBlockFusedCell and the cuDNN layers).
    if not isinstance(cell, RNNCell) and not (
        isinstance(cell, nn.Module) and callable(getattr(cell, "named_tf_variables", None))
    ):
        raise TypeError(f"{where}: expected an rnnkit cell, got {type(cell).__name__}")


def tf_variables(cell: RNNCell, scope: str | None = DEFAULT_SCOPE) -> dict[str, nn.Parameter]:
    """The cell's parameters by full TF name (no ``:0``), in TF's variable-creation order.

    Also for the other modules that name their variables (``named_tf_variables``): ``rk.seq2seq``'s decoders
    (``scope="decoder"``), attention mechanisms and ``Dense`` layers, ``rk.legacy_seq2seq``'s models.

    ``scope`` is the unroll's scope: ``"rnn"`` for ``dynamic_rnn``/``static_rnn``, ``"bidirectional_rnn/fw"``...
    Raises ValueError if the cell has not built its parameters yet.
    """
    return _collect("tf_variables", cell, scope)


def collect_tf_variables(where: str, cell: RNNCell, scope: str | None) -> dict[str, nn.Parameter]:
    """``tf_variables`` with errors reported under ``where`` (for the functions built on it)."""
    return _collect(where, cell, scope)


def _collect(where: str, cell: RNNCell, scope: str | None) -> dict[str, nn.Parameter]:
    _check_module(where, cell)
    scope = default_scope_for(cell, scope)
    result: dict[str, nn.Parameter] = {}
    for name, param in cell.named_tf_variables(_prefix(where, scope)):
        if param is None or unbuilt(param):  # or a placeholder not materialized yet (cells/lazy.py)
            raise ValueError(
                f"{where}: expected a built cell, got {type(cell).__name__} whose variable {name} does not "
                "exist yet; pass input_size= to the cell, call cell.build(D), or run it once"
            )
        result[name] = param
    _check_covered(where, cell, result)
    return result


def _check_covered(where: str, cell: RNNCell, named: Mapping[str, nn.Parameter]) -> None:
    """Every parameter of ``cell`` must have a TF name: a cell that declares none (a user's cell without
    ``named_tf_variables``) would otherwise vanish from checkpoints without a word."""
    covered = {id(p) for p in named.values()}
    lost = [key for key, p in cell.named_parameters() if id(p) not in covered]
    if not lost:
        return
    modules = dict(cell.named_modules())

    def silent(path: str) -> bool:  # a cell none of whose parameters has a name
        return all(id(p) not in covered for p in modules[path].parameters())

    owners: dict[str, list[str]] = {}
    for key in lost:
        parts = key.split(".")
        cells = [
            ".".join(parts[:i])
            for i in range(len(parts))
            if isinstance(modules.get(".".join(parts[:i])), RNNCell)
        ]
        if (
            not cells
        ):  # held by a non-cell container (a seq2seq decoder's nn.Linear): its names are its call
            continue
        # The outermost cell that names none of its parameters (it did not pass names on from within),
        # else the innermost cell holding the parameter (it named some, but not this one).
        owner = next((path for path in cells if silent(path)), cells[-1])
        owners.setdefault(owner, []).append(key)
    if not owners:
        return
    found = "; ".join(
        f"{type(modules[o]).__name__} at {o or '(the cell itself)'} declares none for {keys}"
        for o, keys in owners.items()
    )
    raise ValueError(
        f"{where}: expected a TF name for every parameter of {type(cell).__name__}, got {found} "
        "(a cell declares its names with named_tf_variables(prefix))"
    )


def _normalise_name(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _as_real_array(where: str, name: Any, value: Any) -> Any:
    """Check one incoming name and value: a str name and a real-valued (int or float) array or tensor; complex
    values would lose their imaginary part and bools are no weights, so both are refused."""
    if not isinstance(name, str):
        raise TypeError(
            f"{where}: expected TF names (str) as the keys of values, got {describe(name)}"
        )
    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.dtype == torch.bool:
            raise TypeError(
                f"{where}: expected a real-valued array for {name!r}, got {describe(value)}"
            )
        return value
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged lists: the message below says what was given
        array = np.asarray(None)
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"{where}: expected a real-valued array for {name!r}, got {describe(value)}"
        )
    return array


def load_tf_variables(
    cell: RNNCell, values: Mapping[str, Any], scope: str | None = DEFAULT_SCOPE, strict: bool = True
) -> LoadResult:
    """Copy arrays (numpy or torch, any float dtype) into the cell's parameters by full TF name.

    Names may carry TF's ``:0`` suffix. With ``strict=True`` (default), any missing name, unexpected name or
    shape mismatch raises one ValueError listing all of them, and nothing is copied. With ``strict=False``
    the matching names are copied and the others returned; shape mismatches still raise.
    """
    where = "load_tf_variables"
    own = _collect(where, cell, scope)
    return _load(where, f"the cell's TF variables under scope {scope!r}", own, values, strict)


def load_tf_variable_dict(
    variables: Mapping[str, nn.Parameter], values: Mapping[str, Any], strict: bool = True
) -> LoadResult:
    """Copy ``values`` (TF name -> array) into ``variables`` (TF name -> parameter, e.g. what
    ``tf_variables_bidirectional`` returns), with the rules of ``load_tf_variables``."""
    where = "load_tf_variable_dict"
    if not isinstance(variables, Mapping):
        raise TypeError(
            f"{where}: expected variables to be a mapping of TF name -> parameter, "
            f"got {type(variables).__name__}"
        )
    return _load(where, "the model's TF variables", variables, values, strict)


def _load(
    where: str,
    subject: str,
    own: Mapping[str, nn.Parameter],
    values: Mapping[str, Any],
    strict: bool,
) -> LoadResult:
    if not isinstance(values, Mapping):
        raise TypeError(
            f"{where}: expected values to be a mapping of TF name -> array, got {type(values).__name__}"
        )
    if not isinstance(strict, bool):
        raise TypeError(f"{where}: expected strict to be a bool, got {strict!r}")
    incoming = {}
    for key, value in values.items():
        value = _as_real_array(where, key, value)  # checks the key too
        incoming[_normalise_name(key)] = value
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
        raise ValueError(f"{where}: expected {subject}, got " + ", ".join(parts))
    with torch.no_grad():
        for name, param in own.items():
            if name in incoming:
                value = incoming[name]
                tensor = (
                    value if isinstance(value, torch.Tensor) else torch.from_numpy(np.array(value))
                )
                param.copy_(tensor.to(dtype=param.dtype, device=param.device))
    return LoadResult.make(missing, unexpected)


def tf_variables_bidirectional(
    cell_fw: RNNCell, cell_bw: RNNCell, scope: str | None = "bidirectional_rnn"
) -> dict[str, nn.Parameter]:
    """The TF names of a ``bidirectional_dynamic_rnn`` / ``static_bidirectional_rnn`` model: ``scope/fw/...`` then
    ``scope/bw/...`` (e.g. ``bidirectional_rnn/fw/lstm_cell/kernel``). Load with ``load_tf_variable_dict``."""
    where = "tf_variables_bidirectional"
    prefix = _prefix(where, scope)
    return {**_collect(where, cell_fw, f"{prefix}fw"), **_collect(where, cell_bw, f"{prefix}bw")}


def tf_variables_stack_bidirectional(
    cells_fw: list[RNNCell],
    cells_bw: list[RNNCell],
    scope: str | None = "stack_bidirectional_rnn",
    static: bool = False,
) -> dict[str, nn.Parameter]:
    """The TF names of a stacked bidirectional model, layer by layer (fw then bw):
    ``stack_bidirectional_rnn/cell_{i}/bidirectional_rnn/fw/...`` for ``stack_bidirectional_dynamic_rnn``, and
    ``stack_bidirectional_rnn/cell_{i}/fw/...`` with ``static=True`` (``stack_bidirectional_rnn``: contrib
    passed the layer's scope down as the bidirectional scope). Load with ``load_tf_variable_dict``."""
    where = "tf_variables_stack_bidirectional"
    if not isinstance(cells_fw, (list, tuple)) or not isinstance(cells_bw, (list, tuple)):
        raise TypeError(f"{where}: expected cells_fw and cells_bw to be lists of cells")
    if len(cells_fw) != len(cells_bw):
        raise ValueError(
            f"{where}: expected cells_fw and cells_bw of the same depth, got {len(cells_fw)} and {len(cells_bw)}"
        )
    prefix = _prefix(where, scope)
    result: dict[str, nn.Parameter] = {}
    for i, (cell_fw, cell_bw) in enumerate(zip(cells_fw, cells_bw)):
        inner = f"{prefix}cell_{i}" if static else f"{prefix}cell_{i}/bidirectional_rnn"
        result.update(_collect(where, cell_fw, f"{inner}/fw"))
        result.update(_collect(where, cell_bw, f"{inner}/bw"))
    return result
