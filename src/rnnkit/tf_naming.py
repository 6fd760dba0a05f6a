"""TF names for any torch module, so that a whole model loads from (and saves to) a TF checkpoint.

rnnkit cells know their TF names; the rest of a model (``nn.Embedding``, ``nn.Linear``, ``nn.LayerNorm``, a
user's module) is given them with :func:`tf_name`, once, after construction::

    rk.tf_name(model.embedding, "Model/embedding")                 # one parameter: the scope is its name
    rk.tf_name(model.cell, "Model/RNN")                            # a cell: the unroll's scope
    rk.tf_name(model.softmax, "Model", {"weight": ("softmax_w", rk.TRANSPOSE), "bias": "softmax_b"})
    rk.load_tf_checkpoint(model, "ptb/model.ckpt-13000")         # every parameter, by these names

A *layout* converts between the torch parameter and the TF variable: ``nn.Linear.weight`` is ``[out, in]``
while a TF kernel (``x @ W``) is ``[in, out]``, hence ``TRANSPOSE``. Without ``names``, a module class listed
in ``DEFAULT_NAMES`` gets TF's own layer names (``nn.Linear``: ``kernel`` transposed and ``bias``, as
``tf.layers.dense``; ``nn.Embedding``: the scope itself; ``nn.LayerNorm``: ``gamma``, ``beta``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .cells.base import RNNCell
from .tf_names import collect_tf_variables

__all__ = [
    "Layout",
    "AS_IS",
    "TRANSPOSE",
    "TFVariable",
    "DEFAULT_NAMES",
    "tf_name",
    "model_tf_variables",
    "initialize",
]


@dataclass(frozen=True)
class Layout:
    """How a torch parameter and its TF variable relate: ``tf = to_tf(param)``, ``param = from_tf(tf)``."""

    name: str
    to_tf: Callable[[torch.Tensor], torch.Tensor]
    from_tf: Callable[[torch.Tensor], torch.Tensor]

    def __repr__(self) -> str:
        return f"Layout({self.name!r})"


def _same(t: torch.Tensor) -> torch.Tensor:
    return t


def _transpose(t: torch.Tensor) -> torch.Tensor:
    return t.transpose(-1, -2)


#: The parameter is the TF variable as it is.
AS_IS = Layout("as_is", _same, _same)
#: ``[out, in]`` (``nn.Linear.weight``) <-> ``[in, out]`` (a TF kernel used as ``x @ W``).
TRANSPOSE = Layout("transpose", _transpose, _transpose)


@dataclass(frozen=True)
class TFVariable:
    """One TF-named parameter of a model: the parameter, its layout, and its path in the model."""

    param: nn.Parameter
    layout: Layout
    path: str

    @property
    def tf_shape(self) -> tuple[int, ...]:
        return tuple(self.layout.to_tf(self.param.detach()).shape)


Names = Mapping[str, "str | tuple[str, Layout]"]

#: Names used when ``tf_name`` is given no ``names``: ``{parameter: relative TF name or (name, layout)}``.
DEFAULT_NAMES: dict[type[nn.Module], dict[str, str | tuple[str, Layout]]] = {
    nn.Linear: {"weight": ("kernel", TRANSPOSE), "bias": "bias"},
    nn.Embedding: {"weight": ""},
    nn.LayerNorm: {"weight": "gamma", "bias": "beta"},
}

_ATTR = "_rnnkit_tf_naming"


@dataclass(frozen=True)
class _Naming:
    scope: str
    entries: tuple[tuple[str, str, Layout], ...]  # (parameter attribute, full TF name, layout)


def _defaults(where: str, module: nn.Module) -> Names:
    for cls in type(module).__mro__:
        if cls in DEFAULT_NAMES:
            return DEFAULT_NAMES[cls]
    raise TypeError(
        f"{where}: expected names= for a {type(module).__name__} (only {sorted(c.__name__ for c in DEFAULT_NAMES)} "
        "have default TF names), got none"
    )


def _entry(where: str, attr: str, value: Any) -> tuple[str, Layout]:
    if isinstance(value, str):
        return value, AS_IS
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], Layout)
    ):
        return value
    raise TypeError(
        f"{where}: expected names[{attr!r}] to be a TF name or (TF name, Layout), got {value!r}"
    )


def tf_name(module: nn.Module, scope: str, names: Names | None = None) -> nn.Module:
    """Give ``module``'s own parameters TF names under ``scope``; returns ``module`` (for chaining).

    Args:
        module: any ``nn.Module``; for an rnnkit cell ``scope`` is the unroll's scope (``"Model/RNN"``) and the
            cell's own names follow (``names`` must be None).
        scope: the TF variable scope, e.g. ``"Model"`` or ``"Model/embedding"``.
        names: ``{parameter attribute: relative name}`` or ``{attribute: (relative name, layout)}``; the
            full name is ``scope/relative`` (``scope`` itself for ``""``). Default: ``DEFAULT_NAMES``.
            Every parameter the module itself owns (not its submodules') must be named.

    The naming is stored on the module; ``load_tf_checkpoint``, ``save_tf_checkpoint``, ``initialize`` and
    ``model_tf_variables`` read it. Naming a module again replaces its names.
    """
    where = "tf_name"
    if not isinstance(module, nn.Module):
        raise TypeError(f"{where}: expected a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(scope, str) or not scope.strip("/"):
        raise TypeError(f"{where}: expected scope to be a non-empty str, got {scope!r}")
    scope = scope.strip("/")
    if isinstance(module, RNNCell):
        if names is not None:
            raise TypeError(
                f"{where}: expected names=None for an rnnkit cell (it names its own variables), got {names!r}"
            )
        object.__setattr__(module, _ATTR, _Naming(scope, ()))
        return module
    if names is None:
        names = _defaults(where, module)
    if not isinstance(names, Mapping):
        raise TypeError(f"{where}: expected names to be a mapping, got {type(names).__name__}")
    own = dict(module.named_parameters(recurse=False))
    unknown = sorted(set(names) - set(own))
    if unknown:
        raise ValueError(
            f"{where}: expected names of {type(module).__name__}'s parameters {sorted(own)}, got {unknown}"
        )
    unnamed = sorted(set(own) - set(names))
    if unnamed:
        raise ValueError(
            f"{where}: expected a TF name for every parameter of {type(module).__name__}, got none for {unnamed}"
        )
    entries = []
    for attr, value in names.items():
        rel, layout = _entry(where, attr, value)
        entries.append((attr, f"{scope}/{rel.strip('/')}" if rel.strip("/") else scope, layout))
    object.__setattr__(module, _ATTR, _Naming(scope, tuple(entries)))
    return module


def _walk(where: str, model: nn.Module) -> Iterator[tuple[str, TFVariable]]:
    for path, module in model.named_modules():
        naming = getattr(module, _ATTR, None)
        if naming is None:
            continue
        if isinstance(module, RNNCell):
            prefix = f"{path}." if path else ""
            paths = {id(p): f"{prefix}{k}" for k, p in module.named_parameters()}
            for name, param in collect_tf_variables(where, module, naming.scope).items():
                yield name, TFVariable(param, AS_IS, paths.get(id(param), name))
            continue
        for attr, name, layout in naming.entries:
            param = getattr(module, attr)
            yield name, TFVariable(param, layout, f"{path}.{attr}" if path else attr)


def has_tf_naming(model: nn.Module) -> bool:
    """Whether ``tf_name`` named ``model`` or one of its submodules."""
    return any(hasattr(m, _ATTR) for m in model.modules())


def model_tf_variables(
    model: nn.Module, where: str = "model_tf_variables"
) -> dict[str, TFVariable]:
    """``{full TF name: TFVariable}`` of every parameter of ``model``, from the names ``tf_name`` gave.

    Raises ValueError when a parameter has no TF name (naming the parameters), or two share one.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"{where}: expected a torch.nn.Module, got {type(model).__name__}")
    result: dict[str, TFVariable] = {}
    for name, var in _walk(where, model):
        if name in result and result[name].param is not var.param:
            raise ValueError(
                f"{where}: expected distinct TF names, got {name!r} for {result[name].path} and {var.path}"
            )
        result[name] = var
    covered = {id(v.param) for v in result.values()}
    unnamed = [key for key, p in model.named_parameters() if id(p) not in covered]
    if unnamed:
        raise ValueError(
            f"{where}: expected a TF name for every parameter of {type(model).__name__}, got none for "
            f"{unnamed} (give them one with rk.tf_name(module, scope, names))"
        )
    return result


# Parameters that TF1's cells create with an initializer of their own (zeros, GRU gates 1.0, layer-norm
# gain/shift): a variable scope's initializer does not reach them.
_OWN_INITIALIZER = ("/bias", "/gamma", "/beta")


def initialize(
    module: nn.Module,
    initializer: Callable[[torch.Tensor], Any],
    scope: str | None = "rnn",
    include_own: bool = False,
) -> list[str]:
    """Apply ``initializer`` in place to every TF-named parameter, in its TF layout, as TF1's
    ``tf.variable_scope(..., initializer=init)`` did for the variables created inside it.

    ``initializer`` is an in-place function of a tensor, e.g. ``lambda t: torch.nn.init.uniform_(t, -s, s)``.
    ``module``: a model named with :func:`tf_name`, or an rnnkit cell (then ``scope`` names it).
    As in TF, the cells' variables that carry their own initializer keep it: every rnnkit cell bias (zeros;
    GRU's gate bias 1.0) and layer-norm ``gamma``/``beta`` (except LayerNormBasicLSTMCell's ``bias``, which TF
    creates without one); ``include_own=True`` initializes those too. Returns the TF names initialized.
    """
    where = "initialize"
    if not callable(initializer):
        raise TypeError(
            f"{where}: expected an in-place initializer function, got {type(initializer).__name__}"
        )
    if isinstance(module, RNNCell) and not hasattr(module, _ATTR):
        cells = {
            n: TFVariable(p, AS_IS, n)
            for n, p in collect_tf_variables(where, module, scope).items()
        }
        variables, cell_ids = cells, {id(v.param) for v in cells.values()}
    else:
        variables = model_tf_variables(module, where)
        cell_ids = {
            id(p) for m in module.modules() if isinstance(m, RNNCell) for p in m.parameters()
        }
    done = []
    with torch.no_grad():
        for name, var in variables.items():
            own = name.endswith(_OWN_INITIALIZER) and not name.endswith(
                "layer_norm_basic_lstm_cell/bias"
            )
            if own and id(var.param) in cell_ids and not include_own:
                continue
            tf_view = var.layout.to_tf(var.param)
            initializer(tf_view)
            if tf_view is not var.param and tf_view._base is not var.param:  # a copy, not a view
                var.param.copy_(var.layout.from_tf(tf_view))
            done.append(name)
    return done
