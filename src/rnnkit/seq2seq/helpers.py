"""TF 1.15's decoder helpers (``tf.contrib.seq2seq.*Helper``): what a ``BasicDecoder`` feeds its cell next.

A helper answers three questions per step: ``initialize() -> (finished [B], first inputs)``,
``sample(time, outputs, state) -> sample_ids`` and ``next_inputs(time, outputs, state, sample_ids) ->
(finished, next_inputs, state)``. Teacher forcing reads the next ground-truth step (``TrainingHelper``);
inference feeds back the embedding of the arg-max (``GreedyEmbeddingHelper``) or of a sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .. import nest
from .._checks import describe
from ..unroll._arguments import check_sequence_length

__all__ = [
    "Helper",
    "CustomHelper",
    "TrainingHelper",
    "GreedyEmbeddingHelper",
    "SampleEmbeddingHelper",
    "InferenceHelper",
    "embedding_fn",
    "check_tokens",
    "embedding_device",
]


def embedding_fn(where: str, embedding: Any) -> tuple[Callable[[torch.Tensor], Any], int | None]:
    """TF's ``embedding`` argument: a ``[V, E]`` tensor (looked up as ``embedding_lookup``), an
    ``nn.Embedding`` or any callable ``ids -> inputs``. Returns ``(fn, V or None)``."""
    if isinstance(embedding, torch.Tensor):
        if embedding.dim() != 2:
            raise ValueError(
                f"{where}: expected an embedding matrix [V, E], got shape {tuple(embedding.shape)}"
            )
        return (lambda ids: nn.functional.embedding(ids.long(), embedding)), int(embedding.shape[0])
    if isinstance(embedding, nn.Embedding):
        return embedding, int(embedding.num_embeddings)
    if callable(embedding):
        return embedding, None
    raise TypeError(
        f"{where}: expected embedding to be a [V, E] tensor or a callable, got {describe(embedding)}"
    )


def embedding_device(embedding: Any) -> torch.device | None:
    """Where the token ids must live: the embedding matrix's (or ``nn.Embedding``'s) device; None for callables."""
    if isinstance(embedding, torch.Tensor):
        return embedding.device
    if isinstance(embedding, nn.Embedding):
        return embedding.weight.device
    return None


def check_tokens(
    where: str, start_tokens: Any, end_token: Any, vocab: int | None, device: Any
) -> tuple[torch.Tensor, int]:
    """``start_tokens`` as an int64 ``[B]`` tensor and ``end_token`` as an int, both inside ``[0, vocab)``."""
    tokens = torch.as_tensor(start_tokens, device=device)
    if tokens.dim() != 1 or tokens.is_floating_point() or tokens.dtype == torch.bool:
        raise ValueError(
            f"{where}: expected start_tokens to be a vector [B] of ints, got {describe(start_tokens)}"
        )
    if tokens.shape[0] == 0:
        raise ValueError(f"{where}: expected at least one start token, got an empty vector")
    end = torch.as_tensor(end_token)
    if end.dim() != 0 or end.is_floating_point() or end.dtype == torch.bool:
        raise ValueError(
            f"{where}: expected end_token to be a scalar int, got {describe(end_token)}"
        )
    end_id = int(end)
    if vocab is not None:
        if not 0 <= end_id < vocab:
            raise ValueError(
                f"{where}: expected end_token inside the vocabulary [0, {vocab}), got {end_id}"
            )
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= vocab:
            raise ValueError(
                f"{where}: expected start_tokens inside the vocabulary [0, {vocab}), got values in "
                f"[{low}, {high}]"
            )
    return tokens.long(), end_id


class Helper:
    """Base of the helpers (TF's ``Helper`` interface)."""

    # What ``sample`` returns per row: a scalar int32 id unless a helper is told otherwise (CustomHelper and
    # InferenceHelper take both from their caller and set these two).
    _sample_ids_shape: tuple[int, ...] = ()
    _sample_ids_dtype: torch.dtype = torch.int32

    @property
    def batch_size(self) -> int:
        raise NotImplementedError

    @property
    def sample_ids_shape(self) -> tuple[int, ...]:
        return self._sample_ids_shape

    @property
    def sample_ids_dtype(self) -> torch.dtype:
        return self._sample_ids_dtype

    def initialize(self) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError

    def sample(self, time: int, outputs: Any, state: Any) -> Any:
        raise NotImplementedError

    def next_inputs(
        self, time: int, outputs: Any, state: Any, sample_ids: Any
    ) -> tuple[torch.Tensor, Any, Any]:
        raise NotImplementedError


class CustomHelper(Helper):
    """A helper from three functions: ``initialize_fn() -> (finished, inputs)``, ``sample_fn(time, outputs,
    state) -> ids``, ``next_inputs_fn(time, outputs, state, sample_ids) -> (finished, next_inputs, state)``."""

    def __init__(
        self,
        initialize_fn: Callable[[], tuple[torch.Tensor, Any]],
        sample_fn: Callable[..., Any],
        next_inputs_fn: Callable[..., tuple[torch.Tensor, Any, Any]],
        sample_ids_shape: Any = None,
        sample_ids_dtype: torch.dtype | None = None,
    ) -> None:
        for label, fn in (
            ("initialize_fn", initialize_fn),
            ("sample_fn", sample_fn),
            ("next_inputs_fn", next_inputs_fn),
        ):
            if not callable(fn):
                raise TypeError(
                    f"CustomHelper: expected {label} to be callable, got {describe(fn)}"
                )
        self._initialize_fn = initialize_fn
        self._sample_fn = sample_fn
        self._next_inputs_fn = next_inputs_fn
        self._sample_ids_shape = tuple(sample_ids_shape or ())
        self._sample_ids_dtype = sample_ids_dtype or torch.int32
        self._batch_size: int | None = None

    @property
    def batch_size(self) -> int:
        if self._batch_size is None:
            raise ValueError(
                "CustomHelper: expected initialize() to run before batch_size, got no call yet"
            )
        return self._batch_size

    def initialize(self) -> tuple[torch.Tensor, Any]:
        finished, inputs = self._initialize_fn()
        self._batch_size = int(finished.shape[0])
        return finished, inputs

    def sample(self, time: int, outputs: Any, state: Any) -> Any:
        return self._sample_fn(time=time, outputs=outputs, state=state)

    def next_inputs(
        self, time: int, outputs: Any, state: Any, sample_ids: Any
    ) -> tuple[torch.Tensor, Any, Any]:
        return self._next_inputs_fn(time=time, outputs=outputs, state=state, sample_ids=sample_ids)


class TrainingHelper(Helper):
    """Teacher forcing: step ``t`` reads ``inputs[:, t]``; row ``b`` is finished once ``t >= sequence_length[b]``.

    ``inputs [B, T, ...]`` (``[T, B, ...]`` when ``time_major``; nested structures allowed),
    ``sequence_length [B]``. ``sample`` is the arg-max of the outputs (int32).
    """

    def __init__(
        self, inputs: Any, sequence_length: Any, time_major: bool = False, name: Any = None
    ):
        where = type(self).__name__
        flat = nest.flatten(inputs)
        if not flat or not all(isinstance(x, torch.Tensor) and x.dim() >= 3 for x in flat):
            layout = "[T, B, D]" if time_major else "[B, T, D]"
            raise ValueError(
                f"{where}: expected inputs {layout} (rank >= 3), got {describe(inputs)}"
            )
        time_axis = 0 if time_major else 1
        self._inputs = inputs
        self._steps = [x.unbind(time_axis) for x in flat]  # per leaf: T tensors [B, ...]
        self._time = int(flat[0].shape[time_axis])
        self._batch = int(flat[0].shape[1 - time_axis])
        lengths = check_sequence_length(
            where, sequence_length, self._batch, self._time, flat[0].device
        )
        assert lengths is not None
        if sequence_length is None:
            raise ValueError(f"{where}: expected sequence_length [B], got None")
        self._sequence_length = lengths
        self._zero_inputs = nest.pack_sequence_as(
            inputs, [torch.zeros_like(x[0]) for x in self._steps]
        )

    @property
    def batch_size(self) -> int:
        return self._batch

    @property
    def sequence_length(self) -> torch.Tensor:
        return self._sequence_length

    def _read(self, time: int, finished: torch.Tensor) -> Any:
        if bool(finished.all()) or time >= self._time:
            return self._zero_inputs
        return nest.pack_sequence_as(self._inputs, [steps[time] for steps in self._steps])

    def initialize(self) -> tuple[torch.Tensor, Any]:
        finished = self._sequence_length <= 0
        return finished, self._read(0, finished)

    def sample(self, time: int, outputs: Any, state: Any) -> Any:
        return outputs.argmax(-1).to(torch.int32)

    def next_inputs(
        self, time: int, outputs: Any, state: Any, sample_ids: Any
    ) -> tuple[torch.Tensor, Any, Any]:
        next_time = int(time) + 1
        finished = self._sequence_length <= next_time
        return finished, self._read(next_time, finished), state


class GreedyEmbeddingHelper(Helper):
    """Inference: feed back ``embedding(argmax(outputs))``; a row is finished once it emits ``end_token``.

    ``embedding``: a ``[V, E]`` tensor, an ``nn.Embedding`` or a callable; ``start_tokens [B]``; ``end_token``
    an int (checked against ``V`` when the vocabulary size is known). When every row is finished the next
    inputs are the start inputs (TF's choice; they are never used).
    """

    def __init__(self, embedding: Any, start_tokens: Any, end_token: Any) -> None:
        where = type(self).__name__
        self._embed, vocab = embedding_fn(where, embedding)
        self._start_tokens, self._end_token = check_tokens(
            where, start_tokens, end_token, vocab, embedding_device(embedding)
        )
        self._vocab = vocab
        self._start_inputs = self._embed(self._start_tokens)

    @property
    def batch_size(self) -> int:
        return int(self._start_tokens.shape[0])

    @property
    def end_token(self) -> int:
        return self._end_token

    def initialize(self) -> tuple[torch.Tensor, Any]:
        finished = torch.zeros(self.batch_size, dtype=torch.bool, device=self._start_tokens.device)
        return finished, self._start_inputs

    def sample(self, time: int, outputs: Any, state: Any) -> Any:
        if not isinstance(outputs, torch.Tensor):
            raise TypeError(
                f"{type(self).__name__}: expected outputs to be a tensor [B, V], got {describe(outputs)}"
            )
        return outputs.argmax(-1).to(torch.int32)

    def next_inputs(
        self, time: int, outputs: Any, state: Any, sample_ids: Any
    ) -> tuple[torch.Tensor, Any, Any]:
        finished = sample_ids == self._end_token
        if bool(finished.all()):
            return finished, self._start_inputs, state
        return finished, self._embed(sample_ids), state


class SampleEmbeddingHelper(GreedyEmbeddingHelper):
    """Like ``GreedyEmbeddingHelper`` but samples ``ids ~ Categorical(logits=outputs / softmax_temperature)``.

    ``seed`` seeds a private ``torch.Generator`` (TF's random streams cannot be reproduced in torch).
    """

    def __init__(
        self,
        embedding: Any,
        start_tokens: Any,
        end_token: Any,
        softmax_temperature: float | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(embedding, start_tokens, end_token)
        self._temperature = softmax_temperature
        self._seed = seed
        self._generator: torch.Generator | None = None

    def sample(self, time: int, outputs: Any, state: Any) -> Any:
        super().sample(time, outputs, state)  # the type check
        logits = outputs
        if self._temperature is not None:
            logits = logits / self._temperature
        return categorical_sample(self, logits).to(torch.int32)


def categorical_sample(owner: Any, logits: torch.Tensor) -> torch.Tensor:
    """One draw per row from ``softmax(logits)`` with the owner's seeded generator (None: torch's global one)."""
    seed = getattr(owner, "_seed", None)
    generator = None
    if seed is not None:
        if owner._generator is None or owner._generator.device != logits.device:
            owner._generator = torch.Generator(device=logits.device)
            owner._generator.manual_seed(int(seed))
        generator = owner._generator
    probs = torch.softmax(logits.float(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class InferenceHelper(Helper):
    """Inference without embeddings: ``sample_fn(outputs) -> ids``, ``end_fn(ids) -> finished [B]``, next inputs
    ``next_inputs_fn(ids)`` (default: the ids themselves). ``start_inputs [B, ...]``."""

    def __init__(
        self,
        sample_fn: Callable[[Any], Any],
        sample_shape: Any,
        sample_dtype: torch.dtype,
        start_inputs: torch.Tensor,
        end_fn: Callable[[Any], torch.Tensor],
        next_inputs_fn: Callable[[Any], Any] | None = None,
    ) -> None:
        where = type(self).__name__
        for label, fn in (("sample_fn", sample_fn), ("end_fn", end_fn)):
            if not callable(fn):
                raise TypeError(f"{where}: expected {label} to be callable, got {describe(fn)}")
        if not isinstance(start_inputs, torch.Tensor) or start_inputs.dim() < 1:
            raise ValueError(
                f"{where}: expected start_inputs [B, ...], got {describe(start_inputs)}"
            )
        self._sample_fn, self._end_fn = sample_fn, end_fn
        self._next_inputs_fn = next_inputs_fn
        self._sample_ids_shape = tuple(sample_shape) if sample_shape is not None else ()
        self._sample_ids_dtype = sample_dtype
        self._start_inputs = start_inputs

    @property
    def batch_size(self) -> int:
        return int(self._start_inputs.shape[0])

    def initialize(self) -> tuple[torch.Tensor, Any]:
        finished = torch.zeros(self.batch_size, dtype=torch.bool, device=self._start_inputs.device)
        return finished, self._start_inputs

    def sample(self, time: int, outputs: Any, state: Any) -> Any:
        return self._sample_fn(outputs)

    def next_inputs(
        self, time: int, outputs: Any, state: Any, sample_ids: Any
    ) -> tuple[torch.Tensor, Any, Any]:
        next_inputs = (
            sample_ids if self._next_inputs_fn is None else self._next_inputs_fn(sample_ids)
        )
        return self._end_fn(sample_ids), next_inputs, state
