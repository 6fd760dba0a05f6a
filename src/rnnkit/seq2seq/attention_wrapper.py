"""TF 1.15's ``AttentionWrapper``: a cell that attends over a memory after every step of the wrapped cell.

One step (``AttentionWrapper.forward``)::

    cell_inputs = cell_input_fn(inputs, state.attention)          # default: concat([inputs, attention], -1)
    cell_output, cell_state = cell(cell_inputs, state.cell_state)
    for each mechanism i:
        alignments_i, attention_state_i = mechanism_i(cell_output, state.attention_state[i])
        context_i = sum_t alignments_i[:, t] * values_i[:, t]                      # [B, D_i]
        attention_i = attention_layer_i(concat([cell_output, context_i], 1))     # or context_i without a layer
    attention = concat(attention_i over i, 1)
    output = attention if output_attention else cell_output

TF names, under the wrapper's scope (``attention_wrapper`` unless ``name=``): the cell's variables, then per
mechanism its scoring scope (``luong_attention``, ``bahdanau_attention``...; a repeated scope gets ``_1``,
``_2``) and ``attention_layer/kernel`` (``attention_layer_1``... for the next mechanisms). The mechanisms'
``memory_layer/kernel`` (``memory_layer_1``...) are named in the scope *around* the wrapper (the unroll's or the
decoder's: ``decoder/memory_layer/kernel``), as when TF1 code builds the mechanism inside the decoder's
variable scope (tensorflow/nmt, the TF tutorials), and are listed first, as TF created them first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

import torch
from torch import nn

from .. import nest
from .._checks import describe
from ..cells.base import RNNCell
from .attention_base import AttentionMechanism
from .layers import Dense, NamedVariables, module_tf_variables, unique_scope_names
from .state import SCALAR, AlignmentHistory

__all__ = ["AttentionWrapper", "AttentionWrapperState"]


def _one_per_mechanism(where: str, name: str, value: Any, count: int) -> list[Any]:
    """``value`` as a list (a single one wrapped) that must hold one entry per attention mechanism."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) != count:
        raise ValueError(
            f"{where}: expected one {name} per attention mechanism ({count}), got {len(values)}"
        )
    return values


class AttentionWrapperState(NamedTuple):
    """The state of an ``AttentionWrapper`` (TF's field order).

    ``cell_state``: the wrapped cell's; ``attention [B, A]``: the previous step's attention; ``time``: a scalar
    int32 step counter; ``alignments``: ``[B, T]`` per mechanism (one tensor, or a tuple for a list of
    mechanisms); ``alignment_history``: an ``AlignmentHistory`` per mechanism when enabled (``stack()`` gives
    ``[steps, B, T]``), else ``()``; ``attention_state``: per mechanism, its state (the alignments).
    """

    cell_state: Any
    attention: Any
    time: Any
    alignments: Any
    alignment_history: Any
    attention_state: Any

    def clone(self, **kwargs: Any) -> AttentionWrapperState:
        """A copy with the given fields replaced; each replacing tensor must have the old one's shape."""
        new = self._replace(**kwargs)

        def same_shape(old: Any, value: Any) -> Any:
            if isinstance(old, torch.Tensor) and isinstance(value, torch.Tensor):
                if old.shape != value.shape:
                    raise ValueError(
                        f"AttentionWrapperState.clone: expected a tensor of shape {tuple(old.shape)} "
                        f"(the field it replaces), got shape {tuple(value.shape)}"
                    )
            return value

        for field in kwargs:
            old_value, value = getattr(self, field), getattr(new, field)
            try:
                nest.assert_same_structure(old_value, value, where="AttentionWrapperState.clone")
            except ValueError as error:
                raise ValueError(f"{error} (field {field})") from None
            nest.map_structure(same_shape, old_value, value)
        return new


def _default_cell_input_fn(inputs: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    return torch.cat([inputs, attention], -1)


def _layer_size(layer: Any) -> int:
    for attr in ("units", "out_features"):
        size = getattr(layer, attr, None)
        if isinstance(size, int):
            return size
    raise TypeError(
        "AttentionWrapper: expected attention_layer modules with an int `units` or `out_features` (Dense, "
        f"nn.Linear), got {describe(layer)}"
    )


def compute_attention(
    mechanism: AttentionMechanism, cell_output: torch.Tensor, attention_state: Any, layer: Any
) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """TF's ``_compute_attention``: ``(attention, alignments, next_attention_state)`` of one mechanism."""
    alignments, next_state = mechanism(cell_output, attention_state)
    context = torch.bmm(alignments.unsqueeze(1), mechanism.values).squeeze(1)  # [B, D]
    attention = context if layer is None else layer(torch.cat([cell_output, context], 1))
    return attention, alignments, next_state


class AttentionWrapper(RNNCell):
    """Wrap ``cell`` with one attention mechanism or a list of them (see the module docstring).

    Args (TF 1.15's): ``cell``; ``attention_mechanism`` (one or a list); ``attention_layer_size`` (int, or a
    list with one int per mechanism: a bias-free ``Dense`` of that size on ``[cell_output, context]``; None:
    the context itself); ``alignment_history`` (keep every step's alignments); ``cell_input_fn``;
    ``output_attention`` (True: output the attention, Luong style; False: the cell output, Bahdanau style);
    ``initial_cell_state`` (what ``zero_state`` puts in ``cell_state``); ``name``; ``attention_layer`` (your
    own layer(s) instead of ``attention_layer_size``: torch modules with ``units`` or ``out_features``);
    ``attention_fn(mechanism, cell_output, attention_state, attention_layer) -> (attention, alignments,
    next_attention_state)``.

    The mechanisms' memory must be set up (``memory=`` or ``setup_memory``) before the wrapper is called or
    asked for its sizes, with the batch size the wrapper runs at (``B * beam_width`` under beam search).
    """

    tf_name = "attention_wrapper"

    def __init__(
        self,
        cell: RNNCell,
        attention_mechanism: Any,
        attention_layer_size: Any = None,
        alignment_history: bool = False,
        cell_input_fn: Callable[[Any, torch.Tensor], Any] | None = None,
        output_attention: bool = True,
        initial_cell_state: Any = None,
        name: str | None = None,
        attention_layer: Any = None,
        attention_fn: Callable[..., tuple[Any, Any, Any]] | None = None,
    ) -> None:
        super().__init__(name=name)
        where = "AttentionWrapper"
        if not isinstance(cell, RNNCell):
            raise TypeError(f"{where}: expected cell to be an rnnkit RNNCell, got {describe(cell)}")
        self.cell = cell
        self._is_multi = isinstance(attention_mechanism, (list, tuple))
        mechanisms = list(attention_mechanism) if self._is_multi else [attention_mechanism]
        if not mechanisms or not all(isinstance(m, AttentionMechanism) for m in mechanisms):
            raise TypeError(
                f"{where}: expected attention_mechanism to be an AttentionMechanism or a non-empty list of "
                f"them, got {describe(attention_mechanism)}"
            )
        self.attention_mechanisms = nn.ModuleList(mechanisms)
        for label, fn in (("cell_input_fn", cell_input_fn), ("attention_fn", attention_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{where}: expected {label} to be callable, got {describe(fn)}")
        self._cell_input_fn: Callable[..., Any] = cell_input_fn or _default_cell_input_fn
        self._attention_fn: Callable[..., Any] = attention_fn or compute_attention
        self.attention_layers = self._make_layers(attention_layer_size, attention_layer)
        self._output_attention = bool(output_attention)
        self._alignment_history = bool(alignment_history)
        self._initial_cell_state = initial_cell_state
        if initial_cell_state is not None:
            self._check_batch(
                nest.flatten(initial_cell_state)[-1].shape[0], "initial_cell_state's batch size"
            )

    def _make_layers(self, sizes: Any, layers: Any) -> nn.ModuleList | None:
        where = "AttentionWrapper"
        count = len(self.attention_mechanisms)
        if sizes is not None and layers is not None:
            raise ValueError(
                f"{where}: expected only one of attention_layer_size and attention_layer, got both"
            )
        if sizes is not None:
            sizes = _one_per_mechanism(where, "attention_layer_size", sizes, count)
            if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
                raise ValueError(
                    f"{where}: expected positive int attention_layer_size values, got {sizes!r}"
                )
            return nn.ModuleList(Dense(s, use_bias=False, name="attention_layer") for s in sizes)
        if layers is not None:
            layers = _one_per_mechanism(where, "attention_layer", layers, count)
            for layer in layers:
                _layer_size(layer)
            return nn.ModuleList(layers)
        return None

    def _mechanisms(self) -> list[AttentionMechanism]:
        return cast("list[AttentionMechanism]", list(self.attention_mechanisms))

    # -- sizes ----------------------------------------------------------------------------------------------

    def _item_or_tuple(self, items: Any) -> Any:
        items = tuple(items)
        return items if self._is_multi else items[0]

    @property
    def attention_size(self) -> int:
        """``A``: the sum of the attention layers' sizes, or of the memories' depths without layers."""
        if self.attention_layers is not None:
            return sum(_layer_size(layer) for layer in self.attention_layers)
        return sum(m.values_depth for m in self._mechanisms())

    @property
    def output_size(self) -> Any:
        return self.attention_size if self._output_attention else self.cell.output_size

    @property
    def state_size(self) -> AttentionWrapperState:
        mechanisms = self._mechanisms()
        return AttentionWrapperState(
            cell_state=self.cell.state_size,
            attention=self.attention_size,
            time=SCALAR,
            alignments=self._item_or_tuple(m.alignments_size for m in mechanisms),
            alignment_history=self._item_or_tuple(
                AlignmentHistory.SIZE if self._alignment_history else () for _ in mechanisms
            ),
            attention_state=self._item_or_tuple(m.state_size for m in mechanisms),
        )

    @property
    def built(self) -> bool:
        return self.cell.built and all(
            m.memory_layer.kernel is not None for m in self._mechanisms()
        )

    def _check_batch(self, batch_size: int, what: str) -> None:
        for mechanism in self._mechanisms():
            if mechanism.batch_size != batch_size:
                raise ValueError(
                    f"AttentionWrapper: expected {what} to equal the memory's batch size "
                    f"{mechanism.batch_size}, got {batch_size}; with BeamSearchDecoder tile the memory and "
                    "the encoder state with tile_batch(..., beam_width) and use batch_size * beam_width"
                )

    def zero_state(
        self, batch_size: int, dtype: Any = None, device: torch.device | str | None = None
    ) -> AttentionWrapperState:
        """The initial state: ``initial_cell_state`` (or the cell's zeros), zero attention, time 0, the
        mechanisms' initial alignments, empty histories."""
        self._check_batch(batch_size, "zero_state's batch_size")
        values = self._mechanisms()[0].values
        dtype = dtype or values.dtype
        device = values.device if device is None else device
        if self._initial_cell_state is not None:
            cell_state = self._initial_cell_state
        else:
            cell_state = self.cell.zero_state(batch_size, dtype, device=device)
        alignments = [m.initial_alignments(batch_size, dtype) for m in self._mechanisms()]
        return AttentionWrapperState(
            cell_state=cell_state,
            attention=torch.zeros(batch_size, self.attention_size, dtype=dtype, device=device),
            time=torch.zeros((), dtype=torch.int32, device=device),
            alignments=self._item_or_tuple(alignments),
            alignment_history=self._item_or_tuple(
                AlignmentHistory.empty(a) if self._alignment_history else () for a in alignments
            ),
            attention_state=self._item_or_tuple(
                m.initial_state(batch_size, dtype) for m in self._mechanisms()
            ),
        )

    # -- the step -------------------------------------------------------------------------------------------

    def forward(self, inputs: Any, state: Any) -> tuple[Any, AttentionWrapperState]:
        """One step (see the module docstring): ``inputs [B, D]`` -> ``(output, AttentionWrapperState)``."""
        if not isinstance(state, AttentionWrapperState):
            raise TypeError(
                f"AttentionWrapper: expected state to be an AttentionWrapperState, got {describe(state)}"
            )
        cell_inputs = self._cell_input_fn(inputs, state.attention)
        cell_output, next_cell_state = self.cell(cell_inputs, state.cell_state)
        self._check_batch(cell_output.shape[0], "the cell output's batch size")
        if self._is_multi:
            prev_states, prev_histories = state.attention_state, state.alignment_history
        else:
            prev_states, prev_histories = [state.attention_state], [state.alignment_history]
        attentions, alignments, next_states, histories = [], [], [], []
        layers = self.attention_layers
        for i, mechanism in enumerate(self._mechanisms()):
            layer = layers[i] if layers is not None else None
            attention, alignment, next_state = self._attention_fn(
                mechanism, cell_output, prev_states[i], layer
            )
            attentions.append(attention)
            alignments.append(alignment)
            next_states.append(next_state)
            history = prev_histories[i]
            histories.append(
                history.write(state.time, alignment) if self._alignment_history else ()
            )
        attention = torch.cat(attentions, 1)
        next_state = AttentionWrapperState(
            cell_state=next_cell_state,
            attention=attention,
            time=state.time + 1,
            alignments=self._item_or_tuple(alignments),
            alignment_history=self._item_or_tuple(histories),
            attention_state=self._item_or_tuple(next_states),
        )
        return (attention if self._output_attention else cell_output), next_state

    # -- TF names -------------------------------------------------------------------------------------------

    def named_tf_variables(self, prefix: str = "") -> NamedVariables:
        """Memory layers (in the scope around the wrapper), then the cell, scoring variables and attention
        layers under ``{prefix}{name}/`` (see the module docstring)."""
        mechanisms = self._mechanisms()
        memory_names = unique_scope_names("memory_layer" for _ in mechanisms)
        for mechanism, layer_name in zip(mechanisms, memory_names):
            yield from mechanism.memory_tf_variables(prefix, layer_name)
        scope = f"{prefix}{self.tf_name}/"
        yield from module_tf_variables(self.cell, scope)
        score_scopes = unique_scope_names(m.score_scope for m in mechanisms)
        layers = list(self.attention_layers) if self.attention_layers is not None else []
        layer_scopes = unique_scope_names(str(getattr(layer, "tf_name", "")) for layer in layers)
        for i, (mechanism, score_scope) in enumerate(zip(mechanisms, score_scopes)):
            yield from mechanism.score_tf_variables(f"{scope}{score_scope}/")
            if layers:
                yield from _renamed(layers[i], scope, layer_scopes[i])


def _renamed(layer: Any, scope: str, unique_name: str) -> NamedVariables:
    """A Dense layer's variables under its uniquified scope (``attention_layer_1``)."""
    base = getattr(layer, "tf_name", None)
    for name, param in module_tf_variables(layer, scope):
        if base and name.startswith(f"{scope}{base}/"):
            name = f"{scope}{unique_name}/{name[len(scope) + len(base) + 1 :]}"
        yield name, param
