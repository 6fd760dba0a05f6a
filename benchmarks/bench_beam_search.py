"""Beam search decoding throughput: ``rk.seq2seq.BeamSearchDecoder`` against ``tfa.seq2seq.BeamSearchDecoder``
(TF 1.15's contrib math in TF 2.15) on the same model: an LSTM + scaled Luong attention decoder, beam 5.

    PYTHONPATH=src python benchmarks/bench_beam_search.py                     # rnnkit (torch)
    TF_ADDONS_PY_OPS=1 .tf-oracle/tf215/bin/python benchmarks/bench_beam_search.py --tf   # the TF side

Both sides: one thread, the end token made unreachable so every batch runs exactly ``STEPS`` steps, the median
of ``--repeats`` decodes timed with the process CPU clock (the machine is shared; see BENCHMARKS.md). TF runs the
decoder inside ``tf.function`` (a graph, as TF1 did); rnnkit under ``torch.inference_mode()``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

B, BEAM, V, E, H, T_MEM, STEPS, END = 32, 5, 1000, 128, 256, 30, 30, 2


def data(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return dict(
        memory=rng.standard_normal((B, T_MEM, H)).astype(np.float32),
        embedding=rng.standard_normal((V, E)).astype(np.float32),
    )


def timed(fn, repeats: int) -> float:
    fn()  # warm-up (graph tracing, allocator)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def run_torch(repeats: int) -> float:
    import torch

    import rnnkit as rk

    torch.set_num_threads(1)
    torch.manual_seed(0)
    d = data()
    s = rk.seq2seq
    memory = s.tile_batch(torch.from_numpy(d["memory"]), BEAM)
    mech = s.LuongAttention(H, memory, scale=True)
    cell = s.AttentionWrapper(rk.BasicLSTMCell(H), mech, attention_layer_size=H)
    proj = s.Dense(V, name="output_projection")
    proj.build(H)
    with torch.no_grad():
        proj.bias[END] = -1e4  # never ends: every decode runs STEPS steps
    embedding = torch.from_numpy(d["embedding"])

    def decode():
        with torch.inference_mode():
            dec = s.BeamSearchDecoder(
                cell, embedding, [1] * B, END, cell.zero_state(B * BEAM), BEAM, proj
            )
            out, _, _ = s.dynamic_decode(dec, maximum_iterations=STEPS)
        assert out.predicted_ids.shape == (B, STEPS, BEAM)

    return timed(decode, repeats)


def run_tf(repeats: int) -> float:
    import os

    os.environ.setdefault("TF_ADDONS_PY_OPS", "1")
    import tensorflow as tf
    import tensorflow_addons as tfa

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    d = data()
    memory = tfa.seq2seq.tile_batch(tf.constant(d["memory"]), BEAM)
    mech = tfa.seq2seq.LuongAttention(H, memory, scale=True)
    cell = tfa.seq2seq.AttentionWrapper(tf.keras.layers.LSTMCell(H), mech, attention_layer_size=H)
    proj = tf.keras.layers.Dense(
        V, bias_initializer=tf.keras.initializers.Constant(np.where(np.arange(V) == END, -1e4, 0.0))
    )
    decoder = tfa.seq2seq.BeamSearchDecoder(cell, BEAM, output_layer=proj, maximum_iterations=STEPS)
    embedding = tf.constant(d["embedding"])

    @tf.function
    def decode_graph():
        state = cell.get_initial_state(batch_size=B * BEAM, dtype=tf.float32)
        out, _, _ = decoder(
            embedding, start_tokens=tf.fill([B], 1), end_token=END, initial_state=state
        )
        return out.predicted_ids

    def decode():
        ids = decode_graph().numpy()
        assert ids.shape == (B, STEPS, BEAM)

    return timed(decode, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tf", action="store_true", help="time tfa.seq2seq (run with the TF 2.15 oracle)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    seconds = run_tf(args.repeats) if args.tf else run_torch(args.repeats)
    print(
        json.dumps(
            {
                "side": "tfa.seq2seq" if args.tf else "rk.seq2seq",
                "batch": B,
                "beam": BEAM,
                "vocab": V,
                "units": H,
                "memory_time": T_MEM,
                "steps": STEPS,
                "cpu_seconds_per_decode": round(seconds, 4),
                "sentences_per_cpu_second": round(B / seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
