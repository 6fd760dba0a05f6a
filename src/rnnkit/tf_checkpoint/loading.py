"""Load a TF checkpoint into an rnnkit cell or model (``rk.load_tf_checkpoint``)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .._checks import describe
from ..cells.base import RNNCell
from ..tf_names import DEFAULT_SCOPE, LoadResult, collect_tf_variables, default_scope_for
from ..tf_naming import AS_IS, TFVariable, has_tf_naming, model_tf_variables
from .build import rnn_scopes, scope_name
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


def _names_itself(module: Any) -> bool:
    """An rnnkit cell, or another module that names its variables (seq2seq decoders, sequence layers), not
    renamed with ``rk.tf_name``: its names come with the ``scope`` argument."""
    return (
        isinstance(module, RNNCell) or callable(getattr(module, "named_tf_variables", None))
    ) and not has_tf_naming(module)


def _wanted(module: Any, scope: str | None, where: str = _WHERE) -> dict[str, TFVariable]:
    """The TF-named parameters: a cell's (or a self-naming module's) under ``scope``, a ``tf_variables()``
    method's, or those ``rk.tf_name`` gave a model's modules."""
    if _names_itself(module):
        named = collect_tf_variables(where, module, scope)
        return {name: TFVariable(p, AS_IS, name) for name, p in named.items()}
    method = getattr(module, "tf_variables", None)
    if callable(method):
        names = method()
        if not isinstance(names, Mapping):
            raise TypeError(
                f"{where}: expected {type(module).__name__}.tf_variables() to return a mapping "
                f"of TF name -> Parameter, got {type(names).__name__}"
            )
        return {name: TFVariable(p, AS_IS, name) for name, p in names.items()}
    if isinstance(module, torch.nn.Module) and has_tf_naming(module):
        return model_tf_variables(module, where)
    raise TypeError(
        f"{where}: expected an rnnkit cell, a module named with rk.tf_name, or a module with a "
        f"tf_variables() method, got {type(module).__name__}"
    )


def _checkpoint_names(reader: CheckpointReader) -> dict[str, str]:
    """Current-style name -> name in the checkpoint; exact names win over renamed old ones."""
    names = {name: name for name in reader.names()}
    for name in reader.names():
        names.setdefault(modern_name(name), name)
    return names


_BETA_POWER = re.compile(r"beta[12]_power(_\d+)?$")


def _not_a_weight(reader: CheckpointReader, name: str) -> bool:
    """global_step, learning rates and other scalars, strings, optimizer slots and Adam's beta powers."""
    parts = name.split("/")
    return (
        reader.dtype_name(name) == "string"
        or len(reader.shape(name)) == 0
        or bool(_BETA_POWER.match(parts[-1]))
        or any("/".join(parts[:i]) in reader for i in range(1, len(parts)))
    )


def _closest_scope(scope: str, scopes: list[str]) -> str | None:
    near = difflib.get_close_matches(scope, scopes, n=1, cutoff=0.0)
    return near[0] if near else None


def _nothing_found(reader: CheckpointReader, scope: str | None, wanted: list[str]) -> None:
    """A cell's scope that matches nothing: name the RNN scopes the checkpoint has, and the closest."""
    scopes = sorted(rnn_scopes(reader.prefix))
    rel_names = {n[len(scope.strip("/")) + 1 :] if scope else n for n in wanted}
    best = max(
        scopes,
        key=lambda s: (sum((f"{s}/{r}" if s else r) in reader for r in rel_names), -len(s)),
        default=None,
    )
    if best is None or not any((f"{best}/{r}" if best else r) in reader for r in rel_names):
        best = _closest_scope(scope or "", scopes)
    raise CheckpointError(
        f"{_WHERE}: expected the cell's TF variables under scope {scope!r}, got no variable there; "
        f"RNN scopes in the checkpoint: {scopes} (closest: {best!r})",
        reader.prefix,
    )


def load_tf_checkpoint(
    module_or_cell: Any,
    path: str | os.PathLike[str],
    scope: str | None = DEFAULT_SCOPE,
    strict: bool = True,
) -> LoadResult:
    """Copy a TF checkpoint's variables into an rnnkit cell or a whole model, by TF variable name.

    Args:
        module_or_cell: an rnnkit cell (built: give ``input_size=`` or run it once), whose names are
            ``rk.tf_variables(cell, scope)``; or a model whose modules were named with ``rk.tf_name`` (every
            parameter must have a name); or any module with a ``tf_variables()`` method returning
            ``{full TF name: Parameter}``. ``scope`` is used for a bare cell only.
        path: checkpoint prefix, ``.index`` file, or directory with a ``checkpoint`` state file.
        scope: the unroll's scope in the TF graph: ``"rnn"`` for ``dynamic_rnn``/``static_rnn``,
            ``"bidirectional_rnn/fw"``, or ``"Model/RNN"`` when the unroll ran inside ``variable_scope("Model")``.
        strict: when True (default) every parameter must be found, and nothing else may be left that is a
            weight of the same thing: for a cell, another RNN variable under the scope (a third layer the cell
            does not have); for a whole model, any other weight in the checkpoint.

    What is never an error: optimizer slots (``.../kernel/Adam``), Adam's ``beta1_power``/``beta2_power``,
    ``global_step``, learning rates and other scalars (reported in ``result.not_weights`` for a model), and for
    a cell, the scope's non-RNN variables (char-rnn's ``rnnlm/softmax_w`` beside ``rnnlm/multi_rnn_cell``).
    Old names (TF < 1.2: ``RNN/BasicLSTMCell/Linear/Matrix``, ...) are matched to the current ones (see
    ``legacy_names``). Values are converted by each parameter's layout (``rk.TRANSPOSE``) and cast to its
    dtype and device.

    Returns:
        ``LoadResult(missing, unexpected)`` (both empty when ``strict``), with ``.not_weights``.

    Raises:
        CheckpointError: unreadable checkpoint; a scope or model matching no variable at all (naming the
            scopes there are and the closest one), whatever ``strict``; (strict) missing / unexpected weights.
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
    bare_cell = isinstance(module_or_cell, RNNCell) and not has_tf_naming(module_or_cell)
    if wanted and not found and bare_cell:
        _nothing_found(reader, scope, list(wanted))
    used = set(found.values())
    # Variables TF saved next to the model's own that carry nothing more (a cuDNN layer's opaque_kernel buffer,
    # saved beside its canonical weights), named by the module; never "unexpected".
    redundant = getattr(module_or_cell, "tf_redundant_variables", None)
    if callable(redundant):
        used |= {name for name in available if name in set(redundant(scope))}
    unexpected, not_weights = _leftovers(reader, module_or_cell, scope, wanted, used)
    if (strict or (wanted and not found)) and (
        missing or unexpected
    ):  # nothing found: never silent
        parts = []
        if missing:
            near = {
                m: difflib.get_close_matches(m, list(available), n=1, cutoff=0.5) for m in missing
            }
            hints = {m: n[0] for m, n in near.items() if n}
            parts.append(f"missing {missing} (closest checkpoint names: {hints})")
        if unexpected:
            parts.append(f"unexpected {unexpected}")
        subject = "the model's TF variables" + (f" under scope {scope!r}" if bare_cell else "")
        raise CheckpointError(
            f"{_WHERE}: expected {subject}, got " + ", ".join(parts),
            reader.prefix,
        )
    values = {name: reader.tensor(original) for name, original in found.items()}
    try:
        _copy(wanted, values)
    except ValueError as e:  # a shape mismatch: name the checkpoint it came from
        raise CheckpointError(str(e), reader.prefix) from None
    return LoadResult.make(missing, unexpected, not_weights)


def _leftovers(
    reader: CheckpointReader,
    module: Any,
    scope: str | None,
    wanted: Mapping[str, Any],
    used: set[str],
) -> tuple[list[str], list[str]]:
    """``(unexpected, not_weights)`` among the checkpoint entries the load did not use."""
    if isinstance(module, RNNCell) and _names_itself(module) and scope:
        prefix = scope.strip("/") + "/"

        def relevant(
            original: str,
        ) -> bool:  # an RNN variable under the scope (not e.g. rnnlm/softmax_w)
            name, rnn_scope = scope_name(original)
            return rnn_scope is not None and name.startswith(prefix)

    elif has_tf_naming(module) and not callable(getattr(module, "tf_variables", None)):

        def relevant(original: str) -> bool:  # a whole model: everything is its business
            return True

    else:  # a tf_variables() method, or no scope to go by: the model's own top-level scopes
        roots = {name.split("/")[0] for name in wanted}

        def relevant(original: str) -> bool:
            return modern_name(original).split("/")[0] in roots

    unexpected: list[str] = []
    not_weights: list[str] = []
    for original in sorted(reader.names()):
        if original in used or not relevant(original):
            continue
        (not_weights if _not_a_weight(reader, original) else unexpected).append(original)
    return unexpected, not_weights


def _copy(wanted: Mapping[str, TFVariable], values: Mapping[str, np.ndarray]) -> None:
    converted = {}
    bad = []
    for name, value in values.items():
        var = wanted[name]
        # np.array, not np.ascontiguousarray: the latter turns a scalar (Luong's attention_g) into shape (1,)
        tensor = var.layout.from_tf(torch.from_numpy(np.array(value, order="C")))
        if tuple(tensor.shape) != tuple(var.param.shape):
            bad.append(f"{name}: expected {var.tf_shape}, got {value.shape}")
        converted[name] = tensor
    if bad:
        raise ValueError(f"{_WHERE}: shape mismatch [{'; '.join(bad)}]")
    with torch.no_grad():
        for name, tensor in converted.items():
            param = wanted[name].param
            param.copy_(tensor.to(dtype=param.dtype, device=param.device))


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
    values = {
        name: var.layout.to_tf(var.param.detach()).cpu().contiguous().numpy()
        for name, var in wanted.items()
    }
    return write(prefix, values, write_state=write_state)


def tf_name_map(module_or_cell: Any, scope: str | None = DEFAULT_SCOPE) -> dict[str, str]:
    """``{state_dict key: TF name}`` for every parameter that has a TF name.

    Turns an rnnkit model's saved state (e.g. a run directory's safetensors) into a TF checkpoint:
    ``convert.safetensors_to_checkpoint(path, prefix, rename=tf_name_map(model))``.
    """
    by_id = {
        id(var.param): name for name, var in _wanted(module_or_cell, scope, "tf_name_map").items()
    }
    return {
        key: by_id[id(param)]
        for key, param in module_or_cell.named_parameters()
        if id(param) in by_id
    }
