"""Write the TensorFlow fixtures of ``rk.legacy_seq2seq`` into ``tests/fixtures/legacy_seq2seq``.

TF 2.x has no ``tf.contrib.legacy_seq2seq``, so this script restates TF 1.15's
``tensorflow/contrib/legacy_seq2seq/python/ops/seq2seq.py`` step for step in TF ops on ``tf.compat.v1`` (graph
mode, variable scopes): ``sequence_loss_by_example``, ``sequence_loss``, ``rnn_decoder``, ``attention_decoder``,
``embedding_rnn_seq2seq`` and ``embedding_attention_seq2seq``, with contrib's ``EmbeddingWrapper``,
``OutputProjectionWrapper`` and ``core_rnn_cell._Linear``. TF itself then creates the variables (their names and
creation order come from ``tf.global_variables()``) and computes outputs, final states and gradients.

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/make_legacy_seq2seq_fixtures.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_eager_execution()
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "legacy_seq2seq"
F32 = np.float32


sys.path.insert(0, str(Path(__file__).resolve().parent))
from legacy_seq2seq_tf import (  # noqa: E402
    attention_decoder,
    embedding_attention_seq2seq,
    embedding_rnn_seq2seq,
    rnn_decoder,
    sequence_loss,
    sequence_loss_by_example,
)

# ------------------------------------------------------------------ cases
CELLS = {
    "lstm": lambda: tf.nn.rnn_cell.BasicLSTMCell(6),
    "gru": lambda: tf.nn.rnn_cell.GRUCell(6),
    "rnn": lambda: tf.nn.rnn_cell.BasicRNNCell(6),
}
CASES = [
    dict(id="rnn_decoder_loop", fn="rnn_decoder", cell="rnn", loop=True),
    dict(id="rnn_decoder_lstm", fn="rnn_decoder", cell="lstm", loop=False),
    dict(
        id="attention_decoder_2heads_init",
        fn="attention_decoder",
        cell="lstm",
        num_heads=2,
        initial_state_attention=True,
        output_size=5,
    ),
    dict(
        id="attention_decoder_gru_loop", fn="attention_decoder", cell="gru", num_heads=1, loop=True
    ),
    dict(id="embedding_rnn_seq2seq", fn="embedding_rnn_seq2seq", cell="lstm", feed_previous=False),
    dict(
        id="embedding_rnn_seq2seq_feed", fn="embedding_rnn_seq2seq", cell="gru", feed_previous=True
    ),
    dict(
        id="embedding_attention_seq2seq",
        fn="embedding_attention_seq2seq",
        cell="lstm",
        feed_previous=False,
    ),
    dict(
        id="embedding_attention_seq2seq_proj_feed",
        fn="embedding_attention_seq2seq",
        cell="rnn",
        feed_previous=True,
        output_projection=True,
        num_heads=2,
        initial_state_attention=True,
    ),
]
B, T_ENC, T_DEC, D, N_ENC, N_DEC, EMB = 3, 4, 3, 4, 5, 7, 4


def build_case(case: dict, rng: np.random.Generator) -> tuple[dict, list, Any, list]:
    arrays: dict = {}
    make = CELLS[case["cell"]]
    fn = case["fn"]
    if fn in ("rnn_decoder", "attention_decoder"):
        dec = rng.standard_normal((T_DEC, B, D)).astype(F32)
        arrays["decoder_inputs"] = dec
        cell = make()
        state0 = [
            rng.standard_normal((B, 6)).astype(F32)
            for _ in range(2 if case["cell"] == "lstm" else 1)
        ]
        for i, s in enumerate(state0):
            arrays[f"init_state_{i}"] = s
        state = (
            tf.nn.rnn_cell.LSTMStateTuple(*map(tf.constant, state0))
            if len(state0) == 2
            else tf.constant(state0[0])
        )
        loop = (lambda prev, i: tf.tanh(prev[:, :D])) if case.get("loop") else None
        inputs = [tf.constant(x) for x in dec]
        if fn == "rnn_decoder":
            outputs, final = rnn_decoder(inputs, state, cell, loop_function=loop)
        else:
            states = rng.standard_normal((B, 5, 3)).astype(F32)
            arrays["attention_states"] = states
            outputs, final = attention_decoder(
                inputs,
                state,
                tf.constant(states),
                cell,
                case.get("output_size"),
                case.get("num_heads", 1),
                loop,
                case.get("initial_state_attention", False),
            )
        return arrays, outputs, final, []
    enc = rng.integers(0, N_ENC, size=(T_ENC, B)).astype(np.int32)
    dec = rng.integers(0, N_DEC, size=(T_DEC, B)).astype(np.int32)
    arrays["encoder_inputs"], arrays["decoder_inputs"] = enc, dec
    proj = None
    if case.get("output_projection"):
        w = rng.uniform(-1, 1, (6, N_DEC)).astype(F32)
        b = rng.uniform(-1, 1, (N_DEC,)).astype(F32)
        arrays["proj_w"], arrays["proj_b"] = w, b
        proj = (tf.constant(w), tf.constant(b))
    enc_t, dec_t = [tf.constant(x) for x in enc], [tf.constant(x) for x in dec]
    if fn == "embedding_rnn_seq2seq":
        outputs, final = embedding_rnn_seq2seq(
            enc_t, dec_t, make, N_ENC, N_DEC, EMB, proj, case["feed_previous"]
        )
    else:
        outputs, final = embedding_attention_seq2seq(
            enc_t,
            dec_t,
            make,
            N_ENC,
            N_DEC,
            EMB,
            case.get("num_heads", 1),
            proj,
            case["feed_previous"],
            case.get("initial_state_attention", False),
        )
    return arrays, outputs, final, []


def run_case(case: dict, seed: int) -> tuple[dict, list[str]]:
    rng = np.random.default_rng(seed)
    with tf.Graph().as_default():
        arrays, outputs, final, _ = build_case(case, rng)
        variables = tf.global_variables()
        names = [v.name[:-2] for v in variables]
        flat_final = tf.nest.flatten(final)
        r_out = [rng.standard_normal(o.shape.as_list()).astype(F32) for o in outputs]
        r_state = [rng.standard_normal(s.shape.as_list()).astype(F32) for s in flat_final]
        loss = tf.add_n([tf.reduce_sum(o * r) for o, r in zip(outputs, r_out)])
        loss += tf.add_n([tf.reduce_sum(s * r) for s, r in zip(flat_final, r_state)])
        grads = [
            tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)  # embeddings: IndexedSlices
            for v, g in zip(variables, tf.gradients(loss, variables))
        ]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for k, v in enumerate(variables):
                value = rng.uniform(-0.7, 0.7, v.shape.as_list()).astype(F32)
                v.load(value, sess)
                arrays[f"var_{k}"] = value
            out, fin, grad = sess.run([outputs, flat_final, grads])
    arrays["outputs"] = np.stack(out)
    arrays["r_outputs"] = np.stack(r_out)
    for i, (f, r) in enumerate(zip(fin, r_state)):
        arrays[f"final_state_{i}"], arrays[f"r_state_{i}"] = f, r
    for k, g in enumerate(grad):
        arrays[f"grad_var_{k}"] = np.asarray(g)
    return arrays, names


def loss_cases() -> list[dict]:
    out = []
    for index, (fn, flags) in enumerate(
        [
            ("by_example", dict(average_across_timesteps=True)),
            ("by_example", dict(average_across_timesteps=False)),
            ("sequence_loss", dict()),
            ("sequence_loss", dict(average_across_batch=False)),
            ("sequence_loss", dict(average_across_timesteps=False)),
            ("sequence_loss", dict(average_across_timesteps=False, average_across_batch=False)),
        ]
    ):
        rng = np.random.default_rng(3000 + index)
        logits = rng.standard_normal((4, 3, 6)).astype(F32)  # T lists of [B, V]
        targets = rng.integers(0, 6, (4, 3)).astype(np.int32)
        weights = rng.uniform(0.1, 1.2, (4, 3)).astype(F32)
        weights[rng.uniform(size=(4, 3)) < 0.3] = 0.0
        with tf.Graph().as_default():
            x = [tf.constant(v) for v in logits]
            args = (x, [tf.constant(t) for t in targets], [tf.constant(w) for w in weights])
            loss = (
                sequence_loss_by_example(*args, **flags)
                if fn == "by_example"
                else sequence_loss(*args, **flags)
            )
            r = rng.standard_normal(loss.shape.as_list()).astype(F32)
            grads = tf.gradients(tf.reduce_sum(loss * r), x)
            with tf.Session() as sess:
                value, grad = sess.run([loss, grads])
        out.append(
            dict(
                fn=fn,
                flags=flags,
                logits=logits.tolist(),
                targets=targets.tolist(),
                weights=weights.tolist(),
                r=np.asarray(r).tolist(),
                loss=np.asarray(value).tolist(),
                grad=np.stack(grad).tolist(),
            )
        )
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest: dict = {
        "sizes": dict(
            batch=B, enc_time=T_ENC, dec_time=T_DEC, depth=D, n_enc=N_ENC, n_dec=N_DEC, emb=EMB
        ),
        "cases": [],
        "loss_cases": loss_cases(),
    }
    for index, case in enumerate(CASES):
        arrays, names = run_case(case, 4000 + index)
        manifest["cases"].append(dict(case, variables=names, file=f"{case['id']}.npz"))
        np.savez_compressed(OUT / f"{case['id']}.npz", **arrays)
        print(case["id"], len(names), "variables")
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
