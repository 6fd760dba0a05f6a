"""Bad input -> one clear error, for ``rk.seq2seq``'s helpers, decoders, ``dynamic_decode`` and ``gather_tree``
(STYLE.md rules 5 and 11); baselines in ``_seq2seq_baselines.py``. The table is part of test_errors_seq2seq.py's."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from tests._errors import Case, check
from tests.errors._seq2seq_baselines import (
    BAD,
    B,
    E,
    H,
    S,
    T,
    V,
    beam_decoder,
    emb,
    mem,
    training_decoder,
)

# fmt: off
CASES = [
    Case(
        "training-helper-rank",
        "rk.seq2seq.TrainingHelper",
        "inputs",
        "rank 2",
        lambda: S.TrainingHelper(torch.zeros(B, E), [1] * B),
        ValueError,
        "TrainingHelper: expected inputs [B, T, D] (rank >= 3), got a torch.float32 tensor of shape (4, 3)",
    ),
    Case(
        "training-helper-lengths",
        "rk.seq2seq.TrainingHelper",
        "sequence_length",
        "an entry > T",
        lambda: S.TrainingHelper(mem(B, T, E), [BAD] * B),
        ValueError,
        "TrainingHelper: expected sequence_length <= the number of time steps (5), got 7",
    ),
    Case(
        "greedy-end-token",
        "rk.seq2seq.GreedyEmbeddingHelper",
        "end_token",
        "outside the vocabulary",
        lambda: S.GreedyEmbeddingHelper(emb(), [0] * B, V),
        ValueError,
        "GreedyEmbeddingHelper: expected end_token inside the vocabulary [0, 8), got 8",
    ),
    Case(
        "greedy-start-tokens",
        "rk.seq2seq.GreedyEmbeddingHelper",
        "start_tokens",
        "outside the vocabulary",
        lambda: S.GreedyEmbeddingHelper(emb(), [0, 1, 2, V + 1], 1),
        ValueError,
        "GreedyEmbeddingHelper: expected start_tokens inside the vocabulary [0, 8), got values in [0, 9]",
    ),
    Case(
        "greedy-start-rank",
        "rk.seq2seq.GreedyEmbeddingHelper",
        "start_tokens",
        "a matrix",
        lambda: S.GreedyEmbeddingHelper(emb(), [[0] * B], 1),
        ValueError,
        "GreedyEmbeddingHelper: expected start_tokens to be a vector [B] of ints, got a list of length 1",
    ),
    Case(
        "greedy-end-float",
        "rk.seq2seq.GreedyEmbeddingHelper",
        "end_token",
        "a float",
        lambda: S.GreedyEmbeddingHelper(emb(), [0] * B, 1.5),
        ValueError,
        "GreedyEmbeddingHelper: expected end_token to be a scalar int, got float 1.5",
    ),
    Case(
        "greedy-embedding",
        "rk.seq2seq.GreedyEmbeddingHelper",
        "embedding",
        "a str",
        lambda: S.GreedyEmbeddingHelper("emb", [0] * B, 1),
        TypeError,
        "GreedyEmbeddingHelper: expected embedding to be a [V, E] tensor or a callable, got str 'emb'",
    ),
    Case(
        "greedy-embedding-rank",
        "rk.seq2seq.SampleEmbeddingHelper",
        "embedding",
        "rank 3",
        lambda: S.SampleEmbeddingHelper(torch.zeros(V, E, 1), [0] * B, 1),
        ValueError,
        "SampleEmbeddingHelper: expected an embedding matrix [V, E], got shape (8, 3, 1)",
    ),
    Case(
        "scheduled-probability",
        "rk.seq2seq.ScheduledEmbeddingTrainingHelper",
        "sampling_probability",
        "1.5",
        lambda: S.ScheduledEmbeddingTrainingHelper(mem(B, T, E), [T] * B, emb(), 1.5),
        ValueError,
        "ScheduledEmbeddingTrainingHelper: expected sampling_probability in [0, 1], got 1.5",
    ),
    Case(
        "scheduled-output-probability-shape",
        "rk.seq2seq.ScheduledOutputTrainingHelper",
        "sampling_probability",
        "a [7] vector",
        lambda: S.ScheduledOutputTrainingHelper(mem(B, T, E), [T] * B, [0.5] * BAD),
        ValueError,
        "ScheduledOutputTrainingHelper: expected sampling_probability to be a scalar or a vector [B=4], got shape (7,)",
    ),
    Case(
        "custom-helper-fn",
        "rk.seq2seq.CustomHelper",
        "sample_fn",
        "not callable",
        lambda: S.CustomHelper(lambda: None, 3, lambda: None),
        TypeError,
        "CustomHelper: expected sample_fn to be callable, got int 3",
    ),
    Case(
        "inference-helper-start",
        "rk.seq2seq.InferenceHelper",
        "start_inputs",
        "a list",
        lambda: S.InferenceHelper(lambda o: o, (), torch.float32, [0.0], lambda s: s),
        ValueError,
        "InferenceHelper: expected start_inputs [B, ...], got a list of length 1",
    ),
    Case(
        "basic-decoder-helper",
        "rk.seq2seq.BasicDecoder",
        "helper",
        "a str",
        lambda: S.BasicDecoder(rk.BasicLSTMCell(H), "greedy", rk.BasicLSTMCell(H).zero_state(B)),
        TypeError,
        "BasicDecoder: expected helper to be a Helper, got str 'greedy'",
    ),
    Case(
        "basic-decoder-state-batch",
        "rk.seq2seq.BasicDecoder",
        "initial_state",
        "batch 7",
        lambda: training_decoder(BAD),
        ValueError,
        "BasicDecoder: expected initial_state with batch size 4 (the helper's), got [7]",
    ),
    Case(
        "basic-decoder-output-layer",
        "rk.seq2seq.BasicDecoder",
        "output_layer",
        "a str",
        lambda: S.BasicDecoder(
            rk.BasicLSTMCell(H),
            S.TrainingHelper(mem(B, T, E), [T] * B),
            rk.BasicLSTMCell(H).zero_state(B),
            output_layer="dense",
        ),
        TypeError,
        "BasicDecoder: expected output_layer to be a callable layer (Dense, nn.Linear...), got str 'dense'",
    ),
    Case(
        "beam-state-not-tiled",
        "rk.seq2seq.BeamSearchDecoder",
        "initial_state",
        "B rows, not B * beam_width",
        lambda: beam_decoder(state_rows=B),
        ValueError,
        "BeamSearchDecoder: expected initial_state rows = batch size * beam_width = 4 * 2 = 8, got shape (4, 6); tile the encoder state with tile_batch(state, beam_width)",
    ),
    Case(
        "beam-width",
        "rk.seq2seq.BeamSearchDecoder",
        "beam_width",
        "0",
        lambda: S.BeamSearchDecoder(
            rk.BasicLSTMCell(H), emb(), [0] * B, 1, rk.BasicLSTMCell(H).zero_state(B), 0
        ),
        ValueError,
        "BeamSearchDecoder: expected beam_width to be a positive int, got 0",
    ),
    Case(
        "beam-end-token",
        "rk.seq2seq.BeamSearchDecoder",
        "end_token",
        "outside the vocabulary",
        lambda: beam_decoder(end_token=-1),
        ValueError,
        "BeamSearchDecoder: expected end_token inside the vocabulary [0, 8), got -1",
    ),
    Case(
        "beam-end-token-logits",
        "rk.seq2seq.BeamSearchDecoder",
        "end_token",
        "outside the logits' vocabulary",
        lambda: S.dynamic_decode(
            S.BeamSearchDecoder(
                rk.BasicLSTMCell(H),
                lambda ids: torch.zeros(*ids.shape, E),
                [0] * B,
                H + 2,
                rk.BasicLSTMCell(H).zero_state(B * 2),
                2,
            ),
            maximum_iterations=2,
        ),
        ValueError,
        "BeamSearchDecoder: expected end_token inside the logits' vocabulary [0, 6), got 8",
    ),
    Case(
        "beam-coverage-no-attention",
        "rk.seq2seq.BeamSearchDecoder",
        "coverage_penalty_weight",
        "without an AttentionWrapper",
        lambda: beam_decoder(coverage_penalty_weight=0.5).initialize(),
        ValueError,
        "BeamSearchDecoder: expected an AttentionWrapper cell with coverage_penalty_weight != 0, got BasicLSTMCell",
    ),
    Case(
        "dynamic-decode-decoder",
        "rk.seq2seq.dynamic_decode",
        "decoder",
        "a cell",
        lambda: S.dynamic_decode(rk.BasicLSTMCell(H)),
        TypeError,
        "dynamic_decode: expected a Decoder, got BasicLSTMCell BasicLSTMCell(num_units=6, input_size=None, forget_bias=1...",
    ),
    Case(
        "dynamic-decode-max-iterations",
        "rk.seq2seq.dynamic_decode",
        "maximum_iterations",
        "-1",
        lambda: S.dynamic_decode(training_decoder(), maximum_iterations=-1),
        ValueError,
        "dynamic_decode: expected maximum_iterations to be an int >= 0, got int -1",
    ),
    Case(
        "dynamic-decode-impute-beam",
        "rk.seq2seq.dynamic_decode",
        "impute_finished",
        "True with beam search",
        lambda: S.dynamic_decode(beam_decoder(), impute_finished=True),
        ValueError,
        "dynamic_decode: expected impute_finished=False with BeamSearchDecoder (it reorders its beams and tracks "
        "their finished flags itself), got True",
    ),
    Case(
        "tile-batch-multiplier",
        "rk.seq2seq.tile_batch",
        "multiplier",
        "0",
        lambda: S.tile_batch(mem(), 0),
        ValueError,
        "tile_batch: expected multiplier to be a positive int, got 0",
    ),
    Case(
        "tile-batch-scalar",
        "rk.seq2seq.tile_batch",
        "t",
        "a scalar",
        lambda: S.tile_batch(torch.tensor(1.0), 2),
        ValueError,
        "tile_batch: expected tensors of rank >= 1 [B, ...], got a torch.float32 tensor of shape ()",
    ),
    Case(
        "gather-tree-parent",
        "rk.seq2seq.gather_tree",
        "parent_ids",
        "a parent >= beam",
        lambda: S.gather_tree(
            torch.zeros(T, B, 2, dtype=torch.long), torch.full((T, B, 2), 2), [T] * B, 1
        ),
        ValueError,
        "gather_tree: expected every parent id in [0, 2), got values outside",
    ),
    Case(
        "gather-tree-shapes",
        "rk.seq2seq.gather_tree",
        "parent_ids",
        "shape differs",
        lambda: S.gather_tree(
            torch.zeros(T, B, 2, dtype=torch.long),
            torch.zeros(T, B, 3, dtype=torch.long),
            [T] * B,
            1,
        ),
        ValueError,
        "gather_tree: expected parent_ids of step_ids' shape (5, 4, 2), got (5, 4, 3)",
    ),
    Case(
        "gather-tree-lengths",
        "rk.seq2seq.gather_tree",
        "max_sequence_lengths",
        "shape [7]",
        lambda: S.gather_tree(
            torch.zeros(T, B, 2, dtype=torch.long),
            torch.zeros(T, B, 2, dtype=torch.long),
            [T] * BAD,
            1,
        ),
        ValueError,
        "gather_tree: expected max_sequence_lengths of shape [B] = (4,), got (7,)",
    ),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
