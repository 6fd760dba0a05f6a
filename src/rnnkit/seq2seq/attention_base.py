"""TF 1.15's attention mechanisms (``tf.contrib.seq2seq.LuongAttention``, ``BahdanauAttention``), in torch.

A mechanism holds a memory ``[B, T, D]`` (usually an encoder's outputs) and scores a query against it::

    keys = memory_layer(values)            # values = memory with rows past memory_sequence_length zeroed
    alignments, next_state = mechanism(query [B, Q], state [B, T])     # alignments [B, T]

Since torch modules are built once and called per batch, the memory is bound with ``setup_memory(memory,
memory_sequence_length)`` (tfa's method); TF1's ``memory=`` at construction does the same once.

TF names (relative to the scope the mechanism lives in, see ``AttentionWrapper``): ``memory_layer/kernel
[D, U]`` is created when the memory is set up; the scoring variables live in the wrapper's scope, under
``luong_attention/`` (``attention_g`` when ``scale``) or ``bahdanau_attention/`` (``query_layer/kernel [Q, U]``,
``attention_v [U]``, and ``attention_g``, ``attention_b [U]`` when ``normalize``), in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._checks import check_positive_int, describe
from ..cells.lazy import adopt, placeholder, unbuilt
from ..unroll._arguments import check_sequence_length
from .layers import Dense, NamedVariables

__all__ = ["AttentionMechanism", "hardmax", "resolve_probability_fn", "new_param"]

ProbabilityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def hardmax(logits: torch.Tensor, name: str | None = None) -> torch.Tensor:
    """One-hot of the arg-max over the last axis (the first maximum on ties), in ``logits``' dtype."""
    if not isinstance(logits, torch.Tensor) or logits.dim() < 1:
        raise TypeError(f"hardmax: expected a tensor [..., N], got {describe(logits)}")
    index = logits.argmax(-1, keepdim=True)
    return torch.zeros_like(logits).scatter_(-1, index, 1.0)


def _softmax(score: torch.Tensor) -> torch.Tensor:
    return torch.softmax(score, dim=-1)


_PROBABILITY_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "softmax": _softmax,
    "hardmax": hardmax,
}


def resolve_probability_fn(
    where: str, probability_fn: Any
) -> Callable[[torch.Tensor], torch.Tensor]:
    """None (softmax), a callable ``score -> probabilities``, or the name ``"softmax"`` / ``"hardmax"``."""
    if probability_fn is None:
        return _softmax
    if isinstance(probability_fn, str):
        if probability_fn not in _PROBABILITY_FNS:
            raise ValueError(
                f"{where}: expected probability_fn to be a callable or one of "
                f"{sorted(_PROBABILITY_FNS)}, got {probability_fn!r}"
            )
        return _PROBABILITY_FNS[probability_fn]
    if not callable(probability_fn):
        raise TypeError(
            f"{where}: expected probability_fn to be callable, got {describe(probability_fn)}"
        )
    fn: Callable[[torch.Tensor], torch.Tensor] = probability_fn
    return fn


class AttentionMechanism(nn.Module):
    """Base of the attention mechanisms (TF's ``AttentionMechanism``); see the module docstring."""

    #: the variable scope TF opens around the scoring (``luong_attention``...)
    score_scope: str = "attention"

    def __init__(
        self,
        num_units: int,
        memory: Any,
        memory_sequence_length: Any,
        probability_fn: ProbabilityFn,
        score_mask_value: float | None,
        query_layer: bool,
        dtype: Any,
        name: str,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        self.num_units = check_positive_int(where, "num_units", num_units)
        self.name = name
        self._probability_fn = probability_fn
        self.score_mask_value = (
            float("-inf") if score_mask_value is None else float(score_mask_value)
        )
        self._param_dtype = dtype
        self.memory_layer = Dense(num_units, use_bias=False, name="memory_layer")
        self.query_layer = (
            Dense(num_units, use_bias=False, name="query_layer") if query_layer else None
        )
        self._values: torch.Tensor | None = None
        self._keys: torch.Tensor | None = None
        self._mask: torch.Tensor | None = None  # [B, T] bool, None without lengths
        for attr in self._scoring_attributes():
            # placeholders until the memory gives dtype and device (cells/lazy.py): an optimizer made before
            # the first memory still holds them
            setattr(self, attr, placeholder())
        if memory is not None:
            self.setup_memory(memory, memory_sequence_length)
        elif memory_sequence_length is not None:
            raise ValueError(
                f"{where}: expected memory together with memory_sequence_length, got memory=None"
            )

    # -- memory ---------------------------------------------------------------------------------------------

    def setup_memory(self, memory: Any, memory_sequence_length: Any = None) -> None:
        """Bind ``memory [B, T, D]`` (and optional ``memory_sequence_length [B]``, entries in ``[1, T]``).

        Rows past a sequence's length are zeroed in ``values``, and their scores set to ``score_mask_value``
        (``-inf``: probability 0) before ``probability_fn``. Builds ``memory_layer`` on the first memory.
        """
        where = f"{type(self).__name__}.setup_memory"
        if not isinstance(memory, torch.Tensor) or memory.dim() != 3:
            raise ValueError(
                f"{where}: expected memory to be a [B, T, D] tensor, got {describe(memory)}"
            )
        if not memory.is_floating_point():
            raise TypeError(f"{where}: expected floating-point memory, got {memory.dtype}")
        batch, time, _ = memory.shape
        if batch == 0 or time == 0:
            raise ValueError(
                f"{where}: expected memory with B >= 1 and T >= 1, got shape {tuple(memory.shape)}"
            )
        lengths = check_sequence_length(
            where, memory_sequence_length, batch, time, memory.device, "memory_sequence_length"
        )
        mask = None
        values = memory
        if lengths is not None:
            if int(lengths.min()) < 1:
                # TF asserts this too: a row with no memory has no distribution to attend with.
                raise ValueError(
                    f"{where}: expected memory_sequence_length >= 1 in every row, got a minimum of "
                    f"{int(lengths.min())}"
                )
            mask = torch.arange(time, device=memory.device)[None, :] < lengths[:, None]
            values = memory * mask.unsqueeze(-1).to(memory.dtype)
        if unbuilt(self.memory_layer.kernel):
            dtype = self._param_dtype or memory.dtype
            self.memory_layer.build(memory.shape[-1], dtype=dtype, device=memory.device)
            self._build_scoring(dtype, memory.device)
        self._values, self._mask = values, mask
        self._keys = self.memory_layer(values)

    def _scoring_attributes(self) -> tuple[str, ...]:
        """The scoring parameters ``_build_scoring`` creates in this configuration (subclasses)."""
        return ()

    def _build_scoring(self, dtype: torch.dtype, device: torch.device) -> None:
        """Create the scoring parameters (subclasses), each moved into its placeholder (``new_param``)."""

    def _require_memory(self) -> torch.Tensor:
        if self._values is None:
            raise ValueError(
                f"{type(self).__name__}: expected a memory, got none; pass memory= or call setup_memory()"
            )
        return self._values

    @property
    def values(self) -> torch.Tensor:
        """The (masked) memory ``[B, T, D]``."""
        return self._require_memory()

    @property
    def keys(self) -> torch.Tensor:
        """``memory_layer(values)``: ``[B, T, num_units]``."""
        self._require_memory()
        assert self._keys is not None
        return self._keys

    @property
    def batch_size(self) -> int:
        return int(self._require_memory().shape[0])

    @property
    def alignments_size(self) -> int:
        """The memory's ``T``."""
        return int(self._require_memory().shape[1])

    @property
    def state_size(self) -> int:
        return self.alignments_size

    @property
    def values_depth(self) -> int:
        """The memory's ``D`` (what the context vector has)."""
        return int(self._require_memory().shape[2])

    def initial_alignments(self, batch_size: int, dtype: Any = None) -> torch.Tensor:
        """Zeros ``[batch_size, T]`` (monotonic mechanisms: a one at position 0)."""
        values = self._require_memory()
        return values.new_zeros(batch_size, values.shape[1], dtype=dtype)

    def initial_state(self, batch_size: int, dtype: Any = None) -> torch.Tensor:
        return self.initial_alignments(batch_size, dtype)

    # -- scoring --------------------------------------------------------------------------------------------

    def _masked(self, score: torch.Tensor) -> torch.Tensor:
        if self._mask is None:
            return score
        return torch.where(self._mask, score, score.new_tensor(self.score_mask_value))

    def _check_query(self, query: Any, state: Any) -> torch.Tensor:
        where = type(self).__name__
        values = self._require_memory()
        if not isinstance(query, torch.Tensor) or query.dim() != 2:
            raise ValueError(f"{where}: expected a query [B, Q], got {describe(query)}")
        if query.shape[0] != values.shape[0]:
            raise ValueError(
                f"{where}: expected a query of batch size {values.shape[0]} (the memory's), got shape "
                f"{tuple(query.shape)}; with beam search, tile the memory with tile_batch"
            )
        if not isinstance(state, torch.Tensor) or tuple(state.shape) != tuple(values.shape[:2]):
            raise ValueError(
                f"{where}: expected a previous state [B, T] = {tuple(values.shape[:2])}, got {describe(state)}"
            )
        return query

    def score(self, query: torch.Tensor) -> torch.Tensor:
        """The unnormalised score ``[B, T]`` (subclasses)."""
        raise NotImplementedError

    def forward(
        self, query: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``query [B, Q]``, previous alignments ``state [B, T]`` -> ``(alignments [B, T], next_state)``."""
        query = self._check_query(query, state)
        alignments = self._probability_fn(self._masked(self.score(query)), state)
        return alignments, alignments

    # -- TF names -------------------------------------------------------------------------------------------

    def memory_tf_variables(self, prefix: str, layer_name: str = "memory_layer") -> NamedVariables:
        """The memory layer's variables: ``{prefix}{layer_name}/kernel``."""
        yield f"{prefix}{layer_name}/kernel", self.memory_layer.kernel

    def score_tf_variables(self, prefix: str) -> NamedVariables:
        """The scoring variables, ``prefix`` ending in the score scope (``.../luong_attention/``)."""
        return iter(())

    def named_tf_variables(self, prefix: str = "") -> NamedVariables:
        """All variables when the mechanism is used on its own: memory layer, then the score scope."""
        yield from self.memory_tf_variables(prefix)
        yield from self.score_tf_variables(f"{prefix}{self.score_scope}/")


def new_param(value: torch.Tensor, held: Any = None) -> nn.Parameter:
    """``value`` as a parameter, moved into ``held`` when that is a placeholder (``cells/lazy.py``)."""
    return adopt(held, nn.Parameter(value))
