"""Luong (multiplicative) and Bahdanau (additive) attention, TF 1.15's ``LuongAttention``/``BahdanauAttention``.

See ``attention_base`` for the memory, masking and naming rules shared by every mechanism.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .attention_base import AttentionMechanism, ProbabilityFn, new_param, resolve_probability_fn
from .layers import NamedVariables, module_tf_variables

__all__ = ["LuongAttention", "BahdanauAttention", "luong_score", "bahdanau_score"]

#: ``AttentionMechanism``'s leading arguments, as the flavours (and their monotonic forms) pass them on:
#: ``(num_units, memory, memory_sequence_length, probability_fn(score, previous), score_mask_value)``.
MechanismArgs = tuple[int, Any, Any, ProbabilityFn, "float | None"]


class LuongAttention(AttentionMechanism):
    r"""Multiplicative attention (Luong et al. 2015): ``score[b, t] = g * <query[b], keys[b, t]>``.

    ``g`` (``attention_g``, initialised to 1) exists only with ``scale=True``; else ``g = 1``. The query depth
    must equal ``num_units``. Alignments ``= probability_fn(masked score)`` (softmax by default).

    Args follow TF 1.15: ``num_units, memory=None, memory_sequence_length=None, scale=False,
    probability_fn=None, score_mask_value=None (-inf), dtype=None, name="LuongAttention"``.
    """

    score_scope = "luong_attention"

    def __init__(
        self,
        num_units: int,
        memory: Any = None,
        memory_sequence_length: Any = None,
        scale: bool = False,
        probability_fn: Any = None,
        score_mask_value: float | None = None,
        dtype: Any = None,
        name: str = "LuongAttention",
    ) -> None:
        fn = resolve_probability_fn(type(self).__name__, probability_fn)
        args = (num_units, memory, memory_sequence_length, lambda s, _prev: fn(s), score_mask_value)
        self._init_luong(scale, args, dtype, name)

    def _init_luong(self, scale: bool, args: MechanismArgs, dtype: Any, name: str) -> None:
        """Luong's own option, then ``AttentionMechanism``'s with ``args = (num_units, memory,
        memory_sequence_length, probability_fn(score, previous), score_mask_value)``; no query layer."""
        self.scale = bool(scale)
        self.attention_g: nn.Parameter | None = None
        AttentionMechanism.__init__(self, *args, False, dtype, name)

    def _scoring_attributes(self) -> tuple[str, ...]:
        return ("attention_g",) if self.scale else ()

    def _build_scoring(self, dtype: torch.dtype, device: torch.device) -> None:
        if self.scale:
            g = torch.ones((), dtype=dtype, device=device)
            self.attention_g = new_param(g, self.attention_g)

    def score(self, query: torch.Tensor) -> torch.Tensor:
        return luong_score(type(self).__name__, query, self.keys, self.attention_g)

    def score_tf_variables(self, prefix: str) -> NamedVariables:
        if self.scale:
            yield f"{prefix}attention_g", self.attention_g


def luong_score(
    where: str, query: torch.Tensor, keys: torch.Tensor, g: torch.Tensor | None
) -> torch.Tensor:
    if query.shape[-1] != keys.shape[-1]:
        raise ValueError(
            f"{where}: expected a query of depth num_units={keys.shape[-1]} (Luong attention compares it "
            f"with the keys), got shape {tuple(query.shape)}"
        )
    score = torch.bmm(query.unsqueeze(1), keys.transpose(1, 2)).squeeze(1)  # [B, T]
    return score if g is None else g * score


class BahdanauAttention(AttentionMechanism):
    r"""Additive attention (Bahdanau et al. 2015)::

        score[b, t] = sum_u v[u] * tanh(keys[b, t, u] + (query @ W_q)[b, u])
        normalize:    v -> g * v / ||v||  and  a bias b[u] inside the tanh

    Parameters: ``query_layer/kernel [Q, U]`` (built on the first query), ``attention_v [U]`` (glorot-uniform),
    with ``normalize``: ``attention_g`` (init ``sqrt(1/U)``) and ``attention_b [U]`` (zeros).

    Args follow TF 1.15: ``num_units, memory=None, memory_sequence_length=None, normalize=False,
    probability_fn=None, score_mask_value=None, dtype=None, name="BahdanauAttention"``.
    """

    score_scope = "bahdanau_attention"

    def __init__(
        self,
        num_units: int,
        memory: Any = None,
        memory_sequence_length: Any = None,
        normalize: bool = False,
        probability_fn: Any = None,
        score_mask_value: float | None = None,
        dtype: Any = None,
        name: str = "BahdanauAttention",
    ) -> None:
        fn = resolve_probability_fn(type(self).__name__, probability_fn)
        args = (num_units, memory, memory_sequence_length, lambda s, _prev: fn(s), score_mask_value)
        self._init_bahdanau(normalize, args, dtype, name)

    def _init_bahdanau(self, normalize: bool, args: MechanismArgs, dtype: Any, name: str) -> None:
        """Bahdanau's own option, then ``AttentionMechanism``'s with ``args`` as for ``LuongAttention._init_luong``
        and a query layer."""
        self.normalize = bool(normalize)
        self.attention_v: nn.Parameter | None = None
        self.attention_g: nn.Parameter | None = None
        self.attention_b: nn.Parameter | None = None
        AttentionMechanism.__init__(self, *args, True, dtype, name)

    def _scoring_attributes(self) -> tuple[str, ...]:
        return ("attention_v", "attention_g", "attention_b") if self.normalize else ("attention_v",)

    def _build_scoring(self, dtype: torch.dtype, device: torch.device) -> None:
        units = self.num_units
        v = torch.empty(units, dtype=dtype, device=device)
        self.attention_v = new_param(_glorot_1d(v), self.attention_v)
        if self.normalize:
            g = torch.full((), math.sqrt(1.0 / units), dtype=dtype, device=device)
            self.attention_g = new_param(g, self.attention_g)
            b = torch.zeros(units, dtype=dtype, device=device)
            self.attention_b = new_param(b, self.attention_b)

    def score(self, query: torch.Tensor) -> torch.Tensor:
        assert self.query_layer is not None and self.attention_v is not None
        processed = self.query_layer(query).unsqueeze(1)  # [B, 1, U]
        return bahdanau_score(
            processed, self.keys, self.attention_v, self.attention_g, self.attention_b
        )

    def score_tf_variables(self, prefix: str) -> NamedVariables:
        assert self.query_layer is not None
        yield from module_tf_variables(self.query_layer, prefix)
        yield f"{prefix}attention_v", self.attention_v
        if self.normalize:
            yield f"{prefix}attention_g", self.attention_g
            yield f"{prefix}attention_b", self.attention_b


def _glorot_1d(v: torch.Tensor) -> torch.Tensor:
    # TF's glorot-uniform for a 1-D shape [n] takes fan_in = fan_out = n.
    limit = math.sqrt(3.0 / v.shape[0])
    with torch.no_grad():
        return v.uniform_(-limit, limit)


def bahdanau_score(
    processed: torch.Tensor,
    keys: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor | None,
    b: torch.Tensor | None,
) -> torch.Tensor:
    """``processed [B, 1, U]``, ``keys [B, T, U]`` -> ``[B, T]``."""
    if g is not None and b is not None:
        normed_v = g * v * torch.rsqrt((v * v).sum())
        return (normed_v * torch.tanh(keys + processed + b)).sum(2)
    return (v * torch.tanh(keys + processed)).sum(2)
