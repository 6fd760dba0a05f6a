"""Monotonic attention (Raffel et al. 2017), TF 1.15's ``BahdanauMonotonicAttention``/``LuongMonotonicAttention``
and the functions ``safe_cumprod`` and ``monotonic_attention``.

The score (Bahdanau's or Luong's, plus a learned scalar ``attention_score_bias``) becomes a probability of
*stopping* at each memory entry, ``p = sigmoid(score + sigmoid_noise * N(0, 1))`` (``mode="hard"``:
``p = score > 0``); the attention is the probability of stopping at ``i`` having started from where the previous
step's attention was: ``q[i] = (1 - p[i-1]) q[i-1] + prev[i]``, ``attention[i] = p[i] q[i]``. The initial
alignments are one-hot at position 0.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._checks import describe
from .attention import BahdanauAttention, LuongAttention, MechanismArgs
from .attention_base import AttentionMechanism, new_param
from .layers import NamedVariables

__all__ = [
    "safe_cumprod",
    "monotonic_attention",
    "BahdanauMonotonicAttention",
    "LuongMonotonicAttention",
]

MODES = ("recursive", "parallel", "hard")


def _exclusive_cumsum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``[0, x0, x0 + x1, ...]`` along ``dim`` (TF's ``cumsum(exclusive=True)``)."""
    shifted = torch.cat(
        [torch.zeros_like(x.narrow(dim, 0, 1)), x.narrow(dim, 0, x.shape[dim] - 1)], dim
    )
    return shifted.cumsum(dim)


def safe_cumprod(
    x: torch.Tensor, axis: int = 0, exclusive: bool = False, reverse: bool = False
) -> torch.Tensor:
    """``cumprod(x)`` computed as ``exp(cumsum(log(clip(x, tiny, 1))))``: no underflow to 0 and a finite gradient
    for ``x`` in ``[0, 1]`` (TF's signature of ``tf.cumprod``: ``axis``, ``exclusive``, ``reverse``)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"safe_cumprod: expected a floating-point tensor, got {describe(x)}")
    logs = torch.log(x.clamp(torch.finfo(x.dtype).tiny, 1.0))
    if reverse:
        logs = logs.flip(axis)
    summed = _exclusive_cumsum(logs, axis) if exclusive else logs.cumsum(axis)
    if reverse:
        summed = summed.flip(axis)
    return torch.exp(summed)


def monotonic_attention(
    p_choose_i: torch.Tensor, previous_attention: torch.Tensor, mode: str
) -> torch.Tensor:
    """The monotonic attention ``[B, T]`` from stopping probabilities ``p_choose_i [B, T]`` (see the module
    docstring). ``mode``: ``"recursive"`` (the exact recurrence, a loop over T), ``"parallel"`` (the closed
    form with cumulative sums and products; inexact when ``p`` is near 0 or 1), ``"hard"`` (``p`` in {0, 1})."""
    where = "monotonic_attention"
    if mode not in MODES:
        raise ValueError(f"{where}: expected mode to be one of {list(MODES)}, got {mode!r}")
    for name, x in (("p_choose_i", p_choose_i), ("previous_attention", previous_attention)):
        if not isinstance(x, torch.Tensor) or x.dim() != 2:
            raise ValueError(f"{where}: expected {name} of shape [B, T], got {describe(x)}")
    if p_choose_i.shape != previous_attention.shape:
        raise ValueError(
            f"{where}: expected p_choose_i and previous_attention of one shape, got "
            f"{tuple(p_choose_i.shape)} and {tuple(previous_attention.shape)}"
        )
    if mode == "recursive":
        shifted = torch.cat([torch.ones_like(p_choose_i[:, :1]), 1 - p_choose_i[:, :-1]], 1)
        q = torch.zeros_like(p_choose_i[:, 0])
        qs = []
        for i in range(p_choose_i.shape[1]):
            q = shifted[:, i] * q + previous_attention[:, i]
            qs.append(q)
        return p_choose_i * torch.stack(qs, 1)
    if mode == "parallel":
        cumprod_1mp = safe_cumprod(1 - p_choose_i, axis=1, exclusive=True)
        return (
            p_choose_i
            * cumprod_1mp
            * torch.cumsum(previous_attention / cumprod_1mp.clamp(1e-10, 1.0), 1)
        )
    p = p_choose_i * torch.cumsum(previous_attention, 1)
    return p * _exclusive_cumprod(1 - p)


def _exclusive_cumprod(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.ones_like(x[:, :1]), x[:, :-1]], 1).cumprod(1)


class _Monotonic(AttentionMechanism):
    """What both monotonic mechanisms add: the probability function, the score bias and the initial one-hot."""

    def _init_monotonic(
        self, sigmoid_noise: float, sigmoid_noise_seed: Any, score_bias_init: float, mode: str
    ) -> None:
        where = type(self).__name__
        if mode not in MODES:
            raise ValueError(f"{where}: expected mode to be one of {list(MODES)}, got {mode!r}")
        self.sigmoid_noise = float(sigmoid_noise)
        self.sigmoid_noise_seed = sigmoid_noise_seed
        self.score_bias_init = float(score_bias_init)
        self.mode = mode
        self.attention_score_bias: nn.Parameter | None = None
        self._generator: torch.Generator | None = None

    def _monotonic_probability(self, score: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        if self.sigmoid_noise > 0:
            noise = torch.randn(
                score.shape,
                dtype=score.dtype,
                device=score.device,
                generator=self._noise_gen(score),
            )
            score = score + self.sigmoid_noise * noise
        if self.mode == "hard":
            p_choose_i = (score > 0).to(score.dtype)
        else:
            p_choose_i = torch.sigmoid(score)
        return monotonic_attention(p_choose_i, previous, self.mode)

    def _noise_gen(self, like: torch.Tensor) -> torch.Generator | None:
        if self.sigmoid_noise_seed is None:
            return None
        if self._generator is None or self._generator.device != like.device:
            self._generator = torch.Generator(device=like.device)
            self._generator.manual_seed(int(self.sigmoid_noise_seed))
        return self._generator

    def _scoring_attributes(self) -> tuple[str, ...]:
        return (*super()._scoring_attributes(), "attention_score_bias")

    def _build_scoring(self, dtype: torch.dtype, device: torch.device) -> None:
        super()._build_scoring(dtype, device)
        bias = torch.full((), self.score_bias_init, dtype=dtype, device=device)
        self.attention_score_bias = new_param(bias, self.attention_score_bias)

    def score(self, query: torch.Tensor) -> torch.Tensor:
        """The flavour's score plus the scalar ``attention_score_bias``."""
        assert self.attention_score_bias is not None  # built with the memory
        return super().score(query) + self.attention_score_bias

    def initial_alignments(self, batch_size: int, dtype: Any = None) -> torch.Tensor:
        """One-hot on the first memory slot: ``[B, T]``."""
        values = self._require_memory()
        alignments = values.new_zeros(batch_size, values.shape[1], dtype=dtype)
        alignments[:, 0] = 1.0
        return alignments

    def score_tf_variables(self, prefix: str) -> NamedVariables:
        yield from super().score_tf_variables(prefix)
        yield f"{prefix}attention_score_bias", self.attention_score_bias


class BahdanauMonotonicAttention(_Monotonic, BahdanauAttention):
    """Monotonic attention with Bahdanau's score plus ``attention_score_bias`` (TF 1.15's signature:
    ``num_units, memory=None, memory_sequence_length=None, normalize=False, score_mask_value=None,
    sigmoid_noise=0.0, sigmoid_noise_seed=None, score_bias_init=0.0, mode="parallel", dtype=None, name``).

    Variables: Bahdanau's, then ``attention_score_bias`` (a scalar, ``score_bias_init``), under
    ``bahdanau_monotonic_attention/``. ``sigmoid_noise_seed`` seeds a private torch generator.
    """

    score_scope = "bahdanau_monotonic_attention"

    def __init__(
        self,
        num_units: int,
        memory: Any = None,
        memory_sequence_length: Any = None,
        normalize: bool = False,
        score_mask_value: float | None = None,
        sigmoid_noise: float = 0.0,
        sigmoid_noise_seed: int | None = None,
        score_bias_init: float = 0.0,
        mode: str = "parallel",
        dtype: Any = None,
        name: str = "BahdanauMonotonicAttention",
    ) -> None:
        self._init_monotonic(sigmoid_noise, sigmoid_noise_seed, score_bias_init, mode)
        p_fn = self._monotonic_probability
        args: MechanismArgs = (num_units, memory, memory_sequence_length, p_fn, score_mask_value)
        self._init_bahdanau(normalize, args, dtype, name)


class LuongMonotonicAttention(_Monotonic, LuongAttention):
    """Monotonic attention with Luong's score plus ``attention_score_bias`` (TF 1.15's signature:
    ``num_units, memory=None, memory_sequence_length=None, scale=False, score_mask_value=None,
    sigmoid_noise=0.0, sigmoid_noise_seed=None, score_bias_init=0.0, mode="parallel", dtype=None, name``).

    Variables under ``luong_monotonic_attention/``: ``attention_g`` (with ``scale``), ``attention_score_bias``.
    """

    score_scope = "luong_monotonic_attention"

    def __init__(
        self,
        num_units: int,
        memory: Any = None,
        memory_sequence_length: Any = None,
        scale: bool = False,
        score_mask_value: float | None = None,
        sigmoid_noise: float = 0.0,
        sigmoid_noise_seed: int | None = None,
        score_bias_init: float = 0.0,
        mode: str = "parallel",
        dtype: Any = None,
        name: str = "LuongMonotonicAttention",
    ) -> None:
        self._init_monotonic(sigmoid_noise, sigmoid_noise_seed, score_bias_init, mode)
        p_fn = self._monotonic_probability
        args: MechanismArgs = (num_units, memory, memory_sequence_length, p_fn, score_mask_value)
        self._init_luong(scale, args, dtype, name)
