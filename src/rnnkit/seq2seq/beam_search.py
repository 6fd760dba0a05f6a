"""TF 1.15's ``BeamSearchDecoder``: keep the ``beam_width`` best partial sequences per batch row.

One step, for ``[B, beam]`` beams with log-probabilities ``log_probs`` and lengths ``lengths``::

    step = log_softmax(output_layer(cell(inputs, state)))         # [B, beam, V]
    step[finished beams] = (0 at end_token, dtype.min elsewhere)   # a finished beam can only repeat end_token
    total = log_probs[..., None] + step
    new_len = lengths + (token != end_token for live beams)
    score = total / ((5 + new_len) / 6) ** length_penalty_weight
            + coverage_penalty_weight * sum_t log(min(acc_attention, 1)) * finished   (GNMT's penalties)
    best beam_width of score over (beam, token) -> predicted_ids, parent_ids; states gathered from parents

At step 0 only beam 0 is live (the others start finished with log-probability -inf), so the first step
expands one hypothesis. ``finalize`` traces the parent pointers back (``gather_tree``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from .. import nest
from .._checks import check_positive_int, describe
from ..cells.base import RNNCell
from .attention_wrapper import AttentionWrapperState
from .basic_decoder import Decoder, check_output_layer
from .beam_ops import gather_tree, gather_tree_from_array
from .helpers import check_tokens, embedding_device, embedding_fn
from .state import AlignmentHistory

__all__ = [
    "BeamSearchDecoder",
    "BeamSearchDecoderState",
    "BeamSearchDecoderOutput",
    "FinalBeamSearchDecoderOutput",
]


class BeamSearchDecoderState(NamedTuple):
    """``cell_state`` (leaves ``[B, beam, ...]``), ``log_probs [B, beam]``, ``finished [B, beam]`` bool,
    ``lengths [B, beam]`` int64, ``accumulated_attention_probs`` (``[B, beam, T]`` with a coverage penalty,
    else ``()``)."""

    cell_state: Any
    log_probs: Any
    finished: Any
    lengths: Any
    accumulated_attention_probs: Any


class BeamSearchDecoderOutput(NamedTuple):
    """One step: ``scores [B, beam]`` (the penalised scores of the chosen tokens), ``predicted_ids``,
    ``parent_ids`` (``[B, beam]`` int32)."""

    scores: Any
    predicted_ids: Any
    parent_ids: Any


class FinalBeamSearchDecoderOutput(NamedTuple):
    """``predicted_ids [B, T, beam]`` (best beam first) and the per-step ``beam_search_decoder_output``."""

    predicted_ids: Any
    beam_search_decoder_output: Any


def _split(t: Any, batch: int, beam: int) -> Any:
    if not isinstance(t, torch.Tensor) or t.dim() == 0:
        return t
    return t.reshape(batch, beam, *t.shape[1:])


def _merge(t: Any, batch: int, beam: int) -> Any:
    if not isinstance(t, torch.Tensor) or t.dim() < 2:
        return t
    return t.reshape(batch * beam, *t.shape[2:])


def _gather_beams(t: Any, parents: torch.Tensor) -> Any:
    """``t [B, beam, ...]`` reordered so that beam ``k`` holds old beam ``parents[b, k]``."""
    if not isinstance(t, torch.Tensor) or t.dim() < 2:
        return t
    index = parents.reshape(*parents.shape, *([1] * (t.dim() - 2))).expand(-1, -1, *t.shape[2:])
    return t.gather(1, index)


def attention_probs(cell_state: Any) -> torch.Tensor | None:
    """The alignments of the attention wrappers in ``cell_state`` (averaged over several), or None."""
    found = []
    states = (
        cell_state
        if isinstance(cell_state, tuple) and not isinstance(cell_state, AttentionWrapperState)
        else (cell_state,)
    )
    for state in states:
        if isinstance(state, AttentionWrapperState):
            alignments = state.alignments
            if isinstance(alignments, tuple):
                alignments = torch.stack(alignments, -1).mean(-1)
            found.append(alignments)
    if not found:
        return None
    return found[0] if len(found) == 1 else torch.stack(found, -1).mean(-1)


class BeamSearchDecoder(Decoder):
    """Beam search over ``cell`` (TF 1.15's signature and math; see the module docstring).

    Args:
        cell: an rnnkit cell whose state has batch ``B * beam_width`` (tile the encoder's outputs, lengths and
            state with ``tile_batch``; an ``AttentionWrapper``'s ``zero_state(B * beam_width)``).
        embedding: a ``[V, E]`` tensor, ``nn.Embedding`` or callable ``ids -> inputs``.
        start_tokens: ``[B]`` ints; end_token: an int inside the vocabulary.
        initial_state: the cell's initial state, leaves ``[B * beam_width, ...]``.
        beam_width: positive int.
        output_layer: optional layer producing the ``[.., V]`` logits (``Dense`` or any torch module).
        length_penalty_weight, coverage_penalty_weight: GNMT's penalties (0 disables them); the coverage
            penalty needs an ``AttentionWrapper`` cell.
        reorder_tensor_arrays: reorder alignment histories in the final state along the surviving beams.

    ``dynamic_decode`` returns ``FinalBeamSearchDecoderOutput``, the final ``BeamSearchDecoderState`` and its
    ``lengths [B, beam]``.
    """

    def __init__(
        self,
        cell: RNNCell,
        embedding: Any,
        start_tokens: Any,
        end_token: Any,
        initial_state: Any,
        beam_width: int,
        output_layer: Any = None,
        length_penalty_weight: float = 0.0,
        coverage_penalty_weight: float = 0.0,
        reorder_tensor_arrays: bool = True,
    ) -> None:
        super().__init__()
        where = "BeamSearchDecoder"
        if not isinstance(cell, RNNCell):
            raise TypeError(f"{where}: expected cell to be an rnnkit RNNCell, got {describe(cell)}")
        self.cell = cell
        self.output_layer = check_output_layer(where, output_layer)
        self.beam_width = check_positive_int(where, "beam_width", beam_width)
        self._embed, vocab = embedding_fn(where, embedding)
        state_leaves = [x for x in nest.flatten(initial_state) if isinstance(x, torch.Tensor)]
        device = embedding_device(embedding) or (state_leaves[0].device if state_leaves else None)
        tokens, self.end_token = check_tokens(where, start_tokens, end_token, vocab, device)
        self._vocab = vocab
        self._batch = int(tokens.shape[0])
        self.length_penalty_weight = float(length_penalty_weight)
        self.coverage_penalty_weight = float(coverage_penalty_weight)
        self.reorder_tensor_arrays = bool(reorder_tensor_arrays)
        self._check_state(initial_state)
        self._initial_cell_state = nest.map_structure(
            lambda t: _split(t, self._batch, self.beam_width), initial_state
        )
        self._start_tokens = tokens[:, None].expand(self._batch, self.beam_width)
        self._start_inputs = self._embed(self._start_tokens)

    def _check_state(self, state: Any) -> None:
        where = "BeamSearchDecoder"
        nest.assert_same_structure(self.cell.state_size, state, where=f"{where} (initial_state)")
        expected = self._batch * self.beam_width
        for leaf in nest.flatten(state):
            if isinstance(leaf, torch.Tensor) and leaf.dim() >= 1 and leaf.shape[0] != expected:
                raise ValueError(
                    f"{where}: expected initial_state rows = batch size * beam_width = {self._batch} * "
                    f"{self.beam_width} = {expected}, got shape {tuple(leaf.shape)}; tile the encoder "
                    "state with tile_batch(state, beam_width)"
                )

    @property
    def batch_size(self) -> int:
        return self._batch

    @property
    def tracks_own_finished(self) -> bool:
        return True

    @property
    def output_size(self) -> BeamSearchDecoderOutput:
        beam = (self.beam_width,)
        return BeamSearchDecoderOutput(scores=beam, predicted_ids=beam, parent_ids=beam)

    def initialize(self, name: Any = None) -> tuple[torch.Tensor, Any, BeamSearchDecoderState]:
        first = next(
            x
            for x in nest.flatten(self._initial_cell_state)
            if isinstance(x, torch.Tensor) and x.dim() >= 2
        )
        batch, beam = self._batch, self.beam_width
        finished = torch.ones(batch, beam, dtype=torch.bool, device=first.device)
        finished[:, 0] = False  # only beam 0 is live at first: one hypothesis to expand
        log_probs = torch.full((batch, beam), float("-inf"), dtype=first.dtype, device=first.device)
        log_probs[:, 0] = 0.0
        accumulated: Any = ()
        if self.coverage_penalty_weight != 0.0:
            probs = attention_probs(self._initial_cell_state)
            if probs is None:
                raise ValueError(
                    "BeamSearchDecoder: expected an AttentionWrapper cell with coverage_penalty_weight != 0, "
                    f"got {type(self.cell).__name__}"
                )
            accumulated = probs
        state = BeamSearchDecoderState(
            cell_state=self._initial_cell_state,
            log_probs=log_probs,
            finished=finished,
            lengths=torch.zeros(batch, beam, dtype=torch.int64, device=first.device),
            accumulated_attention_probs=accumulated,
        )
        return finished, self._start_inputs, state

    def step(
        self, time: int, inputs: Any, state: Any, name: Any = None
    ) -> tuple[Any, Any, Any, Any]:
        batch, beam = self._batch, self.beam_width
        merged_inputs = nest.map_structure(lambda t: _merge(t, batch, beam), inputs)
        cell_state = nest.map_structure(lambda t: _merge(t, batch, beam), state.cell_state)
        cell_outputs, next_cell_state = self.cell(merged_inputs, cell_state)
        if self.output_layer is not None:
            cell_outputs = self.output_layer(cell_outputs)
        logits = cell_outputs.reshape(batch, beam, -1)
        next_cell_state = nest.map_structure(lambda t: _split(t, batch, beam), next_cell_state)
        output, next_state = self._search_step(logits, next_cell_state, state)
        finished = next_state.finished
        if bool(finished.all()):
            next_inputs = self._start_inputs
        else:
            next_inputs = self._embed(output.predicted_ids)
        return output, next_state, next_inputs, finished

    def _search_step(
        self, logits: torch.Tensor, next_cell_state: Any, state: BeamSearchDecoderState
    ) -> tuple[BeamSearchDecoderOutput, BeamSearchDecoderState]:
        batch, beam, end = self._batch, self.beam_width, self.end_token
        vocab = logits.shape[-1]
        if not 0 <= end < vocab:
            raise ValueError(
                f"BeamSearchDecoder: expected end_token inside the logits' vocabulary [0, {vocab}), got {end}"
            )
        was_finished = state.finished
        step_log_probs = _mask_finished(torch.log_softmax(logits, -1), end, was_finished)
        total = state.log_probs.unsqueeze(2) + step_log_probs  # [B, beam, V]
        not_end = torch.ones(vocab, dtype=torch.int64, device=logits.device)
        not_end[end] = 0
        new_lengths = state.lengths.unsqueeze(2) + not_end * (~was_finished).long().unsqueeze(2)
        accumulated = None
        if self.coverage_penalty_weight != 0.0:
            probs = attention_probs(next_cell_state)
            assert probs is not None
            probs = probs * (~was_finished).to(probs.dtype).unsqueeze(2)
            accumulated = state.accumulated_attention_probs + probs
        scores = _scores(
            total,
            new_lengths,
            self.length_penalty_weight,
            self.coverage_penalty_weight,
            was_finished,
            accumulated,
        )
        top_scores, word_indices = scores.reshape(batch, -1).topk(beam, dim=1)
        next_log_probs = total.reshape(batch, -1).gather(1, word_indices)
        next_ids = word_indices % vocab
        parents = torch.div(word_indices, vocab, rounding_mode="floor")
        parent_finished = was_finished.gather(1, parents)
        next_finished = parent_finished | (next_ids == end)
        next_lengths = state.lengths.gather(1, parents) + (~parent_finished).long()
        next_accumulated: Any = ()
        if accumulated is not None:
            next_accumulated = _gather_beams(accumulated, parents)
        gathered = nest.map_structure(lambda t: _gather_beams(t, parents), next_cell_state)
        next_state = BeamSearchDecoderState(
            cell_state=gathered,
            log_probs=next_log_probs,
            finished=next_finished,
            lengths=next_lengths,
            accumulated_attention_probs=next_accumulated,
        )
        output = BeamSearchDecoderOutput(
            scores=top_scores,
            predicted_ids=next_ids.to(torch.int32),
            parent_ids=parents.to(torch.int32),
        )
        return output, next_state

    def finalize(
        self, outputs: Any, final_state: Any, sequence_lengths: torch.Tensor
    ) -> tuple[FinalBeamSearchDecoderOutput, Any]:
        """Trace the beams back: ``predicted_ids [T, B, beam]`` (time-major here; ``dynamic_decode``
        transposes), and reorder alignment histories in the state when ``reorder_tensor_arrays``."""
        max_lengths = final_state.lengths.max(dim=1).values
        predicted = gather_tree(
            outputs.predicted_ids, outputs.parent_ids, max_lengths, self.end_token
        ).to(torch.int32)
        if self.reorder_tensor_arrays:
            parents = outputs.parent_ids.long()

            def sort(leaf: Any) -> Any:
                if isinstance(leaf, AlignmentHistory) and leaf.size() == parents.shape[0]:
                    return gather_tree_from_array(leaf.stack(), parents, final_state.lengths)
                return leaf

            final_state = final_state._replace(
                cell_state=nest.map_structure(sort, final_state.cell_state)
            )
        return FinalBeamSearchDecoderOutput(predicted, outputs), final_state

    def extra_repr(self) -> str:
        return f"beam_width={self.beam_width}, end_token={self.end_token}, vocab={self._vocab}"


def _mask_finished(log_probs: torch.Tensor, end: int, finished: torch.Tensor) -> torch.Tensor:
    """Finished beams: log-probability 0 for ``end``, the dtype's lowest value for every other token."""
    row = torch.full_like(log_probs[0, 0], torch.finfo(log_probs.dtype).min)
    row[end] = 0.0
    return torch.where(finished.unsqueeze(2), row, log_probs)


def _scores(
    total: torch.Tensor,
    lengths: torch.Tensor,
    length_weight: float,
    coverage_weight: float,
    finished: torch.Tensor,
    accumulated: torch.Tensor | None,
) -> torch.Tensor:
    scores = total
    if length_weight != 0.0:
        penalty = ((5.0 + lengths.to(total.dtype)) ** length_weight) / (6.0**length_weight)
        scores = total / penalty
    if coverage_weight == 0.0 or accumulated is None:
        return scores
    acc = torch.where(accumulated == 0.0, torch.ones_like(accumulated), accumulated)
    coverage = torch.log(acc.clamp(max=1.0)).sum(2) * finished.to(total.dtype)
    return scores + (coverage * coverage_weight).unsqueeze(2)
