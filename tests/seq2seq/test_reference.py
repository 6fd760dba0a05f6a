"""rk.seq2seq against an independent float64 NumPy restatement (plain loops, random non-symmetric weights):
attention (Luong scaled, Bahdanau normalised, masking, score_mask_value, monotonic modes), the AttentionWrapper
step, greedy decoding and beam search with a length penalty, hypothesis by hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk

S = rk.seq2seq
B, T, D, H, U, V, E = 3, 6, 4, 5, 5, 7, 3
LENGTHS = [6, 4, 2]


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def randomise(*modules, seed=0):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for m in modules:
            for p in m.parameters():
                p.copy_(torch.from_numpy(rng.uniform(-1, 1, tuple(p.shape))))


def np_params(module):
    return {n: p.detach().numpy().copy() for n, p in rk.tf_variables(module, scope=None).items()}


# ----------------------------------------------------------------------------------------- mechanisms
def np_score(kind, w, query, memory, lengths, mask_value):
    mask = np.arange(memory.shape[1])[None, :] < np.asarray(lengths)[:, None]
    values = memory * mask[..., None]
    keys = values @ w["memory_layer/kernel"]
    scores = np.zeros(memory.shape[:2])
    for b in range(memory.shape[0]):
        for t in range(memory.shape[1]):
            if kind == "luong":
                scores[b, t] = w["luong_attention/attention_g"] * float(query[b] @ keys[b, t])
            else:
                v, g, bias = (w[f"bahdanau_attention/attention_{n}"] for n in "vgb")
                pq = query[b] @ w["bahdanau_attention/query_layer/kernel"]
                normed = g * v / np.sqrt((v**2).sum())
                scores[b, t] = float(normed @ np.tanh(keys[b, t] + pq + bias))
    return np.where(mask, scores, mask_value), values


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
@pytest.mark.parametrize("mask_value", [None, -3.0])
def test_mechanism_against_numpy(kind, mask_value, gen):
    memory = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
    units = D if kind == "luong" else U
    if kind == "luong":
        m = S.LuongAttention(units, memory, LENGTHS, scale=True, score_mask_value=mask_value)
    else:
        m = S.BahdanauAttention(units, memory, LENGTHS, normalize=True, score_mask_value=mask_value)
    query = torch.randn(B, units, generator=gen, dtype=torch.float64)
    m(query, m.initial_alignments(B))  # builds the query layer
    randomise(m)
    m.setup_memory(memory, LENGTHS)
    alignments, _ = m(query, m.initial_alignments(B))
    w = np_params(m)
    score, _ = np_score(
        kind,
        w,
        query.numpy(),
        memory.numpy(),
        LENGTHS,
        -np.inf if mask_value is None else mask_value,
    )
    np.testing.assert_allclose(alignments.detach().numpy(), softmax(score), rtol=1e-12, atol=1e-12)


def np_monotonic_exact(p, prev):
    """The defining recurrence, one entry at a time."""
    out = np.zeros_like(p)
    for b in range(p.shape[0]):
        q = 0.0
        for i in range(p.shape[1]):
            q = (1 - p[b, i - 1]) * q + prev[b, i] if i else prev[b, 0]
            out[b, i] = p[b, i] * q
    return out


@pytest.mark.parametrize("mode", ["recursive", "parallel"])
def test_monotonic_attention_against_the_recurrence(mode, gen):
    p = torch.rand(B, T, generator=gen, dtype=torch.float64) * 0.8 + 0.1
    prev = torch.softmax(torch.randn(B, T, generator=gen, dtype=torch.float64), 1)
    got = S.monotonic_attention(p, prev, mode).numpy()
    np.testing.assert_allclose(
        got, np_monotonic_exact(p.numpy(), prev.numpy()), rtol=1e-9, atol=1e-12
    )


def test_monotonic_hard_mode_picks_the_first_stop_after_the_previous_position():
    p = torch.tensor([[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    prev = torch.tensor([[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    got = S.monotonic_attention(p, prev, "hard").numpy()
    np.testing.assert_array_equal(got, [[0, 0, 0, 1], [1, 0, 0, 0]])


def test_safe_cumprod_is_the_cumulative_product(gen):
    x = torch.rand(B, T, generator=gen, dtype=torch.float64) + 0.01
    want = np.cumprod(x.numpy(), 1)
    np.testing.assert_allclose(S.safe_cumprod(x, axis=1).numpy(), want, rtol=1e-12)
    exclusive = np.concatenate([np.ones((B, 1)), want[:, :-1]], 1)
    np.testing.assert_allclose(
        S.safe_cumprod(x, axis=1, exclusive=True).numpy(), exclusive, rtol=1e-12
    )


# ----------------------------------------------------------------------------------------- the decoders
class NumpyModel:
    """BasicRNNCell + Luong(scale) attention + attention layer + output layer, step by step in NumPy."""

    def __init__(self, w, memory, lengths):
        self.w, self.memory, self.lengths = w, memory, lengths
        w = {k.removeprefix("decoder/"): v for k, v in w.items()}
        self.mem_k = w["memory_layer/kernel"]
        self.cell_k = w["attention_wrapper/basic_rnn_cell/kernel"]
        self.cell_b = w["attention_wrapper/basic_rnn_cell/bias"]
        self.g = w["attention_wrapper/luong_attention/attention_g"]
        self.att_k = w["attention_wrapper/attention_layer/kernel"]
        self.out_k, self.out_b = w["output_projection/kernel"], w["output_projection/bias"]

    def step(self, x, h, attention, row):
        """One row: input x [E], previous h [H], attention [A] -> (logits [V], h, attention)."""
        h = np.tanh(np.concatenate([x, attention, h]) @ self.cell_k + self.cell_b)
        n = self.lengths[row]
        values = self.memory[row, :n]
        keys = values @ self.mem_k
        align = softmax(self.g * (keys @ h))
        context = align @ values
        attention = np.concatenate([h, context]) @ self.att_k
        return attention @ self.out_k + self.out_b, h, attention


def build(beam=1, seed=3):
    g = torch.Generator().manual_seed(seed)
    memory = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    mech = S.LuongAttention(
        H, S.tile_batch(memory, beam), S.tile_batch(torch.tensor(LENGTHS), beam), scale=True
    )
    cell = S.AttentionWrapper(rk.BasicRNNCell(H), mech, attention_layer_size=4)
    proj = S.Dense(V, name="output_projection")
    embedding = torch.randn(V, E, generator=g, dtype=torch.float64)
    cell.cell.build(E + 4)
    proj.build(4, dtype=torch.float64)
    cell.attention_layers[0].build(H + D, dtype=torch.float64)
    cell.cell.to(torch.float64)
    randomise(cell, proj, seed=seed)
    mech.setup_memory(S.tile_batch(memory, beam), S.tile_batch(torch.tensor(LENGTHS), beam))
    return memory, mech, cell, proj, embedding


def test_greedy_decoding_against_numpy():
    memory, mech, cell, proj, embedding = build()
    with torch.no_grad():
        proj.bias[0] += 1.2  # some rows end before maximum_iterations
    helper = S.GreedyEmbeddingHelper(embedding, [1] * B, 0)
    decoder = S.BasicDecoder(cell, helper, cell.zero_state(B, torch.float64), output_layer=proj)
    with torch.inference_mode():
        out, _, lengths = S.dynamic_decode(decoder, maximum_iterations=8)
    w = np_params(decoder)
    ref = NumpyModel({f"decoder/{k}": v for k, v in w.items()}, memory.numpy(), LENGTHS)
    for b in range(B):
        x, h, att = embedding[1].numpy(), np.zeros(H), np.zeros(4)
        ids = []
        for _ in range(8):
            logits, h, att = ref.step(x, h, att, b)
            ids.append(int(logits.argmax()))
            x = embedding[ids[-1]].numpy()
            if ids[-1] == 0:
                break
        n = int(lengths[b])
        assert ids == out.sample_id[b, :n].tolist()
    assert sorted(lengths.tolist())[0] < 8  # the end token was met


def np_beam_search(ref, embedding, row, beam, end, alpha, steps):
    """TF 1.15's beam search for one batch row, hypothesis by hypothesis."""
    lowest = np.finfo(np.float64).min
    hyps = [
        dict(
            h=np.zeros(H),
            att=np.zeros(4),
            logp=0.0 if k == 0 else -np.inf,
            length=0,
            finished=k != 0,
            x=embedding[1],
        )
        for k in range(beam)
    ]
    history = []  # per step: (scores [beam], ids [beam], parents [beam])
    for _ in range(steps):
        cands = []
        for k, hyp in enumerate(hyps):
            logits, h, att = ref.step(hyp["x"], hyp["h"], hyp["att"], row)
            logp = logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
            if hyp["finished"]:
                logp = np.full(V, lowest)
                logp[end] = 0.0
            for tok in range(V):
                total = hyp["logp"] + logp[tok]
                length = hyp["length"] + (0 if hyp["finished"] or tok == end else 1)
                score = total / (((5.0 + length) / 6.0) ** alpha)
                cands.append((score, k * V + tok, k, tok, total, h, att))
        order = sorted(range(len(cands)), key=lambda i: (-cands[i][0], cands[i][1]))[:beam]
        new = []
        for i in order:
            score, _, k, tok, total, h, att = cands[i]
            parent = hyps[k]
            new.append(
                dict(
                    h=h,
                    att=att,
                    logp=total,
                    length=parent["length"] + (not parent["finished"]),
                    finished=parent["finished"] or tok == end,
                    x=embedding[tok],
                    tok=tok,
                    parent=k,
                    score=score,
                )
            )
        hyps = new
        history.append(
            ([n["score"] for n in new], [n["tok"] for n in new], [n["parent"] for n in new])
        )
        if all(n["finished"] for n in new):
            break
    return history, [n["length"] for n in hyps]


@pytest.mark.parametrize("alpha", [0.0, 0.8])
def test_beam_search_against_numpy(alpha):
    beam, end, steps = 3, 0, 7
    memory, mech, cell, proj, embedding = build(beam)
    state = cell.zero_state(B * beam, torch.float64)
    decoder = S.BeamSearchDecoder(
        cell, embedding, [1] * B, end, state, beam, output_layer=proj, length_penalty_weight=alpha
    )
    with torch.inference_mode():
        out, final, _ = S.dynamic_decode(decoder, maximum_iterations=steps)
    w = {f"decoder/{k}": v for k, v in np_params(decoder).items()}
    ref = NumpyModel(w, memory.numpy(), LENGTHS)
    bso = out.beam_search_decoder_output
    for b in range(B):
        history, lengths = np_beam_search(ref, embedding.numpy(), b, beam, end, alpha, steps)
        assert len(history) == bso.scores.shape[1]
        for t, (scores, ids, parents) in enumerate(history):
            assert bso.predicted_ids[b, t].tolist() == ids
            assert bso.parent_ids[b, t].tolist() == parents
            np.testing.assert_allclose(bso.scores[b, t].numpy(), scores, rtol=1e-10)
        assert final.lengths[b].tolist() == lengths
        # the traced beams: follow the parents back from the last step
        seqs = [[] for _ in range(beam)]
        for k in range(beam):
            j = k
            for t in range(len(history) - 1, -1, -1):
                seqs[k].insert(0, history[t][1][j])
                j = history[t][2][j]
        for k in range(beam):
            got = out.predicted_ids[b, :, k].tolist()
            first_end = seqs[k].index(end) if end in seqs[k] else len(seqs[k])
            assert got[: first_end + 1] == seqs[k][: first_end + 1]
            assert all(tok == end for tok in got[first_end:])
