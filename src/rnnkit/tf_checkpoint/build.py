"""Rebuild the RNN a TF checkpoint holds, from names and shapes alone (``rk.tf_checkpoint.build_cell``).

An *RNN scope* is the part of a variable's name before the first TF scope that a recogniser is registered for
(see ``recognise``): ``Model/RNN`` for ``Model/RNN/multi_rnn_cell/cell_0/basic_lstm_cell/kernel``,
``bidirectional_rnn/fw`` for ``bidirectional_rnn/fw/lstm_cell/kernel``. Everything else under that scope
(char-rnn's ``rnnlm/softmax_w`` beside ``rnnlm/multi_rnn_cell/...``) is not the RNN's and is left alone.
Optimizer slots (``.../kernel/Adam``) and non-float entries never count.
"""

from __future__ import annotations

import os
from typing import Any

from ..cells import RNNCell
from .errors import CheckpointError
from .legacy_names import modern_name
from .reader import CheckpointReader
from .recognise import CellSpec, accepted_kwargs, recognise, recognisers

__all__ = [
    "rnn_scopes",
    "rnn_scope_of",
    "scope_name",
    "bidirectional_scopes",
    "stack_bidirectional_scopes",
    "infer_cell",
    "build_cell",
    "build_bidirectional",
    "build_stack_bidirectional",
]


def rnn_scope_of(name: str) -> str | None:
    """The RNN scope of a (modern) variable name, or None when no registered cell scope occurs in it."""
    keys = recognisers()
    parts = name.split("/")
    for i, part in enumerate(parts[:-1]):
        if part in keys:
            return "/".join(parts[:i])
    return None


def scope_name(stored: str) -> tuple[str, str | None]:
    """``(name, RNN scope)`` of a stored name: as stored when it already uses current cell scopes (so
    ptb's ``Model/RNN/...`` keeps its ``RNN``), else renamed from TF < 1.2's (``RNN/BasicLSTMCell/...``)."""
    scope = rnn_scope_of(stored)
    if scope is not None:
        return stored, scope
    modern = modern_name(stored)
    return modern, rnn_scope_of(modern)


def weight_names(reader: CheckpointReader) -> dict[str, str]:
    """Name (see ``scope_name``) -> stored name of every float tensor that is not an optimizer slot."""
    stored = set(reader.names())
    result: dict[str, str] = {}
    for name in sorted(stored):
        parts = name.split("/")
        if any("/".join(parts[:i]) in stored for i in range(1, len(parts))):
            continue  # a slot (kernel/Adam, kernel/Momentum...) of the variable it extends
        if not reader.dtype_name(name).startswith(("float", "bfloat", "half")):
            continue
        result.setdefault(scope_name(name)[0], name)
    return result


def rnn_scopes(path: str | os.PathLike[str]) -> dict[str, dict[str, tuple[int, ...]]]:
    """``{RNN scope: {variable name relative to the scope: shape}}`` for every RNN in the checkpoint."""
    reader = CheckpointReader(path)
    scopes: dict[str, dict[str, tuple[int, ...]]] = {}
    for modern, stored in weight_names(reader).items():
        scope = scope_name(stored)[1]
        if scope is not None:
            rel = modern[len(scope) + 1 :] if scope else modern
            scopes.setdefault(scope, {})[rel] = reader.shape(stored)
    return scopes


def bidirectional_scopes(scopes: dict[str, Any]) -> list[str]:
    """Scopes ``X`` with both ``X/fw`` and ``X/bw`` among the RNN scopes (``bidirectional_rnn``)."""
    return sorted(s[:-3] for s in scopes if s.endswith("/fw") and s[:-3] + "/bw" in scopes)


def stack_bidirectional_scopes(scopes: dict[str, Any]) -> dict[str, list[str]]:
    """``{X: [layer scopes]}`` for ``X/cell_<i>/bidirectional_rnn`` (dynamic) or ``X/cell_<i>`` (static)."""
    stacks: dict[str, dict[int, str]] = {}
    for bi in bidirectional_scopes(scopes):
        parts = bi.split("/")
        for tail in (1, 2):  # .../cell_i  or  .../cell_i/bidirectional_rnn
            if len(parts) < tail:
                continue
            head = parts[-tail]
            if (
                head.startswith("cell_")
                and head[5:].isdigit()
                and (tail == 1 or parts[-1] == "bidirectional_rnn")
            ):
                stacks.setdefault("/".join(parts[:-tail]), {})[int(head[5:])] = bi
    return {
        root: [layers[i] for i in range(len(layers))]
        for root, layers in sorted(stacks.items())
        if sorted(layers) == list(range(len(layers)))
    }


def _pick(where: str, path: Any, found: list[str], scope: str | None, what: str) -> str:
    if scope is not None:
        if not isinstance(scope, str):
            raise TypeError(f"{where}: expected scope to be a str or None, got {scope!r}")
        scope = scope.strip("/")
        if scope not in found:
            raise CheckpointError(
                f"{where}: expected scope to be one of the checkpoint's {what} {found}, got {scope!r}",
                str(path),
            )
        return scope
    if len(found) != 1:
        raise CheckpointError(
            f"{where}: expected exactly one {what[:-1]} in the checkpoint (or scope=), got {found}",
            str(path),
        )
    return found[0]


def infer_cell(path: str | os.PathLike[str], scope: str | None = None) -> tuple[str, CellSpec]:
    """``(scope, spec)``: what :func:`build_cell` would build, without building it."""
    scopes = rnn_scopes(path)
    chosen = _pick("build_cell", path, sorted(scopes), scope, "RNN scopes")
    return chosen, recognise(scopes[chosen])


def _kwargs_for(where: str, spec: CellSpec, cell_kwargs: dict[str, Any]) -> Any:
    """Give each cell the keyword arguments it accepts; any argument no cell accepts is an error."""
    classes = spec.classes()
    accepted = {cls: accepted_kwargs(cls) for cls in classes}
    inferred = {key for s in [spec, *spec.children] for key in s.settings}
    clash = sorted(set(cell_kwargs) & inferred)
    if clash:
        raise TypeError(
            f"{where}: expected cell_kwargs that the checkpoint does not fix, got {clash} "
            f"(inferred: {spec.describe()})"
        )
    unknown = sorted(
        key for key in cell_kwargs if not any(a is None or key in a for a in accepted.values())
    )
    if unknown:
        raise TypeError(
            f"{where}: expected cell_kwargs that a cell of {spec.describe()} accepts, got {unknown}"
        )

    def kwargs_for(cls: type) -> dict[str, Any]:
        names = accepted.get(cls, None) if cls in accepted else accepted_kwargs(cls)
        return {k: v for k, v in cell_kwargs.items() if names is None or k in names}

    return kwargs_for


def _build(
    where: str, path: Any, scope: str, spec: CellSpec, cell_kwargs: dict[str, Any]
) -> RNNCell:
    from .loading import load_tf_checkpoint  # loading imports this module

    cell = spec.build(_kwargs_for(where, spec, cell_kwargs))
    load_tf_checkpoint(cell, path, scope=scope)
    return cell


def build_cell(
    path: str | os.PathLike[str], scope: str | None = None, **cell_kwargs: Any
) -> RNNCell:
    """The RNN cell that the checkpoint's variables under ``scope`` describe, built and loaded.

    Cell types, ``num_units``, input depth, peepholes, ``num_proj``, ``layer_norm``, the depth of a
    ``MultiRNNCell`` and the projection wrappers are read from the variables' names and shapes.

    Args:
        path: checkpoint prefix, ``.index`` file, or directory with a ``checkpoint`` state file.
        scope: the unroll's scope (``"rnn"``, ``"Model/RNN"``, ``"bidirectional_rnn/fw"``); None: the only
            RNN in the checkpoint (``rnnkit inspect PATH`` lists them).
        **cell_kwargs: settings that leave no variable in a checkpoint and so cannot be inferred:
            ``forget_bias``, ``activation``, ``cell_clip``, ``proj_clip``, ``state_is_tuple``, ``dtype``,
            ``device``... Each cell gets those its constructor accepts; one that no cell accepts, or one
            the checkpoint fixes (``num_units``), is a TypeError.

    Use it with any unroll under the same scope, e.g. ``rk.dynamic_rnn(cell, x)`` for ``scope="rnn"``.

    Raises:
        CheckpointError: no RNN or several (``scope=None``), an unknown scope, or names no recogniser knows.
    """
    chosen, spec = infer_cell(path, scope)
    return _build("build_cell", path, chosen, spec, cell_kwargs)


def build_bidirectional(
    path: str | os.PathLike[str], scope: str | None = None, **cell_kwargs: Any
) -> tuple[RNNCell, RNNCell]:
    """``(cell_fw, cell_bw)`` of a ``bidirectional_dynamic_rnn`` / ``static_bidirectional_rnn`` whose
    variables sit under ``scope/fw`` and ``scope/bw`` (default: the only such pair, e.g.
    ``bidirectional_rnn``); ``cell_kwargs`` as :func:`build_cell`."""
    where = "build_bidirectional"
    scopes = rnn_scopes(path)
    layers = {layer for stack in stack_bidirectional_scopes(scopes).values() for layer in stack}
    pairs = [
        b for b in bidirectional_scopes(scopes) if b not in layers
    ]  # a stack's layers: scope= only
    chosen = _pick(
        where,
        path,
        pairs if scope is None else bidirectional_scopes(scopes),
        scope,
        "bidirectional scopes",
    )
    fw, bw = (f"{chosen}/{d}" for d in ("fw", "bw"))
    return (
        _build(where, path, fw, recognise(scopes[fw]), cell_kwargs),
        _build(where, path, bw, recognise(scopes[bw]), cell_kwargs),
    )


def build_stack_bidirectional(
    path: str | os.PathLike[str], scope: str | None = None, **cell_kwargs: Any
) -> tuple[list[RNNCell], list[RNNCell]]:
    """``(cells_fw, cells_bw)`` of a ``stack_bidirectional_dynamic_rnn`` (or the static
    ``stack_bidirectional_rnn``) under ``scope`` (default: the only stack, e.g. ``stack_bidirectional_rnn``);
    ``cell_kwargs`` as :func:`build_cell`."""
    where = "build_stack_bidirectional"
    scopes = rnn_scopes(path)
    stacks = stack_bidirectional_scopes(scopes)
    chosen = _pick(where, path, sorted(stacks), scope, "stacked bidirectional scopes")
    cells_fw: list[RNNCell] = []
    cells_bw: list[RNNCell] = []
    for layer in stacks[chosen]:
        for cells, d in ((cells_fw, "fw"), (cells_bw, "bw")):
            name = f"{layer}/{d}"
            cells.append(_build(where, path, name, recognise(scopes[name]), cell_kwargs))
    return cells_fw, cells_bw


def describe_rnns(path: str | os.PathLike[str]) -> list[str]:
    """One line per RNN scope: ``scope: architecture, input depth`` (or why it is not recognised)."""
    lines = []
    for scope, variables in sorted(rnn_scopes(path).items()):
        try:
            spec = recognise(variables)
            lines.append(f"{scope or '(root)'}: {spec.describe()}, input depth {spec.input_size}")
        except CheckpointError as e:
            lines.append(f"{scope or '(root)'}: not recognised ({e.reason})")
    return lines
