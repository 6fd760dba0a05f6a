"""Bad input -> one clear error, for ``rk.seq2seq`` and ``rk.legacy_seq2seq`` (STYLE.md rules 5 and 11).

As in ``test_errors_core.py``: each case changes one thing in a correct baseline call (perturbed sizes are 7;
B=4, T=5, D=3, H=6, V=8, E=3) and is matched on its whole message; docs/errors.md carries the generated table.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit as rk
from tests._errors import Case, assert_in_doc, check, table

S = rk.seq2seq
L = rk.legacy_seq2seq
B, T, D, H, V, E, BAD = 4, 5, 3, 6, 8, 3, 7


def mem(*shape):
    return torch.zeros(*(shape or (B, T, D)))


def luong(**kw):
    return S.LuongAttention(H, mem(), **kw)


def wrapper(**kw):
    return S.AttentionWrapper(rk.BasicLSTMCell(H), luong(), **kw)


def emb():
    return torch.zeros(V, E)


def beam_decoder(state_rows=B * 2, end_token=1, **kw):
    cell = rk.BasicLSTMCell(H)
    state = cell.zero_state(state_rows)
    return S.BeamSearchDecoder(cell, emb(), [0] * B, end_token, state, 2, **kw)


def training_decoder(state_batch=B):
    cell = rk.BasicLSTMCell(H)
    helper = S.TrainingHelper(mem(B, T, E), [T] * B)
    return S.BasicDecoder(cell, helper, cell.zero_state(state_batch))


def seq_loss(logits=None, targets=None, weights=None, **kw):
    return S.sequence_loss(
        mem(B, T, V) if logits is None else logits,
        torch.zeros(B, T, dtype=torch.long) if targets is None else targets,
        torch.ones(B, T) if weights is None else weights,
        **kw,
    )


def lists(n=T, v=V):
    return (
        [torch.zeros(B, v) for _ in range(n)],
        [torch.zeros(B, dtype=torch.long) for _ in range(n)],
        [torch.ones(B) for _ in range(n)],
    )


def twice_with_other_heads():
    cell = rk.GRUCell(H)
    x = [torch.zeros(B, D)]
    L.attention_decoder(x, torch.zeros(B, H), mem(), cell, num_heads=1)
    L.attention_decoder(x, torch.zeros(B, H), mem(), cell, num_heads=2)


CASES = [
    Case(
        "luong-memory-rank",
        "rk.seq2seq.LuongAttention",
        "memory",
        "rank 2",
        lambda: S.LuongAttention(H, mem(B, T)),
        ValueError,
        "LuongAttention.setup_memory: expected memory to be a [B, T, D] tensor, got a torch.float32 tensor of shape (4, 5)",
    ),
    Case(
        "luong-memory-int",
        "rk.seq2seq.LuongAttention",
        "memory",
        "integer tensor",
        lambda: S.LuongAttention(H, torch.zeros(B, T, D, dtype=torch.long)),
        TypeError,
        "LuongAttention.setup_memory: expected floating-point memory, got torch.int64",
    ),
    Case(
        "luong-lengths-shape",
        "rk.seq2seq.LuongAttention",
        "memory_sequence_length",
        "shape [7]",
        lambda: luong(memory_sequence_length=[T] * BAD),
        ValueError,
        "LuongAttention.setup_memory: expected memory_sequence_length of shape [B] = (4,), got shape (7,)",
    ),
    Case(
        "luong-lengths-zero",
        "rk.seq2seq.LuongAttention",
        "memory_sequence_length",
        "a 0 entry",
        lambda: luong(memory_sequence_length=[T, T, 0, T]),
        ValueError,
        "LuongAttention.setup_memory: expected memory_sequence_length >= 1 in every row, got a minimum of 0",
    ),
    Case(
        "luong-lengths-long",
        "rk.seq2seq.LuongAttention",
        "memory_sequence_length",
        "an entry > T",
        lambda: luong(memory_sequence_length=[T, T, BAD, T]),
        ValueError,
        "LuongAttention.setup_memory: expected memory_sequence_length <= the number of time steps (5), got 7",
    ),
    Case(
        "luong-lengths-no-memory",
        "rk.seq2seq.LuongAttention",
        "memory_sequence_length",
        "given without memory",
        lambda: S.LuongAttention(H, memory_sequence_length=[T] * B),
        ValueError,
        "LuongAttention: expected memory together with memory_sequence_length, got memory=None",
    ),
    Case(
        "luong-probability-name",
        "rk.seq2seq.LuongAttention",
        "probability_fn",
        "unknown name",
        lambda: luong(probability_fn="sparsemax"),
        ValueError,
        "LuongAttention: expected probability_fn to be a callable or one of ['hardmax', 'softmax'], got 'sparsemax'",
    ),
    Case(
        "bahdanau-probability-type",
        "rk.seq2seq.BahdanauAttention",
        "probability_fn",
        "not callable",
        lambda: S.BahdanauAttention(H, mem(), probability_fn=3),
        TypeError,
        "BahdanauAttention: expected probability_fn to be callable, got int 3",
    ),
    Case(
        "luong-num-units",
        "rk.seq2seq.LuongAttention",
        "num_units",
        "0",
        lambda: S.LuongAttention(0, mem()),
        ValueError,
        "LuongAttention: expected num_units to be a positive int, got 0",
    ),
    Case(
        "luong-query-depth",
        "rk.seq2seq.LuongAttention",
        "query",
        "depth != num_units",
        lambda: luong()(torch.zeros(B, BAD), torch.zeros(B, T)),
        ValueError,
        "LuongAttention: expected a query of depth num_units=6 (Luong attention compares it with the keys), got shape (4, 7)",
    ),
    Case(
        "luong-query-batch",
        "rk.seq2seq.LuongAttention",
        "query",
        "batch != memory's",
        lambda: luong()(torch.zeros(BAD, H), torch.zeros(B, T)),
        ValueError,
        "LuongAttention: expected a query of batch size 4 (the memory's), got shape (7, 6); with beam search, tile the memory with tile_batch",
    ),
    Case(
        "luong-state-shape",
        "rk.seq2seq.LuongAttention",
        "state",
        "shape [B, 7]",
        lambda: luong()(torch.zeros(B, H), torch.zeros(B, BAD)),
        ValueError,
        "LuongAttention: expected a previous state [B, T] = (4, 5), got a torch.float32 tensor of shape (4, 7)",
    ),
    Case(
        "mechanism-no-memory",
        "rk.seq2seq.LuongAttention",
        "memory",
        "never set up",
        lambda: S.LuongAttention(H).values,
        ValueError,
        "LuongAttention: expected a memory, got none; pass memory= or call setup_memory()",
    ),
    Case(
        "monotonic-mode",
        "rk.seq2seq.LuongMonotonicAttention",
        "mode",
        "unknown",
        lambda: S.LuongMonotonicAttention(H, mem(), mode="soft"),
        ValueError,
        "LuongMonotonicAttention: expected mode to be one of ['recursive', 'parallel', 'hard'], got 'soft'",
    ),
    Case(
        "bahdanau-monotonic-mode",
        "rk.seq2seq.BahdanauMonotonicAttention",
        "mode",
        "unknown",
        lambda: S.BahdanauMonotonicAttention(H, mem(), mode="soft"),
        ValueError,
        "BahdanauMonotonicAttention: expected mode to be one of ['recursive', 'parallel', 'hard'], got 'soft'",
    ),
    Case(
        "monotonic-attention-mode",
        "rk.seq2seq.monotonic_attention",
        "mode",
        "unknown",
        lambda: S.monotonic_attention(torch.zeros(B, T), torch.zeros(B, T), "soft"),
        ValueError,
        "monotonic_attention: expected mode to be one of ['recursive', 'parallel', 'hard'], got 'soft'",
    ),
    Case(
        "monotonic-attention-shapes",
        "rk.seq2seq.monotonic_attention",
        "previous_attention",
        "shape differs",
        lambda: S.monotonic_attention(torch.zeros(B, T), torch.zeros(B, BAD), "parallel"),
        ValueError,
        "monotonic_attention: expected p_choose_i and previous_attention of one shape, got (4, 5) and (4, 7)",
    ),
    Case(
        "safe-cumprod-int",
        "rk.seq2seq.safe_cumprod",
        "x",
        "integer tensor",
        lambda: S.safe_cumprod(torch.zeros(B, T, dtype=torch.long)),
        TypeError,
        "safe_cumprod: expected a floating-point tensor, got a torch.int64 tensor of shape (4, 5)",
    ),
    Case(
        "hardmax-list",
        "rk.seq2seq.hardmax",
        "logits",
        "a list",
        lambda: S.hardmax([1.0, 2.0]),
        TypeError,
        "hardmax: expected a tensor [..., N], got a list of length 2",
    ),
    Case(
        "wrapper-cell",
        "rk.seq2seq.AttentionWrapper",
        "cell",
        "nn.Linear",
        lambda: S.AttentionWrapper(nn.Linear(2, 2), luong()),
        TypeError,
        "AttentionWrapper: expected cell to be an rnnkit RNNCell, got Linear Linear(in_features=2, out_features=2, bias=True)",
    ),
    Case(
        "wrapper-mechanism",
        "rk.seq2seq.AttentionWrapper",
        "attention_mechanism",
        "a str",
        lambda: S.AttentionWrapper(rk.BasicLSTMCell(H), "luong"),
        TypeError,
        "AttentionWrapper: expected attention_mechanism to be an AttentionMechanism or a non-empty list of them, got str 'luong'",
    ),
    Case(
        "wrapper-layer-sizes",
        "rk.seq2seq.AttentionWrapper",
        "attention_layer_size",
        "2 sizes, 1 mechanism",
        lambda: wrapper(attention_layer_size=[H, H]),
        ValueError,
        "AttentionWrapper: expected one attention_layer_size per attention mechanism (1), got 2",
    ),
    Case(
        "wrapper-layer-size-value",
        "rk.seq2seq.AttentionWrapper",
        "attention_layer_size",
        "0",
        lambda: wrapper(attention_layer_size=0),
        ValueError,
        "AttentionWrapper: expected positive int attention_layer_size values, got [0]",
    ),
    Case(
        "wrapper-size-and-layer",
        "rk.seq2seq.AttentionWrapper",
        "attention_layer",
        "with attention_layer_size",
        lambda: wrapper(attention_layer_size=H, attention_layer=nn.Linear(H + D, H)),
        ValueError,
        "AttentionWrapper: expected only one of attention_layer_size and attention_layer, got both",
    ),
    Case(
        "wrapper-layer-no-size",
        "rk.seq2seq.AttentionWrapper",
        "attention_layer",
        "no units/out_features",
        lambda: wrapper(attention_layer=nn.Tanh()),
        TypeError,
        "AttentionWrapper: expected attention_layer modules with an int `units` or `out_features` (Dense, nn.Linear), got Tanh Tanh()",
    ),
    Case(
        "wrapper-cell-input-fn",
        "rk.seq2seq.AttentionWrapper",
        "cell_input_fn",
        "not callable",
        lambda: wrapper(cell_input_fn=3),
        TypeError,
        "AttentionWrapper: expected cell_input_fn to be callable, got int 3",
    ),
    Case(
        "wrapper-zero-state-batch",
        "rk.seq2seq.AttentionWrapper.zero_state",
        "batch_size",
        "!= memory's",
        lambda: wrapper().zero_state(BAD),
        ValueError,
        "AttentionWrapper: expected zero_state's batch_size to equal the memory's batch size 4, got 7; with BeamSearchDecoder tile the memory and the encoder state with tile_batch(..., beam_width) and use batch_size * beam_width",
    ),
    Case(
        "wrapper-initial-cell-state",
        "rk.seq2seq.AttentionWrapper",
        "initial_cell_state",
        "batch 7",
        lambda: wrapper(initial_cell_state=rk.BasicLSTMCell(H).zero_state(BAD)),
        ValueError,
        "AttentionWrapper: expected initial_cell_state's batch size to equal the memory's batch size 4, got 7; with BeamSearchDecoder tile the memory and the encoder state with tile_batch(..., beam_width) and use batch_size * beam_width",
    ),
    Case(
        "wrapper-state-type",
        "rk.seq2seq.AttentionWrapper",
        "state",
        "a plain tuple",
        lambda: wrapper()(torch.zeros(B, E), (torch.zeros(B, H),)),
        TypeError,
        "AttentionWrapper: expected state to be an AttentionWrapperState, got a tuple of length 1",
    ),
    Case(
        "state-clone-shape",
        "rk.seq2seq.AttentionWrapperState.clone",
        "attention",
        "batch 7",
        lambda: wrapper().zero_state(B).clone(attention=torch.zeros(BAD, D)),
        ValueError,
        "AttentionWrapperState.clone: expected a tensor of shape (4, 3) (the field it replaces), got shape (7, 3)",
    ),
    Case(
        "state-clone-structure",
        "rk.seq2seq.AttentionWrapperState.clone",
        "cell_state",
        "one tensor for an LSTM state",
        lambda: wrapper().zero_state(B).clone(cell_state=torch.zeros(B, H)),
        ValueError,
        "AttentionWrapperState.clone: expected a structure like LSTMStateTuple(leaf, leaf), got leaf (field cell_state)",
    ),
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
    Case(
        "sequence-loss-logits-rank",
        "rk.seq2seq.sequence_loss",
        "logits",
        "rank 2",
        lambda: seq_loss(logits=torch.zeros(B, V)),
        ValueError,
        "sequence_loss: expected logits of rank 3 [B, T, V], got shape (4, 8)",
    ),
    Case(
        "sequence-loss-targets-shape",
        "rk.seq2seq.sequence_loss",
        "targets",
        "shape [B, 7]",
        lambda: seq_loss(targets=torch.zeros(B, BAD, dtype=torch.long)),
        ValueError,
        "sequence_loss: expected targets and weights of shape [B, T] = (4, 5) (the logits'), got (4, 7) and (4, 5)",
    ),
    Case(
        "sequence-loss-targets-float",
        "rk.seq2seq.sequence_loss",
        "targets",
        "float",
        lambda: seq_loss(targets=torch.zeros(B, T)),
        TypeError,
        "sequence_loss: expected integer targets, got torch.float32",
    ),
    Case(
        "sequence-loss-targets-range",
        "rk.seq2seq.sequence_loss",
        "targets",
        "an id >= V",
        lambda: seq_loss(targets=torch.full((B, T), V)),
        ValueError,
        "sequence_loss: expected targets in [0, 8) (the logits' classes), got values in [8, 8]",
    ),
    Case(
        "sequence-loss-flags",
        "rk.seq2seq.sequence_loss",
        "sum_over_timesteps",
        "with average_across_timesteps",
        lambda: seq_loss(sum_over_timesteps=True),
        ValueError,
        "sequence_loss: expected at most one of average_across_timesteps and sum_over_timesteps, got both True",
    ),
    Case(
        "dense-units",
        "rk.seq2seq.Dense",
        "units",
        "0",
        lambda: S.Dense(0),
        ValueError,
        "Dense: expected units to be a positive int, got 0",
    ),
    Case(
        "dense-depth",
        "rk.seq2seq.Dense",
        "inputs",
        "depth 7 for a layer built for 3",
        lambda: S.Dense(V, input_size=D)(torch.zeros(B, BAD)),
        ValueError,
        "Dense: expected inputs of depth 3 (layer 'dense'), got shape (4, 7)",
    ),
    Case(
        "legacy-loss-lengths",
        "rk.legacy_seq2seq.sequence_loss_by_example",
        "weights",
        "a list one shorter",
        lambda: L.sequence_loss_by_example(lists()[0], lists()[1], lists(T - 1)[2]),
        ValueError,
        "sequence_loss_by_example: expected logits, targets and weights lists of one length, got 5, 5, 4",
    ),
    Case(
        "legacy-loss-not-lists",
        "rk.legacy_seq2seq.sequence_loss_by_example",
        "logits",
        "a tensor, not a list",
        lambda: L.sequence_loss_by_example(mem(T, B, V), lists()[1], lists()[2]),
        TypeError,
        "sequence_loss_by_example: expected logits to be a list over time steps (TF1's legacy API), got a torch.float32 tensor of shape (5, 4, 8)",
    ),
    Case(
        "legacy-loss-target-range",
        "rk.legacy_seq2seq.sequence_loss",
        "targets",
        "an id >= V",
        lambda: L.sequence_loss(lists()[0], [torch.full((B,), V)] * T, lists()[2]),
        ValueError,
        "sequence_loss_by_example: expected targets in [0, 8) (the logits' classes), got values in [8, 8]",
    ),
    Case(
        "rnn-decoder-empty",
        "rk.legacy_seq2seq.rnn_decoder",
        "decoder_inputs",
        "an empty list",
        lambda: L.rnn_decoder([], torch.zeros(B, H), rk.GRUCell(H)),
        ValueError,
        "rnn_decoder: expected at least one decoder input, got an empty list",
    ),
    Case(
        "rnn-decoder-loop",
        "rk.legacy_seq2seq.rnn_decoder",
        "loop_function",
        "not callable",
        lambda: L.rnn_decoder(
            [torch.zeros(B, D)], torch.zeros(B, H), rk.GRUCell(H), loop_function=3
        ),
        TypeError,
        "rnn_decoder: expected loop_function to be callable, got int 3",
    ),
    Case(
        "attention-decoder-heads",
        "rk.legacy_seq2seq.attention_decoder",
        "num_heads",
        "0",
        lambda: L.attention_decoder(
            [torch.zeros(B, D)], torch.zeros(B, H), mem(), rk.GRUCell(H), num_heads=0
        ),
        ValueError,
        "attention_decoder: expected num_heads >= 1 (use rnn_decoder without attention), got 0",
    ),
    Case(
        "attention-decoder-states",
        "rk.legacy_seq2seq.attention_decoder",
        "attention_states",
        "rank 2",
        lambda: L.attention_decoder(
            [torch.zeros(B, D)], torch.zeros(B, H), mem(B, T), rk.GRUCell(H)
        ),
        ValueError,
        "attention_decoder: expected attention_states [B, L, A], got a torch.float32 tensor of shape (4, 5)",
    ),
    Case(
        "attention-decoder-reuse",
        "rk.legacy_seq2seq.attention_decoder",
        "num_heads",
        "changed on a second call",
        twice_with_other_heads,
        ValueError,
        "attention_decoder: expected the settings of the first call under scope 'attention_decoder' with this cell (None, 1, False), got (None, 2, False)",
    ),
    Case(
        "embedding-seq2seq-ids",
        "rk.legacy_seq2seq.embedding_rnn_seq2seq",
        "encoder_inputs",
        "an id >= num_encoder_symbols",
        lambda: L.embedding_rnn_seq2seq(
            [torch.full((B,), V)], [torch.zeros(B, dtype=torch.long)], rk.GRUCell(H), V, V, E
        ),
        ValueError,
        "embedding_rnn_seq2seq: expected encoder_inputs in [0, 8), got values in [8, 8]",
    ),
    Case(
        "embedding-attention-cell",
        "rk.legacy_seq2seq.embedding_attention_seq2seq",
        "cell",
        "nn.GRUCell",
        lambda: L.embedding_attention_seq2seq(
            [torch.zeros(B, dtype=torch.long)],
            [torch.zeros(B, dtype=torch.long)],
            nn.GRUCell(D, H),
            V,
            V,
            E,
        ),
        TypeError,
        "embedding_attention_seq2seq: expected cell to be an rnnkit RNNCell, got GRUCell GRUCell(3, 6)",
    ),
    Case(
        "model-for-missing",
        "rk.legacy_seq2seq.model_for",
        "scope",
        "never used with this cell",
        lambda: L.model_for(rk.GRUCell(H), "attention_decoder"),
        ValueError,
        "model_for: expected a legacy_seq2seq call with this cell under scope 'attention_decoder', got none",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("module", ["seq2seq", "legacy_seq2seq"])
def test_every_public_name_has_a_case(module):
    """A new public function or class of rk.seq2seq / rk.legacy_seq2seq fails here until it has a case."""
    covered = " ".join(c.function for c in CASES)
    exempt = {  # data types and bases without arguments of their own
        "AttentionMechanism",
        "AttentionWrapperState",
        "AlignmentHistory",
        "Decoder",
        "BasicDecoderOutput",
        "BeamSearchDecoderOutput",
        "BeamSearchDecoderState",
        "FinalBeamSearchDecoderOutput",
        "Helper",
        "gather_tree_from_array",
        "AttentionDecoder",
        "EmbeddingRNNSeq2Seq",
        "EmbeddingAttentionSeq2Seq",
    }
    names = getattr(rk, module).__all__
    missing = [n for n in names if n not in exempt and f"rk.{module}.{n}" not in covered]
    assert not missing, f"no bad-input case for {missing}: add them to tests/test_errors_seq2seq.py"


def seq2seq_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_seq2seq.py")


def test_errors_doc_is_in_sync():
    assert_in_doc(seq2seq_table())
