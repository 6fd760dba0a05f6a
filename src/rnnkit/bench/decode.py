"""Step-by-step decoding throughput: greedy ``BasicDecoder`` and ``BeamSearchDecoder`` over an attention LSTM,
next to TF's ``tfa.seq2seq`` (TF 1.15's ``tf.contrib.seq2seq``) decoding the same model in a graph; and greedy
decoding through ``raw_rnn`` (``raw_decode.py``), next to TF's ``tf.compat.v1.nn.raw_rnn``.

Model (``Sizes``, defaults): ``AttentionWrapper(BasicLSTMCell(128), LuongAttention(128, memory [B, 20, 128],
scale=True), attention_layer_size=128)``, embedding 500 x 64, output ``Dense(500)``, start token 1, B = 32,
exactly 30 steps: the output bias at the end token (2) is -1e4, so no sequence ends early and every decode does
the same work on both sides (``maximum_iterations=30``). Beam width 5 tiles the memory to 160 rows. The
``raw_rnn`` row: ``BasicLSTMCell(128)`` fed its argmax's embedding, output ``[128, 500]``, exactly 30 steps, with
the same weights on both sides (sent to TF as an ``.npz``), and sample 0 must decode to the same ids on both.

rnnkit is timed three ways on the same weights: with autograd recording (``grad``), under ``torch.no_grad()``
and under ``torch.inference_mode()``; TF (``tf_decode_worker.py`` in its own process, given a python with
TF 2.15 + tensorflow-addons) runs each decoder as one ``tf.function``. The rate is decoded sequences per second
(``B / seconds per dynamic_decode``): one decode per sample, a warm-up round first, then ``repeats`` rounds with
the order rotated each round, median.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

import rnnkit as rk

from ._worker import JsonWorker
from .raw_decode import raw_greedy, raw_weights, save_raw_weights

__all__ = ["Sizes", "run_decode", "decode_table", "main"]

MODES = ("grad", "no_grad", "inference_mode")
START, END = 1, 2
# the decoders whose TF side decodes with rnnkit's weights (the others keep Keras' own initial weights)
SAME_WEIGHTS = ("raw_rnn",)


@dataclass(frozen=True)
class Sizes:
    """The decoding model and batch (TF's worker gets the same fields)."""

    batch: int = 32
    source: int = 20  # memory time steps
    vocab: int = 500
    embed: int = 64
    units: int = 128
    beam: int = 5
    steps: int = 30  # decoded steps, all of them (the end token is unreachable)


def _decoders(z: Sizes, seed: int = 0) -> dict[str, Callable[[], torch.Tensor]]:
    """``{"greedy": fn, "beam": fn, "raw_rnn": fn}``: ``fn()`` decodes one batch and returns its ids, batch-major
    (``[B, T]``; beam ``[B, T, beam]``), ``T`` the steps decoded."""
    seq = rk.seq2seq
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    memory = torch.randn(z.batch, z.source, z.units, generator=gen)
    embedding = torch.nn.Embedding(z.vocab, z.embed)
    dense = seq.Dense(z.vocab)
    dense.build(z.units)
    assert dense.bias is not None  # Dense(use_bias=True) has one once built
    with torch.no_grad():
        dense.bias[END] = -1e4  # never the argmax: every sequence runs all z.steps steps
    start = torch.full((z.batch,), START, dtype=torch.long)

    def cell(mem: torch.Tensor) -> rk.RNNCell:
        mechanism = seq.LuongAttention(z.units, mem, scale=True)
        return seq.AttentionWrapper(
            rk.BasicLSTMCell(z.units), mechanism, attention_layer_size=z.units
        )

    greedy_cell, beam_cell = cell(memory), cell(seq.tile_batch(memory, z.beam))

    def greedy() -> torch.Tensor:
        helper = seq.GreedyEmbeddingHelper(embedding, start, END)
        initial = greedy_cell.zero_state(z.batch, torch.float32)
        decoder = seq.BasicDecoder(greedy_cell, helper, initial, output_layer=dense)
        outputs, _, _ = seq.dynamic_decode(decoder, maximum_iterations=z.steps)
        ids: torch.Tensor = outputs.sample_id
        return ids

    def beam() -> torch.Tensor:
        initial = beam_cell.zero_state(z.batch * z.beam, torch.float32)
        decoder = seq.BeamSearchDecoder(
            beam_cell, embedding, start, END, initial, z.beam, output_layer=dense
        )
        outputs, _, _ = seq.dynamic_decode(decoder, maximum_iterations=z.steps)
        ids: torch.Tensor = outputs.predicted_ids
        return ids

    return {"greedy": greedy, "beam": beam, "raw_rnn": raw_greedy(z, raw_weights(z, seed))}


def _context(mode: str) -> contextlib.AbstractContextManager:
    if mode == "no_grad":
        return torch.no_grad()
    if mode == "inference_mode":
        return torch.inference_mode()
    return contextlib.nullcontext()


class _TFDecoder:
    """A TF process decoding on request (``tf_decode_worker.py``); ``status`` is ``None`` when it is usable,
    else why not (``"not installed (...)"``)."""

    def __init__(self, python: str, sizes: Sizes, threads: int, raw_weights: Path) -> None:
        args = (json.dumps({**asdict(sizes), "threads": threads, "raw_weights": str(raw_weights)}),)
        self.worker = JsonWorker(python, "tf_decode_worker.py", {"TF_ADDONS_PY_OPS": "1"}, args)
        try:
            first = self.worker.answer()
        except RuntimeError:  # the worker died on start-up: end it, then say why
            self.worker.close()
            raise
        self.status: str | None = None
        self.version = ""
        if "unavailable" in first:
            self.status = f"not installed ({first['unavailable']} in {python})"
        else:
            self.version = ", ".join(f"{k} {v}" for k, v in first["ready"].items())

    def decode(self, kind: str, clock: str) -> tuple[float, int, list]:
        """Seconds of one TF decode of ``kind`` ("greedy" | "beam" | "raw_rnn"), the steps it decoded and sample
        0's ids (``[T]``; beam ``[T, beam]``)."""
        answer = self.worker.ask({"decoder": kind, "clock": clock})
        return float(answer["seconds"]), int(answer["steps"]), answer["first"]

    def close(self) -> None:
        self.worker.close()


def _check_steps(who: str, steps: int, want: int) -> None:
    if steps != want:  # a shorter decode would inflate the rate: refuse to report it
        raise RuntimeError(f"bench decode: expected {who} to decode {want} steps, got {steps}")


def _check_same_ids(kind: str, firsts: dict[str, list]) -> None:
    """Sample 0's ids agree across the rnnkit modes, and with TF's where TF decodes with the same weights."""
    columns = [c for c in firsts if c != "tf" or kind in SAME_WEIGHTS]
    want = firsts[columns[0]]
    for column in columns[1:]:
        if firsts[column] != want:  # not the same computation: its rate would compare unlike things
            raise RuntimeError(
                f"bench decode: expected {column} {kind} to decode sample 0 to {columns[0]}'s ids {want}, "
                f"got {firsts[column]}"
            )


def _one_round(
    z: Sizes,
    columns: tuple[str, ...],
    kind: str,
    decode: Callable[[], torch.Tensor],
    tf: _TFDecoder | None,
    clock: str,
) -> dict[str, tuple[float, list]]:
    """``{column: (seconds, sample 0's ids)}``: one decode per column, in the order of ``columns``."""
    clock_fn = time.perf_counter if clock == "wall" else time.process_time
    out = {}
    for column in columns:
        if column == "tf":
            assert tf is not None
            seconds, steps, first = tf.decode(kind, clock)
        else:
            with _context(column):
                begin = clock_fn()
                ids = decode()
                seconds = clock_fn() - begin
            steps, first = int(ids.shape[1]), ids[0].tolist()
        _check_steps(f"{column} {kind}", steps, z.steps)
        out[column] = (seconds, first)
    return out


def _measure(
    z: Sizes,
    n_threads: int,
    repeats: int,
    clock: str,
    tf: _TFDecoder | None,
    log: Callable[[str], None],
) -> list[dict]:
    """The records of one thread count (see ``run_decode``)."""
    tf_ready = tf is not None and tf.status is None
    tf_note = "not installed (no TF python given)" if tf is None else (tf.status or tf.version)
    columns = MODES + (("tf",) if tf_ready else ())
    records = []
    for kind, decode in _decoders(z).items():
        samples: dict[str, list[float]] = {c: [] for c in columns}
        for r in range(repeats + 1):  # round 0 warms up (TF traces its graph there)
            k = r % len(columns)
            timed = _one_round(z, columns[k:] + columns[:k], kind, decode, tf, clock)
            if r:
                for column, (seconds, _) in timed.items():
                    samples[column].append(seconds)
            else:  # the ids are the same every round (greedy, fixed weights): check them once
                _check_same_ids(kind, {c: timed[c][1] for c in columns})
        rate = {c: z.batch / statistics.median(s) for c, s in samples.items()}
        name = f"beam{z.beam}" if kind == "beam" else kind
        records.append(
            {"decoder": name, "threads": n_threads, "clock": clock, "steps": z.steps,
             "batch": z.batch, "rate": rate, "tf": tf_note,
             "same_ids_as_tf": tf_ready and kind in SAME_WEIGHTS}
        )  # fmt: skip
        log(
            f"# decode {name} threads={n_threads}: "
            + ", ".join(f"{c}={v:.0f}" for c, v in rate.items())
        )
    return records


def run_decode(
    threads: Sequence[int],
    repeats: int,
    clock: str,
    log: Callable[[str], None] = print,
    tf_python: str | None = None,
    sizes: Sizes | None = None,
) -> list[dict]:
    """One record per (decoder, threads): ``rate`` (sequences/s) per rnnkit mode, and ``"tf"`` when TF ran;
    ``record["tf"]`` names the TF versions, or says ``"not installed (...)"``; ``record["same_ids_as_tf"]``
    is true where TF decoded with rnnkit's weights and sample 0's ids were checked equal. All measured
    interleaved."""
    z = sizes or Sizes()
    records = []
    with tempfile.TemporaryDirectory(prefix="rnnkit-decode-") as tmp:
        weights = Path(tmp) / "raw_rnn.npz"  # the raw_rnn row's weights, for the TF worker
        if tf_python:
            save_raw_weights(raw_weights(z), weights)
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            tf = _TFDecoder(tf_python, z, n_threads, weights) if tf_python else None
            try:
                records += _measure(z, n_threads, repeats, clock, tf, log)
            finally:
                if tf is not None:
                    tf.close()
    return records


def decode_table(records: list[dict]) -> str:
    """Markdown: decoded sequences/s per rnnkit mode and TF's, the ratios inference_mode / grad and / TF."""
    z = (records[0]["batch"], records[0]["steps"]) if records else (Sizes().batch, Sizes().steps)
    lines = [
        f"**decoding sequences/s** (B={z[0]}, exactly {z[1]} steps; median of the interleaved runs)",
        "",
        "| decoder | threads | " + " | ".join(MODES) + " | inference_mode/grad | TF (tf.function) "
        "| inference_mode/TF |",
        "|" + "---|" * (5 + len(MODES)),
    ]
    for r in records:
        rate = r["rate"]
        cells = " | ".join(f"{rate[m]:.0f}" for m in MODES)
        ratio = rate["inference_mode"] / rate["grad"]
        tf = (
            f"{rate['tf']:.0f} | {rate['inference_mode'] / rate['tf']:.2f}"
            if "tf" in rate
            else "– | –"
        )
        lines.append(f"| {r['decoder']} | {r['threads']} | {cells} | {ratio:.2f} | {tf} |")
    notes = [f"TF: {n}" for n in sorted({r["tf"] for r in records})]
    same = sorted({r["decoder"] for r in records if r.get("same_ids_as_tf")})
    if same:  # the other rows' TF model keeps Keras' own initial weights: throughput only
        notes.append(
            f"Same weights on both sides, sample 0 decoded to the same ids (checked): {', '.join(same)}"
        )
    return "\n".join(lines + [""] + notes + [""])


def main(argv: Sequence[str] | None = None) -> int:
    """``benchmarks/bench_decode.py``: the decoding table alone (``rnnkit bench --decode`` adds it to the speed
    tables). Prints the machine and the load average before and after."""
    import argparse

    from . import _options as options
    from .speed import machine

    parser = argparse.ArgumentParser(
        prog="bench_decode.py",
        description="Decoding throughput (greedy, beam search, raw_rnn), rnnkit next to TF.",
    )
    parser.add_argument(
        "--threads",
        type=options.int_list,
        default=[1],
        help="comma list of thread counts (default 1)",
    )
    parser.add_argument(
        "--repeats",
        type=options.positive_int,
        default=7,
        help="timed rounds; the median is reported",
    )
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="cpu", help="wall or process CPU time"
    )
    parser.add_argument(
        "--tf-python",
        type=options.python,
        default=None,
        help="a python with TF 2.15 + tensorflow-addons",
    )
    parser.add_argument(
        "--json", type=options.json_path, default=None, help="also write the records here"
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()
    records = run_decode(
        args.threads, args.repeats, args.clock, lambda s: print(s, file=sys.stderr), args.tf_python
    )
    after = os.getloadavg()
    print(
        f"Machine: {machine()}; clock: {args.clock}; load average {load[0]:.1f} before, {after[0]:.1f} after\n"
    )
    print(decode_table(records))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": machine(), "load": [load, after], "decode": records}, indent=1)
        )
    return 0
