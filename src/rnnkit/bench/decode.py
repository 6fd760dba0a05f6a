"""Step-by-step decoding throughput: greedy ``BasicDecoder`` and ``BeamSearchDecoder`` over an attention LSTM,
next to TF's ``tfa.seq2seq`` (TF 1.15's ``tf.contrib.seq2seq``) decoding the same model in a graph.

Model (``Sizes``, defaults): ``AttentionWrapper(BasicLSTMCell(128), LuongAttention(128, memory [B, 20, 128],
scale=True), attention_layer_size=128)``, embedding 500 x 64, output ``Dense(500)``, start token 1, B = 32,
exactly 30 steps: the output bias at the end token (2) is -1e4, so no sequence ends early and every decode does
the same work on both sides (``maximum_iterations=30``). Beam width 5 tiles the memory to 160 rows.

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
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

import rnnkit as rk

from ._worker import JsonWorker

__all__ = ["Sizes", "run_decode", "decode_table", "main"]

MODES = ("grad", "no_grad", "inference_mode")
START, END = 1, 2


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


def _decoders(z: Sizes, seed: int = 0) -> dict[str, Callable[[], int]]:
    """``{"greedy": fn, "beam": fn}``: ``fn()`` runs one ``dynamic_decode`` and returns the steps it decoded."""
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

    def greedy() -> int:
        helper = seq.GreedyEmbeddingHelper(embedding, start, END)
        initial = greedy_cell.zero_state(z.batch, torch.float32)
        decoder = seq.BasicDecoder(greedy_cell, helper, initial, output_layer=dense)
        outputs, _, _ = seq.dynamic_decode(decoder, maximum_iterations=z.steps)
        return int(outputs.sample_id.shape[1])

    def beam() -> int:
        initial = beam_cell.zero_state(z.batch * z.beam, torch.float32)
        decoder = seq.BeamSearchDecoder(
            beam_cell, embedding, start, END, initial, z.beam, output_layer=dense
        )
        outputs, _, _ = seq.dynamic_decode(decoder, maximum_iterations=z.steps)
        return int(outputs.predicted_ids.shape[1])

    return {"greedy": greedy, "beam": beam}


def _context(mode: str) -> contextlib.AbstractContextManager:
    if mode == "no_grad":
        return torch.no_grad()
    if mode == "inference_mode":
        return torch.inference_mode()
    return contextlib.nullcontext()


class _TFDecoder:
    """A TF process decoding on request (``tf_decode_worker.py``); ``status`` is ``None`` when it is usable,
    else why not (``"not installed (...)"``)."""

    def __init__(self, python: str, sizes: Sizes, threads: int) -> None:
        args = (json.dumps({**asdict(sizes), "threads": threads}),)
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

    def decode(self, kind: str, clock: str) -> tuple[float, int]:
        """Seconds of one TF decode of ``kind`` ("greedy" | "beam") and the steps it decoded."""
        answer = self.worker.ask({"decoder": kind, "clock": clock})
        return float(answer["seconds"]), int(answer["steps"])

    def close(self) -> None:
        self.worker.close()


def _check_steps(who: str, steps: int, want: int) -> None:
    if steps != want:  # a shorter decode would inflate the rate: refuse to report it
        raise RuntimeError(f"bench decode: expected {who} to decode {want} steps, got {steps}")


def _measure(
    z: Sizes,
    n_threads: int,
    repeats: int,
    clock: str,
    tf: _TFDecoder | None,
    log: Callable[[str], None],
) -> list[dict]:
    """The records of one thread count (see ``run_decode``)."""
    clock_fn = time.perf_counter if clock == "wall" else time.process_time
    tf_ready = tf is not None and tf.status is None
    tf_note = "not installed (no TF python given)" if tf is None else (tf.status or tf.version)
    columns = MODES + (("tf",) if tf_ready else ())
    records = []
    for kind, decode in _decoders(z).items():
        samples: dict[str, list[float]] = {c: [] for c in columns}
        for r in range(repeats + 1):  # round 0 warms up (TF traces its graph there)
            k = r % len(columns)
            for column in columns[k:] + columns[:k]:
                if column == "tf":
                    assert tf is not None
                    seconds, steps = tf.decode(kind, clock)
                else:
                    with _context(column):
                        begin = clock_fn()
                        steps = decode()
                        seconds = clock_fn() - begin
                _check_steps(f"{column} {kind}", steps, z.steps)
                if r:
                    samples[column].append(seconds)
        rate = {c: z.batch / statistics.median(s) for c, s in samples.items()}
        name = kind if kind == "greedy" else f"beam{z.beam}"
        records.append(
            {"decoder": name, "threads": n_threads, "clock": clock, "steps": z.steps,
             "batch": z.batch, "rate": rate, "tf": tf_note}
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
    ``record["tf"]`` names the TF versions, or says ``"not installed (...)"``. All measured interleaved."""
    z = sizes or Sizes()
    records = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        tf = _TFDecoder(tf_python, z, n_threads) if tf_python else None
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
    notes = sorted({r["tf"] for r in records})
    return "\n".join(lines + [""] + [f"TF: {n}" for n in notes] + [""])


def main(argv: Sequence[str] | None = None) -> int:
    """``benchmarks/bench_decode.py``: the decoding table alone (``rnnkit bench --decode`` adds it to the speed
    tables). Prints the machine and the load average before and after."""
    import argparse

    from .speed import _int_list, _json_path, _positive_int, _python, machine

    parser = argparse.ArgumentParser(prog="bench_decode.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", type=_int_list, default=[1], help="comma list of thread counts (default 1)"
    )
    parser.add_argument(
        "--repeats", type=_positive_int, default=7, help="timed rounds; the median is reported"
    )
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="cpu", help="wall or process CPU time"
    )
    parser.add_argument(
        "--tf-python", type=_python, default=None, help="a python with TF 2.15 + tensorflow-addons"
    )
    parser.add_argument("--json", type=_json_path, default=None, help="also write the records here")
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
