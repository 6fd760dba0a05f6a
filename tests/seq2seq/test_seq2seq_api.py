"""rk.seq2seq behaviour beyond the fixtures: TF names (a literal table), dynamic_rnn with an AttentionWrapper,
inference mode, helpers, tile_batch/gather_tree, output layers, alignment histories under beam search."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit as rk

S = rk.seq2seq
B, T, D, H = 2, 5, 4, 6


def memory(gen, batch=B):
    return torch.randn(batch, T, D, generator=gen)


def test_tf_names_table_nmt_layout(gen):
    """tensorflow/nmt's attention decoder: names as its checkpoints hold them (TF 1.15's scheme)."""
    mech = S.LuongAttention(H, memory(gen), [5, 3], scale=True)
    cells = rk.MultiRNNCell([rk.BasicLSTMCell(H), rk.BasicLSTMCell(H)])
    cell = S.AttentionWrapper(
        cells, mech, attention_layer_size=H, alignment_history=True, name="attention"
    )
    helper = S.TrainingHelper(torch.randn(B, 3, 3, generator=gen), [3, 2])
    proj = S.Dense(11, use_bias=False, name="output_projection")
    decoder = S.BasicDecoder(cell, helper, cell.zero_state(B), output_layer=proj)
    S.dynamic_decode(decoder)
    assert list(rk.tf_variables(decoder, scope="dynamic_seq2seq/decoder")) == [
        "dynamic_seq2seq/decoder/memory_layer/kernel",
        "dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
        "dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
        "dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_1/basic_lstm_cell/kernel",
        "dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_1/basic_lstm_cell/bias",
        "dynamic_seq2seq/decoder/attention/luong_attention/attention_g",
        "dynamic_seq2seq/decoder/attention/attention_layer/kernel",
        "dynamic_seq2seq/decoder/output_projection/kernel",
    ]


def test_tf_names_table_several_mechanisms(gen):
    m = memory(gen)
    mechs = [
        S.BahdanauAttention(5, m, normalize=True),
        S.LuongMonotonicAttention(H, m, scale=True),
        S.BahdanauAttention(3, m),
    ]
    cell = S.AttentionWrapper(rk.GRUCell(H), mechs, attention_layer_size=[2, 3, 4])
    rk.dynamic_rnn(cell, torch.randn(B, 3, 2, generator=gen), initial_state=cell.zero_state(B))
    w = "rnn/attention_wrapper/"
    assert list(rk.tf_variables(cell)) == [
        "rnn/memory_layer/kernel",
        "rnn/memory_layer_1/kernel",
        "rnn/memory_layer_2/kernel",
        f"{w}gru_cell/gates/kernel",
        f"{w}gru_cell/gates/bias",
        f"{w}gru_cell/candidate/kernel",
        f"{w}gru_cell/candidate/bias",
        f"{w}bahdanau_attention/query_layer/kernel",
        f"{w}bahdanau_attention/attention_v",
        f"{w}bahdanau_attention/attention_g",
        f"{w}bahdanau_attention/attention_b",
        f"{w}attention_layer/kernel",
        f"{w}luong_monotonic_attention/attention_g",
        f"{w}luong_monotonic_attention/attention_score_bias",
        f"{w}attention_layer_1/kernel",
        f"{w}bahdanau_attention_1/query_layer/kernel",
        f"{w}bahdanau_attention_1/attention_v",
        f"{w}attention_layer_2/kernel",
    ]
    shapes = {k: tuple(v.shape) for k, v in rk.tf_variables(cell).items()}
    assert shapes["rnn/memory_layer/kernel"] == (D, 5)
    assert shapes[f"{w}attention_layer_1/kernel"] == (H + D, 3)
    assert shapes[f"{w}bahdanau_attention_1/query_layer/kernel"] == (H, 3)


def test_attention_wrapper_in_dynamic_rnn_with_lengths(gen):
    """Rows past their length keep their state (the step counter and the histories pass through, as in TF)."""
    mech = S.BahdanauAttention(5, memory(gen), [5, 2])
    cell = S.AttentionWrapper(
        rk.BasicLSTMCell(H), mech, attention_layer_size=3, alignment_history=True
    )
    x = torch.randn(B, 4, 2, generator=gen)
    outputs, state = rk.dynamic_rnn(
        cell, x, sequence_length=[4, 2], initial_state=cell.zero_state(B)
    )
    assert outputs.shape == (B, 4, 3)
    assert torch.equal(outputs[1, 2:], torch.zeros(2, 3))
    step_state = cell.zero_state(B)
    for t in range(2):
        _, step_state = cell(x[:, t], step_state)
    torch.testing.assert_close(state.cell_state.h[1], step_state.cell_state.h[1])
    torch.testing.assert_close(state.attention[1], step_state.attention[1])
    assert int(state.time) == 4
    assert state.alignment_history.stack().shape == (4, B, T)


def test_decoding_under_inference_mode_records_nothing(gen):
    mech = S.LuongAttention(H, memory(gen))
    cell = S.AttentionWrapper(rk.BasicLSTMCell(H), mech, attention_layer_size=H)
    emb = torch.randn(9, 3, generator=gen)
    dec = S.BasicDecoder(
        cell, S.GreedyEmbeddingHelper(emb, [1, 1], 2), cell.zero_state(B), S.Dense(9)
    )
    S.dynamic_decode(dec, maximum_iterations=2)  # build
    mech.setup_memory(memory(gen))
    with torch.inference_mode():
        out, _, _ = S.dynamic_decode(dec, maximum_iterations=4)
    assert not out.rnn_output.requires_grad and out.rnn_output.is_inference()


def test_nn_linear_as_output_layer(gen):
    cell = rk.BasicRNNCell(H)
    helper = S.TrainingHelper(torch.randn(B, 3, 2, generator=gen), [3, 3])
    layer = nn.Linear(H, 5)
    dec = S.BasicDecoder(cell, helper, cell.zero_state(B), output_layer=layer)
    out, _, _ = S.dynamic_decode(dec)
    assert out.rnn_output.shape == (B, 3, 5) and dec.output_size.rnn_output == 5
    assert list(rk.tf_variables(dec, "decoder")) == [
        "decoder/basic_rnn_cell/kernel",
        "decoder/basic_rnn_cell/bias",
    ]


def test_training_helper_matches_dynamic_rnn(gen):
    cell = rk.GRUCell(H, input_size=3)
    x = torch.randn(B, 4, 3, generator=gen)
    out, state, lengths = S.dynamic_decode(
        S.BasicDecoder(cell, S.TrainingHelper(x, [4, 2]), cell.zero_state(B)), impute_finished=True
    )
    ref, ref_state = rk.dynamic_rnn(cell, x, sequence_length=[4, 2])
    assert lengths.tolist() == [4, 2] and out.rnn_output.shape == (B, 4, H)
    torch.testing.assert_close(out.rnn_output, ref)
    torch.testing.assert_close(state, ref_state)


def test_scheduled_embedding_helper_extremes(gen):
    x = torch.randn(B, 4, 3, generator=gen)
    emb = torch.randn(5, 3, generator=gen)
    outputs = torch.randn(B, 5, generator=gen)
    never = S.ScheduledEmbeddingTrainingHelper(x, [4, 4], emb, 0.0, seed=1)
    ids = never.sample(0, outputs, None)
    assert ids.tolist() == [-1, -1]
    _, nxt, _ = never.next_inputs(0, outputs, None, ids)
    torch.testing.assert_close(nxt, x[:, 1])
    always = S.ScheduledEmbeddingTrainingHelper(x, [4, 4], emb, 1.0, seed=1)
    ids = always.sample(0, outputs, None)
    assert ((ids >= 0) & (ids < 5)).all()
    _, nxt, _ = always.next_inputs(0, outputs, None, ids)
    torch.testing.assert_close(nxt, emb[ids.long()])


def test_scheduled_output_helper_feeds_outputs_with_auxiliary_inputs(gen):
    x = torch.randn(B, 4, 3, generator=gen)
    aux = torch.randn(B, 4, 2, generator=gen)
    helper = S.ScheduledOutputTrainingHelper(x, [4, 4], 1.0, auxiliary_inputs=aux, seed=0)
    _, first = helper.initialize()
    torch.testing.assert_close(first, torch.cat([x[:, 0], aux[:, 0]], -1))
    outputs = torch.randn(B, 3, generator=gen)
    ids = helper.sample(0, outputs, None)
    assert ids.dtype == torch.bool and ids.all()
    _, nxt, _ = helper.next_inputs(0, outputs, None, ids)
    torch.testing.assert_close(nxt, torch.cat([outputs, aux[:, 1]], -1))


def test_tile_batch_repeats_rows_in_place():
    t = torch.arange(6.0).reshape(3, 2)
    assert S.tile_batch(t, 2)[:, 0].tolist() == [0, 0, 2, 2, 4, 4]
    nested = S.tile_batch(rk.LSTMStateTuple(t, t + 1), 3)
    assert nested.h.shape == (9, 2) and nested.h[3, 0] == 3


def test_gather_tree_follows_parents_and_pads_with_end_token():
    # [T=3, B=1, beam=2]: beam 0 at t=2 came from beam 1 at t=1, which came from beam 0 at t=0
    step_ids = torch.tensor([[[1, 2]], [[3, 4]], [[5, 6]]])
    parents = torch.tensor([[[0, 0]], [[0, 0]], [[1, 0]]])
    got = S.gather_tree(step_ids, parents, [3], 9)
    assert got[:, 0, 0].tolist() == [1, 4, 5]
    assert got[:, 0, 1].tolist() == [1, 3, 6]
    short = S.gather_tree(step_ids, parents, [2], 9)
    assert short[:, 0, 0].tolist() == [1, 3, 9]
    ended = S.gather_tree(torch.tensor([[[9, 2]], [[3, 4]], [[5, 6]]]), parents, [3], 9)
    assert ended[:, 0, 1].tolist() == [9, 9, 9]  # after the first end token: end tokens


def test_beam_search_reorders_alignment_history(gen):
    beam = 3
    m = memory(gen)
    mech = S.LuongAttention(H, S.tile_batch(m, beam), scale=True)
    cell = S.AttentionWrapper(
        rk.BasicLSTMCell(H), mech, attention_layer_size=H, alignment_history=True
    )
    emb = torch.randn(7, 3, generator=gen)
    dec = S.BeamSearchDecoder(
        cell, emb, [1, 1], 2, cell.zero_state(B * beam), beam, output_layer=S.Dense(7)
    )
    out, final, lengths = S.dynamic_decode(dec, maximum_iterations=5)
    steps = out.predicted_ids.shape[1]
    history = final.cell_state.alignment_history
    assert isinstance(history, torch.Tensor) and history.shape == (steps, B * beam, T)
    assert lengths.shape == (B, beam) and out.predicted_ids.shape == (B, steps, beam)
    torch.testing.assert_close(history.sum(-1), torch.ones(steps, B * beam))


@pytest.mark.parametrize("time_major", [False, True])
def test_dynamic_decode_zero_iterations(gen, time_major):
    cell = rk.BasicRNNCell(H)
    dec = S.BasicDecoder(
        cell, S.TrainingHelper(torch.randn(B, 3, 2, generator=gen), [3, 3]), cell.zero_state(B)
    )
    out, _, lengths = S.dynamic_decode(dec, maximum_iterations=0, output_time_major=time_major)
    assert lengths.tolist() == [0, 0]
    assert out.rnn_output.shape == ((0, B, H) if time_major else (B, 0, H))


def _decoder_with(helper, gen, vocab=6):
    torch.manual_seed(0)
    cell = rk.GRUCell(H, input_size=3)
    return S.BasicDecoder(
        cell, helper, cell.zero_state(B), output_layer=S.Dense(vocab, input_size=H)
    )


def test_custom_helper_reproduces_the_training_helper(gen):
    x = torch.randn(B, 4, 3, generator=gen)
    lengths = torch.tensor([4, 2])
    ref_helper = S.TrainingHelper(x, lengths)

    def initialize():
        return lengths <= 0, x[:, 0]

    def next_inputs(time, outputs, state, sample_ids):
        finished = lengths <= time + 1
        return finished, x[:, min(time + 1, 3)], state

    custom = S.CustomHelper(
        initialize, lambda time, outputs, state: outputs.argmax(-1), next_inputs
    )
    want, _, want_len = S.dynamic_decode(_decoder_with(ref_helper, gen))
    got, _, got_len = S.dynamic_decode(_decoder_with(custom, gen))
    assert got_len.tolist() == want_len.tolist() == [4, 2]
    torch.testing.assert_close(got.rnn_output, want.rnn_output)


def test_inference_helper_feeds_back_samples(gen):
    start = torch.randn(B, 3, generator=gen)
    helper = S.InferenceHelper(
        sample_fn=lambda outputs: torch.tanh(outputs[:, :3]),
        sample_shape=(3,),
        sample_dtype=torch.float32,
        start_inputs=start,
        end_fn=lambda sample_ids: sample_ids[:, 0] > 0.9,
    )
    out, _, lengths = S.dynamic_decode(_decoder_with(helper, gen), maximum_iterations=6)
    assert out.sample_id.shape[:2] == out.rnn_output.shape[:2] and out.sample_id.shape[2] == 3
    # every step fed back the previous sample: re-run the cell by hand
    dec = _decoder_with(helper, gen)
    state, inputs = dec.initial_state, start
    for t in range(out.rnn_output.shape[1]):
        cell_out, state = dec.cell(inputs, state)
        logits = dec.output_layer(cell_out)
        torch.testing.assert_close(logits[lengths > t], out.rnn_output[:, t][lengths > t])
        inputs = torch.tanh(logits[:, :3])


def test_sample_embedding_helper_at_low_temperature_is_greedy(gen):
    emb = torch.randn(6, 3, generator=gen)
    greedy, _, _ = S.dynamic_decode(
        _decoder_with(S.GreedyEmbeddingHelper(emb, [1, 1], 0), gen), maximum_iterations=5
    )
    cold = S.SampleEmbeddingHelper(emb, [1, 1], 0, softmax_temperature=1e-4, seed=3)
    sampled, _, _ = S.dynamic_decode(_decoder_with(cold, gen), maximum_iterations=5)
    assert sampled.sample_id.tolist() == greedy.sample_id.tolist()


def test_monotonic_noise_is_seeded(gen):
    m = memory(gen)
    q = torch.randn(B, H, generator=gen)
    outs = []
    for _ in range(2):
        torch.manual_seed(0)
        mech = S.LuongMonotonicAttention(H, m, sigmoid_noise=1.0, sigmoid_noise_seed=7)
        outs.append(mech(q, mech.initial_alignments(B))[0])
    torch.testing.assert_close(outs[0], outs[1])
    torch.manual_seed(0)
    quiet = S.LuongMonotonicAttention(H, m)
    assert not torch.allclose(quiet(q, quiet.initial_alignments(B))[0], outs[0])


def test_hardmax_picks_the_first_maximum():
    got = S.hardmax(torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]))
    assert got.tolist() == [[0, 1, 0], [1, 0, 0]]
