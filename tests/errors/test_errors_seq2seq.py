"""Bad input -> one clear error, for ``rk.seq2seq``'s losses and ``Dense`` and for ``rk.legacy_seq2seq`` (STYLE.md rules 5
and 11); the attention and decoding cases are in the two sibling files, and this file checks and tabulates all three.

As in ``test_errors_core.py``: each case changes one thing in a correct baseline call (perturbed sizes are 7;
B=4, T=5, D=3, H=6, V=8, E=3) and is matched on its whole message; docs/errors.md carries the generated table.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit as rk
from tests._errors import Case, assert_in_doc, check, table
from tests.errors._seq2seq_baselines import (
    BAD,
    B,
    D,
    E,
    H,
    L,
    S,
    T,
    V,
    lists,
    mem,
    seq_loss,
    twice_with_other_heads,
)
from tests.errors.test_errors_seq2seq_attention import CASES as ATTENTION_CASES
from tests.errors.test_errors_seq2seq_decoding import CASES as DECODING_CASES

# fmt: off
CASES = [
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
# fmt: on
ALL_CASES = ATTENTION_CASES + DECODING_CASES + CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    ids = [c.id for c in ALL_CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("module", ["seq2seq", "legacy_seq2seq"])
def test_every_public_name_has_a_case(module):
    """A new public function or class of rk.seq2seq / rk.legacy_seq2seq fails here until it has a case."""
    covered = " ".join(c.function for c in ALL_CASES)
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
    assert not missing, (
        f"no bad-input case for {missing}: add them to tests/errors/test_errors_seq2seq.py"
    )


def seq2seq_table() -> str:
    """The table of the three seq2seq case lists that docs/errors.md carries (``tools/errors_table.py``)."""
    parts = [
        table(ATTENTION_CASES, "test_errors_seq2seq_attention.py"),
        table(DECODING_CASES, "test_errors_seq2seq_decoding.py"),
        table(CASES, "test_errors_seq2seq.py"),
    ]
    return parts[0] + "".join(p.split("\n", 2)[2] for p in parts[1:])


def test_errors_doc_is_in_sync():
    assert_in_doc(seq2seq_table())
