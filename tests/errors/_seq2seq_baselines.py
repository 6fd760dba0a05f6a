"""Shared baselines of the seq2seq bad-input tables (tests/errors/test_errors_seq2seq*.py): sizes B=4, T=5, D=3,
H=6, V=8, E=3 (perturbed sizes are 7) and the correct calls each case changes one thing in."""

from __future__ import annotations

import torch

import rnnkit as rk

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
