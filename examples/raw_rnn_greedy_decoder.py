"""A greedy decoder with ``rk.raw_rnn``: every step feeds the embedding of the previous step's most likely token
back as the next input, and a row stops after it emits the end token — the TF1 pattern ``raw_rnn`` was made for.

    python examples/raw_rnn_greedy_decoder.py

The weights are random (no training here), so the tokens are arbitrary; what the example shows is the loop_fn
contract: ``(time, cell_output, cell_state, loop_state) -> (finished, next_input, next_state, emit, loop_state)``.
"""

from __future__ import annotations

import torch

import rnnkit as rk

VOCAB, EMBED, UNITS = 8, 4, 16
GO, EOS = 1, 2


def greedy_decode(
    batch: int = 4, max_len: int = 10, seed: int = 9
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode ``batch`` sequences of at most ``max_len`` tokens; returns (tokens [T, B], lengths [B])."""
    torch.manual_seed(seed)
    embedding = torch.randn(VOCAB, EMBED)
    # The cell's output is a distribution over the vocabulary: TF1 code used OutputProjectionWrapper for this.
    cell = rk.OutputProjectionWrapper(rk.GRUCell(UNITS, input_size=EMBED), VOCAB)
    initial_state = torch.randn(batch, UNITS)  # e.g. an encoder's final state

    def loop_fn(time, logits, state, loop_state):
        if (
            logits is None
        ):  # time 0: the first input, the initial state, the emit template, the loop state
            go = torch.full((batch,), GO)
            template = torch.zeros(
                (), dtype=torch.long
            )  # emit one token id per row (shape [] without batch)
            loop = {
                "finished": torch.zeros(batch, dtype=torch.bool),
                "lengths": torch.zeros(batch, dtype=torch.long),
            }
            return loop["finished"], embedding[go], initial_state, template, loop
        token = logits.argmax(-1)  # [B]: the greedy choice, fed back as the next input
        lengths = loop_state["lengths"] + (~loop_state["finished"]).long()
        finished = loop_state["finished"] | (token == EOS) | (time >= max_len)
        return finished, embedding[token], state, token, {"finished": finished, "lengths": lengths}

    with torch.no_grad():
        tokens, _, loop_state = rk.raw_rnn(cell, loop_fn)
    return tokens, loop_state["lengths"]


if __name__ == "__main__":
    tokens, lengths = greedy_decode()
    for b in range(tokens.shape[1]):
        print(f"row {b}: {tokens[: int(lengths[b]), b].tolist()} (length {int(lengths[b])})")
