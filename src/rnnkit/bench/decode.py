"""Step-by-step decoding throughput: greedy ``BasicDecoder`` and ``BeamSearchDecoder`` over an attention LSTM.

Model: ``AttentionWrapper(BasicLSTMCell(128), LuongAttention(128, memory [B, 20, 128], scale=True),
attention_layer_size=128)``, embedding 500 x 64, output ``Dense(500)``, start token 1, end token 2, at most 30
steps, B = 32 (beam width 5 tiles the memory to 160 rows). Each is timed three ways on the same weights: with
autograd recording (``grad``), under ``torch.no_grad()`` and under ``torch.inference_mode()``; the rate is decoded
sequences per second (``B / seconds per dynamic_decode``), interleaved repeats, median.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable

import torch

import rnnkit as rk

__all__ = ["run_decode", "decode_table"]

MODES = ("grad", "no_grad", "inference_mode")
BATCH, SOURCE, VOCAB, EMBED, UNITS, BEAM, MAX_STEPS = 32, 20, 500, 64, 128, 5, 30


def _decoders(seed: int = 0) -> dict[str, Callable[[], object]]:
    seq = rk.seq2seq
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    memory = torch.randn(BATCH, SOURCE, UNITS, generator=gen)
    embedding = torch.nn.Embedding(VOCAB, EMBED)
    dense = seq.Dense(VOCAB)
    start = torch.full((BATCH,), 1, dtype=torch.long)

    def cell(mem: torch.Tensor) -> rk.RNNCell:
        mechanism = seq.LuongAttention(UNITS, mem, scale=True)
        return seq.AttentionWrapper(rk.BasicLSTMCell(UNITS), mechanism, attention_layer_size=UNITS)

    greedy_cell, beam_cell = cell(memory), cell(seq.tile_batch(memory, BEAM))

    def greedy() -> object:
        helper = seq.GreedyEmbeddingHelper(embedding, start, 2)
        initial = greedy_cell.zero_state(BATCH, torch.float32)
        decoder = seq.BasicDecoder(greedy_cell, helper, initial, output_layer=dense)
        return seq.dynamic_decode(decoder, maximum_iterations=MAX_STEPS)

    def beam() -> object:
        initial = beam_cell.zero_state(BATCH * BEAM, torch.float32)
        decoder = seq.BeamSearchDecoder(
            beam_cell, embedding, start, 2, initial, BEAM, output_layer=dense
        )
        return seq.dynamic_decode(decoder, maximum_iterations=MAX_STEPS)

    return {"greedy": greedy, f"beam{BEAM}": beam}


def _context(mode: str) -> contextlib.AbstractContextManager:
    if mode == "no_grad":
        return torch.no_grad()
    if mode == "inference_mode":
        return torch.inference_mode()
    return contextlib.nullcontext()


def run_decode(
    threads: list[int], repeats: int, clock: str, log: Callable[[str], None] = print
) -> list[dict]:
    """One record per (decoder, threads): ``rate`` (sequences/s) per mode, measured interleaved."""
    clock_fn = time.perf_counter if clock == "wall" else time.process_time
    records = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for name, decode in _decoders().items():
            samples: dict[str, list[float]] = {m: [] for m in MODES}
            for r in range(repeats + 1):  # round 0 warms up
                for mode in MODES[r % 3 :] + MODES[: r % 3]:
                    with _context(mode):
                        start = clock_fn()
                        decode()
                        seconds = clock_fn() - start
                    if r:
                        samples[mode].append(seconds)
            rate = {m: BATCH / statistics.median(s) for m, s in samples.items()}
            records.append({"decoder": name, "threads": n_threads, "clock": clock, "rate": rate})
            log(
                f"# decode {name} threads={n_threads}: "
                + ", ".join(f"{m}={v:.0f}" for m, v in rate.items())
            )
    return records


def decode_table(records: list[dict]) -> str:
    """Markdown: decoded sequences/s per mode and the ratio inference_mode / grad."""
    lines = [
        "**decoding sequences/s** (B=32, at most 30 steps; median of the interleaved runs)",
        "",
        "| decoder | threads | " + " | ".join(MODES) + " | inference_mode/grad |",
        "|" + "---|" * (3 + len(MODES)),
    ]
    for r in records:
        rate = r["rate"]
        cells = " | ".join(f"{rate[m]:.0f}" for m in MODES)
        ratio = rate["inference_mode"] / rate["grad"]
        lines.append(f"| {r['decoder']} | {r['threads']} | {cells} | {ratio:.2f} |")
    return "\n".join(lines + [""])
