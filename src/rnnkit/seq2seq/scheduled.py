"""Scheduled sampling helpers (Bengio et al. 2015): TF 1.15's ``ScheduledEmbeddingTrainingHelper`` and
``ScheduledOutputTrainingHelper``. Each row of each step feeds, with probability ``sampling_probability``, the
model's own previous prediction instead of the ground truth.

Randomness: a private ``torch.Generator`` per helper seeded by ``seed``/``scheduling_seed`` (TF's random streams
cannot be reproduced in torch); with ``sampling_probability`` 0 both are exactly ``TrainingHelper``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import nest
from .._checks import describe
from .helpers import TrainingHelper, embedding_fn

__all__ = ["ScheduledEmbeddingTrainingHelper", "ScheduledOutputTrainingHelper"]


def _check_probability(where: str, p: Any, batch: int) -> torch.Tensor:
    prob = torch.as_tensor(p, dtype=torch.float64)
    if prob.dim() > 1 or (prob.dim() == 1 and prob.shape[0] != batch):
        raise ValueError(
            f"{where}: expected sampling_probability to be a scalar or a vector [B={batch}], got shape "
            f"{tuple(prob.shape)}"
        )
    if bool(((prob < 0) | (prob > 1)).any()):
        raise ValueError(f"{where}: expected sampling_probability in [0, 1], got {p!r}")
    return prob


class _Seeded:
    def _gen(self, name: str, seed: Any, device: torch.device) -> torch.Generator | None:
        if seed is None:
            return None
        gens: dict[str, torch.Generator] = self.__dict__.setdefault("_gens", {})
        if name not in gens or gens[name].device != device:
            gens[name] = torch.Generator(device=device)
            gens[name].manual_seed(int(seed))
        return gens[name]

    def _select(
        self, prob: torch.Tensor, batch: int, seed: Any, device: torch.device
    ) -> torch.Tensor:
        """``[B]`` bool: which rows feed their own prediction this step."""
        probs = prob.to(device).expand(batch)
        draw = torch.rand(
            batch, generator=self._gen("select", seed, device), device=device, dtype=torch.float64
        )
        return draw < probs


class ScheduledEmbeddingTrainingHelper(TrainingHelper, _Seeded):
    """Teacher forcing, except that a row sampled with ``sampling_probability`` (scalar or ``[B]``) feeds
    ``embedding(id)`` with ``id ~ Categorical(logits=outputs)``. ``sample`` returns that id, or -1 for rows that
    read the ground truth."""

    def __init__(
        self,
        inputs: Any,
        sequence_length: Any,
        embedding: Any,
        sampling_probability: Any,
        time_major: bool = False,
        seed: int | None = None,
        scheduling_seed: int | None = None,
        name: Any = None,
    ) -> None:
        super().__init__(inputs, sequence_length, time_major)
        where = type(self).__name__
        self._embed, self._vocab = embedding_fn(where, embedding)
        self._probability = _check_probability(where, sampling_probability, self.batch_size)
        self._seed, self._scheduling_seed = seed, scheduling_seed

    def sample(self, time: int, outputs: Any, state: Any) -> Any:
        if not isinstance(outputs, torch.Tensor) or outputs.dim() != 2:
            raise TypeError(
                f"{type(self).__name__}: expected outputs [B, V], got {describe(outputs)}"
            )
        select = self._select(
            self._probability, self.batch_size, self._scheduling_seed, outputs.device
        )
        probs = torch.softmax(outputs.detach().double(), dim=-1)
        ids = torch.multinomial(
            probs, 1, generator=self._gen("ids", self._seed, outputs.device)
        ).squeeze(-1)
        return torch.where(select, ids, torch.full_like(ids, -1)).to(torch.int32)

    def next_inputs(
        self, time: int, outputs: Any, state: Any, sample_ids: Any
    ) -> tuple[torch.Tensor, Any, Any]:
        finished, base, state = super().next_inputs(time, outputs, state, sample_ids)
        sampling = sample_ids > -1
        if bool(finished.all()) or not bool(sampling.any()):
            return finished, base, state
        embedded = self._embed(sample_ids.clamp(min=0))
        rows = sampling.reshape(-1, *([1] * (embedded.dim() - 1)))
        return finished, torch.where(rows, embedded, base), state


class ScheduledOutputTrainingHelper(TrainingHelper, _Seeded):
    """Teacher forcing, except that a row sampled with ``sampling_probability`` feeds the previous step's
    ``outputs`` (through ``next_inputs_fn`` when given), concatenated with ``auxiliary_inputs [B, T, A]`` of the
    next step when given (the ground-truth inputs then carry them too). ``sample`` returns the [B] bool choice."""

    _sample_ids_dtype = torch.bool

    def __init__(
        self,
        inputs: Any,
        sequence_length: Any,
        sampling_probability: Any,
        time_major: bool = False,
        seed: int | None = None,
        next_inputs_fn: Callable[[Any], Any] | None = None,
        auxiliary_inputs: Any = None,
        name: Any = None,
    ) -> None:
        where = type(self).__name__
        if next_inputs_fn is not None and not callable(next_inputs_fn):
            raise TypeError(
                f"{where}: expected next_inputs_fn to be callable, got {describe(next_inputs_fn)}"
            )
        merged = inputs
        if auxiliary_inputs is not None:
            merged = nest.map_structure(
                lambda x, y: torch.cat([x, y], -1), inputs, auxiliary_inputs
            )
        super().__init__(merged, sequence_length, time_major)
        time_axis = 0 if time_major else 1
        self._aux = (
            None
            if auxiliary_inputs is None
            else [x.unbind(time_axis) for x in nest.flatten(auxiliary_inputs)]
        )
        self._aux_like = auxiliary_inputs
        self._probability = _check_probability(where, sampling_probability, self.batch_size)
        self._seed = seed
        self._next_inputs_fn = next_inputs_fn

    def sample(self, time: int, outputs: Any, state: Any) -> Any:
        device = nest.flatten(outputs)[0].device
        return self._select(self._probability, self.batch_size, self._seed, device)

    def _with_aux(self, outputs: Any, time: int) -> Any:
        if self._aux is None:
            return outputs
        step = min(int(time) + 1, len(self._aux[0]) - 1)
        aux = nest.pack_sequence_as(self._aux_like, [steps[step] for steps in self._aux])
        return nest.map_structure(lambda x, y: torch.cat([x, y], -1), outputs, aux)

    def next_inputs(
        self, time: int, outputs: Any, state: Any, sample_ids: Any
    ) -> tuple[torch.Tensor, Any, Any]:
        finished, base, state = super().next_inputs(time, outputs, state, sample_ids)
        sampling = sample_ids.to(torch.bool)
        if bool(finished.all()) or not bool(sampling.any()):
            return finished, base, state
        fed = outputs if self._next_inputs_fn is None else self._next_inputs_fn(outputs)
        fed = self._with_aux(fed, time)

        def pick(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
            return torch.where(sampling.reshape(-1, *([1] * (new.dim() - 1))), new, old)

        return finished, nest.map_structure(pick, fed, base), state
