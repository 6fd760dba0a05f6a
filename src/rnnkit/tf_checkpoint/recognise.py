"""Which rnnkit cell a group of TF checkpoint variables describes, from their names and shapes alone.

A *recogniser* is keyed on the TF scope a cell opens (``basic_lstm_cell``, ``gru_cell``, ``multi_rnn_cell``...).
It receives that scope's variables as ``{name relative to the scope: shape}`` and returns a :class:`CellSpec`
(the cell class, the settings the shapes fix, the input depth) or ``None`` when the names are not its cell's,
so that several recognisers can share one key (``lstm_cell`` is LSTMCell's and contrib's LSTMBlockCell's).

Adding a cell (e.g. GRUBlockCell, whose ``gru_cell`` holds ``w_ru, b_ru, w_c, b_c``) takes one call, next to the
cell or in this file::

    def _gru_block(variables, inner):
        if set(variables) != {"w_ru", "b_ru", "w_c", "b_c"}:
            return None                                  # not mine: the next recogniser for the key tries
        rows, two_h = variables["w_ru"]
        h = two_h // 2
        return CellSpec(GRUBlockCell, {"cell_size": h}, input_size=rows - h, output_size=h)

    register_recogniser("gru_cell", _gru_block)

Recognisers registered later are tried first. Containers (``MultiRNNCell``, the projection wrappers) call
``inner(variables)`` on the part of their scope that belongs to the wrapped cell(s). The settings that leave
no variable behind (``forget_bias``, ``activation``, clips, ``state_is_tuple``) cannot be read from a
checkpoint: :func:`rnnkit.tf_checkpoint.build_cell` takes them as keyword arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cells import (
    BasicLSTMCell,
    BasicRNNCell,
    GRUCell,
    InputProjectionWrapper,
    LayerNormBasicLSTMCell,
    LSTMCell,
    MultiRNNCell,
    OutputProjectionWrapper,
    RNNCell,
)
from .errors import CheckpointError

__all__ = ["CellSpec", "register_recogniser", "recognisers", "recognise", "Shapes"]

Shapes = Mapping[str, tuple[int, ...]]
Inner = Callable[[Shapes], "CellSpec"]
Recogniser = Callable[[Shapes, Inner], "CellSpec | None"]


@dataclass
class CellSpec:
    """A cell as a checkpoint describes it.

    ``cls(**settings, **cell_kwargs, input_size=input_size)`` builds it (``children`` go first for
    containers, see ``make``); ``output_size`` lets a stack check that each layer reads its predecessor.
    """

    cls: type[RNNCell]
    settings: dict[str, Any]
    input_size: int
    output_size: int
    children: list[CellSpec] = field(default_factory=list)
    #: ``make(spec, children, kwargs_for) -> cell``; None: ``cls(**settings, **kwargs, input_size=...)``.
    make: Callable[[CellSpec, list[RNNCell], Callable[[type], dict[str, Any]]], RNNCell] | None = (
        None
    )

    def describe(self) -> str:
        """``MultiRNNCell([BasicLSTMCell(num_units=8), ...])``: the class and the inferred settings."""
        if self.children and self.cls is MultiRNNCell:
            inner = ", ".join(child.describe() for child in self.children)
            return f"{self.cls.__name__}([{inner}])"
        args = [child.describe() for child in self.children]
        args += [f"{key}={value!r}" for key, value in self.settings.items()]
        return f"{self.cls.__name__}({', '.join(args)})"

    def classes(self) -> list[type[RNNCell]]:
        """Every cell class in the tree (for checking which keyword arguments some cell accepts)."""
        return [self.cls] + [cls for child in self.children for cls in child.classes()]

    def build(self, kwargs_for: Callable[[type], dict[str, Any]]) -> RNNCell:
        """The cell, built (parameters exist: the input depth is known) but not loaded."""
        children = [child.build(kwargs_for) for child in self.children]
        if self.make is not None:
            return self.make(self, children, kwargs_for)
        make: Any = (
            self.cls
        )  # a LayerCell subclass: it takes input_size (the RNNCell base does not)
        return make(**self.settings, **kwargs_for(self.cls), input_size=self.input_size)


_REGISTRY: dict[str, list[Recogniser]] = {}


def register_recogniser(scope: str, recogniser: Recogniser) -> None:
    """Add ``recogniser`` for cells that open the TF scope ``scope`` (tried before earlier ones).

    ``recogniser(variables, inner)`` gets the scope's variables ``{relative name: shape}`` and returns a
    :class:`CellSpec`, or None when they are not its cell's. ``inner(variables)`` recognises a wrapped cell.
    """
    if not isinstance(scope, str) or not scope or "/" in scope:
        raise TypeError(
            f"register_recogniser: expected scope to be one TF scope name, got {scope!r}"
        )
    if not callable(recogniser):
        raise TypeError(
            f"register_recogniser: expected a callable recogniser, got {type(recogniser).__name__}"
        )
    _REGISTRY.setdefault(scope, []).insert(0, recogniser)


def recognisers() -> dict[str, list[Recogniser]]:
    """The registry: TF scope name -> recognisers, in the order they are tried."""
    return {key: list(value) for key, value in _REGISTRY.items()}


def recognise(variables: Shapes) -> CellSpec:
    """The cell whose variables (names relative to the RNN's scope) are ``variables``.

    Raises CheckpointError when they do not form one cell that a recogniser knows.
    """
    groups: dict[str, dict[str, tuple[int, ...]]] = {}
    for name, shape in variables.items():
        head, _, rest = name.partition("/")
        groups.setdefault(head, {})[rest] = shape
    if len(groups) != 1:
        raise CheckpointError(
            f"build_cell: expected the variables of one cell under the scope, got the scopes {sorted(groups)}"
        )
    ((key, inner_vars),) = groups.items()
    for recogniser in _REGISTRY.get(key, []):
        spec = recogniser(inner_vars, recognise)
        if spec is not None:
            return spec
    raise CheckpointError(
        f"build_cell: expected variables that a registered cell recogniser knows, got {key}/"
        f"{{{', '.join(sorted(inner_vars))}}} (register one with "
        "rnnkit.tf_checkpoint.register_recogniser)"
    )


def accepted_kwargs(cls: type) -> set[str] | None:
    """The keyword arguments ``cls(...)`` accepts along its ``__init__`` chain (None: anything)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names - {"self"}
    return None


def _shape(variables: Shapes, name: str, rank: int) -> tuple[int, ...] | None:
    shape = variables.get(name)
    return shape if shape is not None and len(shape) == rank else None


def _kernel_bias(variables: Shapes, gates: int) -> tuple[int, int] | None:
    """``(D, H)`` for ``kernel [D+H, gates*H]`` and ``bias [gates*H]``, None when they do not fit."""
    kernel, bias = _shape(variables, "kernel", 2), _shape(variables, "bias", 1)
    if kernel is None or bias is None or kernel[1] != bias[0] or kernel[1] % gates:
        return None
    h = kernel[1] // gates
    return (kernel[0] - h, h) if kernel[0] > h else None


def _basic(cls: type[RNNCell], gates: int) -> Recogniser:
    def recogniser(variables: Shapes, inner: Inner) -> CellSpec | None:
        sizes = _kernel_bias(variables, gates) if set(variables) == {"kernel", "bias"} else None
        if sizes is None:
            return None
        return CellSpec(cls, {"num_units": sizes[1]}, input_size=sizes[0], output_size=sizes[1])

    return recogniser


def _gru(variables: Shapes, inner: Inner) -> CellSpec | None:
    names = {"gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"}
    if set(variables) != names:
        return None
    gates = _kernel_bias({k[6:]: v for k, v in variables.items() if k.startswith("gates/")}, 2)
    cand = _kernel_bias({k[10:]: v for k, v in variables.items() if k.startswith("candidate/")}, 1)
    if gates is None or gates != cand:
        return None
    return CellSpec(GRUCell, {"num_units": gates[1]}, input_size=gates[0], output_size=gates[1])


_PEEPHOLES = {"w_f_diag", "w_i_diag", "w_o_diag"}


def _lstm(variables: Shapes, inner: Inner) -> CellSpec | None:
    names = set(variables)
    peep = bool(names & _PEEPHOLES)
    if not {"kernel", "bias"} <= names or (peep and not _PEEPHOLES <= names):
        return None
    if names - {"kernel", "bias", "projection/kernel"} - _PEEPHOLES:
        return None
    kernel, bias = _shape(variables, "kernel", 2), _shape(variables, "bias", 1)
    if kernel is None or bias is None or bias[0] % 4 or kernel[1] != bias[0]:
        return None
    h = bias[0] // 4
    proj = _shape(variables, "projection/kernel", 2)
    if "projection/kernel" in names and (proj is None or proj[0] != h):
        return None
    p = proj[1] if proj is not None else h
    if kernel[0] <= p or any(variables[n] != (h,) for n in names & _PEEPHOLES):
        return None
    settings: dict[str, Any] = {"num_units": h}
    if peep:
        settings["use_peepholes"] = True
    if proj is not None:
        settings["num_proj"] = p
    return CellSpec(LSTMCell, settings, input_size=kernel[0] - p, output_size=p)


def _layer_norm_lstm(variables: Shapes, inner: Inner) -> CellSpec | None:
    norms = {
        f"{g}/{p}"
        for g in ("input", "transform", "forget", "output", "state")
        for p in ("gamma", "beta")
    }
    names = set(variables)
    layer_norm = bool(names & norms)
    if names != ({"kernel"} | norms if layer_norm else {"kernel", "bias"}):
        return None
    kernel = _shape(variables, "kernel", 2)
    if kernel is None or kernel[1] % 4:
        return None
    h = kernel[1] // 4
    if kernel[0] <= h or any(variables[n] != (h,) for n in names & norms):
        return None
    if not layer_norm and variables["bias"] != (4 * h,):
        return None
    settings: dict[str, Any] = {"num_units": h}
    if not layer_norm:
        settings["layer_norm"] = False
    return CellSpec(LayerNormBasicLSTMCell, settings, input_size=kernel[0] - h, output_size=h)


def _multi(variables: Shapes, inner: Inner) -> CellSpec | None:
    layers: dict[int, dict[str, tuple[int, ...]]] = {}
    for name, shape in variables.items():
        head, _, rest = name.partition("/")
        if not head.startswith("cell_") or not head[5:].isdigit() or not rest:
            return None
        layers.setdefault(int(head[5:]), {})[rest] = shape
    if sorted(layers) != list(range(len(layers))):
        raise CheckpointError(
            f"build_cell: expected multi_rnn_cell/cell_0 ... cell_{len(layers) - 1}, got layers {sorted(layers)}"
        )
    children = [inner(layers[i]) for i in range(len(layers))]
    for i in range(1, len(children)):
        if children[i].input_size != children[i - 1].output_size:
            raise CheckpointError(
                f"build_cell: expected multi_rnn_cell/cell_{i} to read cell_{i - 1}'s output "
                f"(depth {children[i - 1].output_size}), got input depth {children[i].input_size}"
            )

    def make(
        spec: CellSpec, cells: list[RNNCell], kwargs_for: Callable[[type], dict[str, Any]]
    ) -> RNNCell:
        return MultiRNNCell(cells, **kwargs_for(MultiRNNCell))

    return CellSpec(
        MultiRNNCell,
        {},
        input_size=children[0].input_size,
        output_size=children[-1].output_size,
        children=children,
        make=make,
    )


def _split_linear(variables: Shapes, inner: Inner) -> tuple[int, int, CellSpec] | None:
    """``(rows, cols, the wrapped cell)`` for a wrapper's own ``kernel``/``bias`` around one cell."""
    kernel, bias = _shape(variables, "kernel", 2), _shape(variables, "bias", 1)
    if kernel is None or bias is None or kernel[1] != bias[0]:
        return None
    rest = {k: v for k, v in variables.items() if "/" in k}
    if len(rest) + 2 != len(variables):
        return None
    return kernel[0], kernel[1], inner(rest)


def _output_projection(variables: Shapes, inner: Inner) -> CellSpec | None:
    split = _split_linear(variables, inner)
    if split is None or split[0] != split[2].output_size:  # the kernel reads the cell's output
        return None
    _, p, cell = split

    def make(
        spec: CellSpec, cells: list[RNNCell], kwargs_for: Callable[[type], dict[str, Any]]
    ) -> RNNCell:
        return OutputProjectionWrapper(cells[0], p)

    return CellSpec(OutputProjectionWrapper, {"output_size": p}, cell.input_size, p, [cell], make)


def _input_projection(variables: Shapes, inner: Inner) -> CellSpec | None:
    split = _split_linear(variables, inner)
    if split is None or split[2].input_size != split[1]:  # the cell reads the kernel's output
        return None
    d, p, cell = split

    def make(
        spec: CellSpec, cells: list[RNNCell], kwargs_for: Callable[[type], dict[str, Any]]
    ) -> RNNCell:
        return InputProjectionWrapper(cells[0], p, input_size=d)

    return CellSpec(InputProjectionWrapper, {"num_proj": p}, d, cell.output_size, [cell], make)


for _key, _fn in (
    ("basic_rnn_cell", _basic(BasicRNNCell, 1)),
    ("basic_lstm_cell", _basic(BasicLSTMCell, 4)),
    ("gru_cell", _gru),
    ("lstm_cell", _lstm),
    ("layer_norm_basic_lstm_cell", _layer_norm_lstm),
    ("multi_rnn_cell", _multi),
    ("output_projection_wrapper", _output_projection),
    ("input_projection_wrapper", _input_projection),
):
    register_recogniser(_key, _fn)
