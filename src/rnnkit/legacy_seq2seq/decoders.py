"""TF 1.15's ``tf.contrib.legacy_seq2seq.rnn_decoder`` and ``attention_decoder`` (lists over time, as TF1).

``attention_decoder`` (Vinyals et al. 2015's "Grammar as a foreign language" attention), per step ``i``::

    x = [inp_i, attns...] @ kernel + bias                           # back to the input depth
    cell_output, state = cell(x, state)
    for head a:  y = concat(flatten(state)) @ Attention_a/kernel + Attention_a/bias
                 s = sum_k AttnV_a[k] * tanh(hidden_a[:, :, k] + y[:, None, k])     # hidden_a = states @ AttnW_a
                 attns[a] = sum_t softmax(s)[:, t] * attention_states[:, t]
    output = [cell_output, attns...] @ AttnOutputProjection/kernel + AttnOutputProjection/bias

Variables (TF names under ``attention_decoder/``, in TF's creation order): ``AttnW_a [1, 1, A, A]``,
``AttnV_a [A]`` per head; (``Attention_a/kernel, bias`` first when ``initial_state_attention``); ``kernel``,
``bias`` (the input projection); the cell's; ``Attention_a/kernel, bias``; ``AttnOutputProjection/kernel, bias``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import torch
from torch import nn

from .. import nest
from .._checks import check_positive_int, describe
from ..cells.base import PER_OBJECT, RNNCell, glorot_uniform_
from ..seq2seq.layers import NamedVariables, module_tf_variables

__all__ = [
    "rnn_decoder",
    "attention_decoder",
    "AttentionDecoder",
    "Linear",
    "model_for",
    "reuse_model",
]

LoopFunction = Callable[[torch.Tensor, int], torch.Tensor]


def _check_inputs(where: str, decoder_inputs: Any) -> list[Any]:
    if not isinstance(decoder_inputs, (list, tuple)):
        raise TypeError(
            f"{where}: expected decoder_inputs to be a list over time of [B, D] tensors, got {describe(decoder_inputs)}"
        )
    if not decoder_inputs:
        raise ValueError(f"{where}: expected at least one decoder input, got an empty list")
    return list(decoder_inputs)


def _check_loop(where: str, loop_function: Any) -> None:
    if loop_function is not None and not callable(loop_function):
        raise TypeError(
            f"{where}: expected loop_function to be callable, got {describe(loop_function)}"
        )


def rnn_decoder(
    decoder_inputs: Sequence[Any],
    initial_state: Any,
    cell: RNNCell,
    loop_function: LoopFunction | None = None,
    scope: str | None = None,
) -> tuple[list[Any], Any]:
    """Run ``cell`` over a list of ``[B, D]`` inputs from ``initial_state``; with ``loop_function(prev_output,
    i)``, steps ``i >= 1`` take its result instead of ``decoder_inputs[i]`` (feeding back predictions).

    Returns ``(outputs list, final state)``. TF names: the cell's under ``rnn_decoder/`` (``scope``):
    ``rk.tf_variables(cell, scope="rnn_decoder")``.
    """
    where = "rnn_decoder"
    inputs = _check_inputs(where, decoder_inputs)
    _check_loop(where, loop_function)
    if not isinstance(cell, RNNCell):
        raise TypeError(f"{where}: expected cell to be an rnnkit RNNCell, got {describe(cell)}")
    state, outputs, prev = initial_state, [], None
    for i, inp in enumerate(inputs):
        if loop_function is not None and prev is not None:
            inp = loop_function(prev, i)
        output, state = cell(inp, state)
        outputs.append(output)
        if loop_function is not None:
            prev = output
    return outputs, state


class Linear(nn.Module):
    """TF 1.15's ``core_rnn_cell._Linear``: ``concat(args, 1) @ kernel + bias``, built on the first call."""

    def __init__(self, output_size: int, bias: bool = True) -> None:
        super().__init__()
        self.output_size = output_size
        self.use_bias = bias
        self.kernel: nn.Parameter | None = None
        self.bias: nn.Parameter | None = None

    def forward(self, args: Sequence[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(list(args), 1) if len(args) > 1 else args[0]
        if self.kernel is None:
            kernel = torch.empty(x.shape[1], self.output_size, dtype=x.dtype, device=x.device)
            self.kernel = nn.Parameter(glorot_uniform_(kernel))
            if self.use_bias:
                self.bias = nn.Parameter(
                    torch.zeros(self.output_size, dtype=x.dtype, device=x.device)
                )
        if self.bias is None:
            return x @ self.kernel
        return torch.addmm(self.bias, x, self.kernel)

    def named_tf_variables(self, prefix: str = "") -> NamedVariables:
        yield f"{prefix}kernel", self.kernel
        if self.use_bias:
            yield f"{prefix}bias", self.bias


class AttentionDecoder(nn.Module):
    """The parameters and the loop of ``attention_decoder`` (see the module docstring); built on first call."""

    def __init__(
        self,
        cell: RNNCell,
        output_size: int | None = None,
        num_heads: int = 1,
        initial_state_attention: bool = False,
        name: str = "attention_decoder",
    ) -> None:
        super().__init__()
        where = "attention_decoder"
        if not isinstance(cell, RNNCell):
            raise TypeError(f"{where}: expected cell to be an rnnkit RNNCell, got {describe(cell)}")
        if not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(
                f"{where}: expected num_heads >= 1 (use rnn_decoder without attention), got {num_heads!r}"
            )
        self.cell = cell
        self.output_size = (
            cell.output_size
            if output_size is None
            else check_positive_int(where, "output_size", output_size)
        )
        self.num_heads = num_heads
        self.initial_state_attention = bool(initial_state_attention)
        self.tf_name = name
        self.attn_w = nn.ParameterList()
        self.attn_v = nn.ParameterList()
        self.input_linear: Linear | None = None
        self.attention_linears = nn.ModuleList(Linear(0) for _ in range(num_heads))
        self.output_linear = Linear(self.output_size)

    def _build(self, states: torch.Tensor, input_size: int) -> None:
        size = states.shape[2]
        for _ in range(self.num_heads):
            w = torch.empty(1, 1, size, size, dtype=states.dtype, device=states.device)
            limit = math.sqrt(
                6.0 / (2 * size)
            )  # glorot for a [1, 1, A, A] conv kernel: fan_in = fan_out = A
            self.attn_w.append(nn.Parameter(w.uniform_(-limit, limit)))
            v = torch.empty(size, dtype=states.dtype, device=states.device)
            self.attn_v.append(
                nn.Parameter(v.uniform_(-math.sqrt(3.0 / size), math.sqrt(3.0 / size)))
            )
            self._linears()[len(self.attn_w) - 1].output_size = size
        self.input_linear = Linear(input_size)

    def _linears(self) -> list[Linear]:
        return cast("list[Linear]", list(self.attention_linears))

    def _attention(
        self, state: Any, states: torch.Tensor, hidden: list[torch.Tensor]
    ) -> list[torch.Tensor]:
        query = torch.cat(nest.flatten(state), 1)
        attns = []
        for a in range(self.num_heads):
            y = self.attention_linears[a]([query])  # [B, A]
            s = (self.attn_v[a] * torch.tanh(hidden[a] + y.unsqueeze(1))).sum(2)  # [B, L]
            weights = torch.softmax(s, dim=1)
            attns.append((weights.unsqueeze(2) * states).sum(1))
        return attns

    def forward(
        self,
        decoder_inputs: Sequence[torch.Tensor],
        initial_state: Any,
        attention_states: torch.Tensor,
        loop_function: LoopFunction | None = None,
    ) -> tuple[list[torch.Tensor], Any]:
        where = "attention_decoder"
        inputs = _check_inputs(where, decoder_inputs)
        _check_loop(where, loop_function)
        if not isinstance(attention_states, torch.Tensor) or attention_states.dim() != 3:
            raise ValueError(
                f"{where}: expected attention_states [B, L, A], got {describe(attention_states)}"
            )
        if self.input_linear is None:
            self._build(attention_states, inputs[0].shape[1])
        assert self.input_linear is not None
        hidden = [attention_states @ w[0, 0] for w in self.attn_w]  # TF's 1x1 convolution
        batch = inputs[0].shape[0]
        attns = [
            attention_states.new_zeros(batch, attention_states.shape[2])
            for _ in range(self.num_heads)
        ]
        state = initial_state
        if self.initial_state_attention:
            attns = self._attention(state, attention_states, hidden)
        outputs: list[torch.Tensor] = []
        prev = None
        for i, inp in enumerate(inputs):
            if loop_function is not None and prev is not None:
                inp = loop_function(prev, i)
            x = self.input_linear([inp, *attns])
            cell_output, state = self.cell(x, state)
            attns = self._attention(state, attention_states, hidden)
            output = self.output_linear([cell_output, *attns])
            if loop_function is not None:
                prev = output
            outputs.append(output)
        return outputs, state

    def named_tf_variables(self, prefix: str = "") -> NamedVariables:
        scope = f"{prefix}{self.tf_name}/"
        built = self.input_linear is not None
        for a in range(self.num_heads):
            yield f"{scope}AttnW_{a}", self.attn_w[a] if built else None
            yield f"{scope}AttnV_{a}", self.attn_v[a] if built else None
        heads = [(f"{scope}Attention_{a}/", self._linears()[a]) for a in range(self.num_heads)]
        if self.initial_state_attention:
            for head_scope, linear in heads:
                yield from linear.named_tf_variables(head_scope)
        if self.input_linear is None:
            yield f"{scope}kernel", None
        else:
            yield from self.input_linear.named_tf_variables(scope)
        yield from module_tf_variables(self.cell, scope)
        if not self.initial_state_attention:
            for head_scope, linear in heads:
                yield from linear.named_tf_variables(head_scope)
        yield from self.output_linear.named_tf_variables(f"{scope}AttnOutputProjection/")


# TF1 kept these functions' variables in the graph, reused by scope; here the modules are kept per (cell, scope),
# each with the settings it was built from, on the cell itself (cells.base.PER_OBJECT: a model refers to its cell,
# so a weak dictionary keyed by the cell, as first built, never freed either; round two's sixth stop).
_MODELS = PER_OBJECT + "legacy_seq2seq_models"


def _models(cell: nn.Module) -> dict[str, tuple[nn.Module, tuple[Any, ...]]]:
    # (into __dict__, not setattr: an RNNCell would move its config_epoch)
    return cast(dict, cell.__dict__.setdefault(_MODELS, {}))


_Model = TypeVar("_Model", bound=nn.Module)


def reuse_model(
    where: str, make: Callable[..., _Model], cell: RNNCell, scope: str | None, **settings: Any
) -> _Model:
    """The module of a functional call: the one an earlier call built with this ``cell`` under ``scope`` (TF's
    variable reuse; it must have had the same ``settings``), else ``make(cell, **settings, name=scope or where)``."""
    name = scope or where
    # output_projection's (W, b) tensors do not compare with `!=`, and the module depends only on whether it is given.
    config = tuple(v is None if k == "output_projection" else v for k, v in settings.items())
    models = _models(cell)
    if name not in models:
        models[name] = (make(cell, **settings, name=name), config)
    model, first = models[name]
    if first != config:
        raise ValueError(
            f"{where}: expected the settings of the first call under scope {name!r} with this cell "
            f"{first}, got {config}"
        )
    return cast(_Model, model)


def model_for(cell: nn.Module, scope: str) -> nn.Module:
    """The module (parameters, ``named_tf_variables``) that a legacy function built for ``cell`` under ``scope``
    (its default scope: ``"attention_decoder"``, ``"embedding_rnn_seq2seq"``...): give its ``parameters()`` to
    the optimiser, as TF1 programs trained ``tf.trainable_variables()``."""
    models = cell.__dict__.get(_MODELS, {})
    if scope not in models:
        raise ValueError(
            f"model_for: expected a legacy_seq2seq call with this cell under scope {scope!r}, got none"
        )
    return models[scope][0]


def attention_decoder(
    decoder_inputs: Sequence[torch.Tensor],
    initial_state: Any,
    attention_states: torch.Tensor,
    cell: RNNCell,
    output_size: int | None = None,
    num_heads: int = 1,
    loop_function: LoopFunction | None = None,
    dtype: Any = None,
    scope: str | None = None,
    initial_state_attention: bool = False,
) -> tuple[list[torch.Tensor], Any]:
    """TF 1.15's ``attention_decoder`` (module docstring). Its variables live in an ``AttentionDecoder`` kept for
    (cell, scope): ``model_for(cell, "attention_decoder")``. Returns ``(outputs list of [B, output_size],
    state)``."""
    model = reuse_model(
        "attention_decoder",
        AttentionDecoder,
        cell,
        scope,
        output_size=output_size,
        num_heads=num_heads,
        initial_state_attention=bool(initial_state_attention),
    )
    return model(decoder_inputs, initial_state, attention_states, loop_function)
