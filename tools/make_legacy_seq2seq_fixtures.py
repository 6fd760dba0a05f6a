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
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_eager_execution()
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "legacy_seq2seq"
F32 = np.float32


# ------------------------------------------------------------------ TF 1.15's contrib pieces, restated
def linear(args: list, output_size: int) -> Any:
    """core_rnn_cell._Linear with a bias: ``kernel``, ``bias`` (zeros) in the current variable scope."""
    x = tf.concat(args, 1) if len(args) > 1 else args[0]
    kernel = tf.get_variable("kernel", [x.shape[1], output_size], dtype=x.dtype)
    bias = tf.get_variable("bias", [output_size], dtype=x.dtype, initializer=tf.zeros_initializer())
    return tf.nn.bias_add(tf.matmul(x, kernel), bias)


class OutputProjectionWrapper(tf.nn.rnn_cell.RNNCell):
    def __init__(self, cell: Any, output_size: int) -> None:
        super().__init__()
        self._cell, self._size = cell, output_size

    @property
    def state_size(self) -> Any:
        return self._cell.state_size

    @property
    def output_size(self) -> int:
        return self._size

    def zero_state(self, batch_size: int, dtype: Any) -> Any:
        return self._cell.zero_state(batch_size, dtype)

    def call(self, inputs: Any, state: Any) -> Any:
        output, new_state = self._cell(inputs, state)
        return linear([output], self._size), new_state


class EmbeddingWrapper(tf.nn.rnn_cell.RNNCell):
    def __init__(self, cell: Any, embedding_classes: int, embedding_size: int) -> None:
        super().__init__()
        self._cell, self._classes, self._size = cell, embedding_classes, embedding_size

    @property
    def state_size(self) -> Any:
        return self._cell.state_size

    @property
    def output_size(self) -> Any:
        return self._cell.output_size

    def zero_state(self, batch_size: int, dtype: Any) -> Any:
        return self._cell.zero_state(batch_size, dtype)

    def call(self, inputs: Any, state: Any) -> Any:
        sqrt3 = math.sqrt(3)
        embedding = tf.get_variable(
            "embedding",
            [self._classes, self._size],
            initializer=tf.random_uniform_initializer(-sqrt3, sqrt3),
        )
        embedded = tf.nn.embedding_lookup(embedding, tf.reshape(inputs, [-1]))
        return self._cell(embedded, state)


def sequence_loss_by_example(logits, targets, weights, average_across_timesteps=True):
    terms = []
    for logit, target, weight in zip(logits, targets, weights):
        crossent = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(target, [-1]), logits=logit
        )
        terms.append(crossent * weight)
    log_perps = tf.add_n(terms)
    if average_across_timesteps:
        log_perps /= tf.add_n(weights) + 1e-12
    return log_perps


def sequence_loss(
    logits, targets, weights, average_across_timesteps=True, average_across_batch=True
):
    cost = tf.reduce_sum(
        sequence_loss_by_example(logits, targets, weights, average_across_timesteps)
    )
    if average_across_batch:
        return cost / tf.cast(tf.shape(targets[0])[0], cost.dtype)
    return cost


def rnn_decoder(decoder_inputs, initial_state, cell, loop_function=None, scope=None):
    with tf.variable_scope(scope or "rnn_decoder"):
        state, outputs, prev = initial_state, [], None
        for i, inp in enumerate(decoder_inputs):
            if loop_function is not None and prev is not None:
                with tf.variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            if i > 0:
                tf.get_variable_scope().reuse_variables()
            output, state = cell(inp, state)
            outputs.append(output)
            if loop_function is not None:
                prev = output
    return outputs, state


def attention_decoder(
    decoder_inputs,
    initial_state,
    attention_states,
    cell,
    output_size=None,
    num_heads=1,
    loop_function=None,
    initial_state_attention=False,
):
    output_size = output_size or cell.output_size
    with tf.variable_scope("attention_decoder"):
        batch = tf.shape(decoder_inputs[0])[0]
        length, size = attention_states.shape[1], attention_states.shape[2]
        hidden = tf.reshape(attention_states, [-1, length, 1, size])
        features, v = [], []
        for a in range(num_heads):
            k = tf.get_variable(f"AttnW_{a}", [1, 1, size, size])
            features.append(tf.nn.conv2d(hidden, k, [1, 1, 1, 1], "SAME"))
            v.append(tf.get_variable(f"AttnV_{a}", [size]))

        def attention(query):
            query = tf.concat(tf.nest.flatten(query), 1)
            ds = []
            for a in range(num_heads):
                with tf.variable_scope(f"Attention_{a}"):
                    y = tf.reshape(linear([query], size), [-1, 1, 1, size])
                    s = tf.reduce_sum(v[a] * tf.tanh(features[a] + y), [2, 3])
                    w = tf.nn.softmax(s)
                    d = tf.reduce_sum(tf.reshape(w, [-1, length, 1, 1]) * hidden, [1, 2])
                    ds.append(tf.reshape(d, [-1, size]))
            return ds

        outputs, prev = [], None
        attns = [tf.zeros(tf.stack([batch, size])) for _ in range(num_heads)]
        state = initial_state
        if initial_state_attention:
            attns = attention(initial_state)
        for i, inp in enumerate(decoder_inputs):
            if i > 0:
                tf.get_variable_scope().reuse_variables()
            if loop_function is not None and prev is not None:
                with tf.variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            x = linear([inp] + attns, inp.shape[1])
            cell_output, state = cell(x, state)
            if i == 0 and initial_state_attention:
                with tf.variable_scope(tf.get_variable_scope(), reuse=True):
                    attns = attention(state)
            else:
                attns = attention(state)
            with tf.variable_scope("AttnOutputProjection"):
                output = linear([cell_output] + attns, output_size)
            if loop_function is not None:
                prev = output
            outputs.append(output)
    return outputs, state


def argmax_and_embed(embedding, output_projection=None):
    def loop_function(prev, _):
        if output_projection is not None:
            prev = tf.nn.xw_plus_b(prev, output_projection[0], output_projection[1])
        return tf.nn.embedding_lookup(embedding, tf.argmax(prev, 1))

    return loop_function


def encode(make_cell, encoder_inputs, n_enc, emb_size):
    enc_cell = EmbeddingWrapper(make_cell(), n_enc, emb_size)  # TF1 deep-copied the (unbuilt) cell
    return tf.nn.static_rnn(enc_cell, encoder_inputs, dtype=tf.float32)


def embedding_rnn_seq2seq(
    enc, dec, make_cell, n_enc, n_dec, emb_size, output_projection=None, feed_previous=False
):
    with tf.variable_scope("embedding_rnn_seq2seq"):
        _, state = encode(make_cell, enc, n_enc, emb_size)
        cell = (
            make_cell()
            if output_projection is not None
            else OutputProjectionWrapper(make_cell(), n_dec)
        )
        with tf.variable_scope("embedding_rnn_decoder"):
            embedding = tf.get_variable("embedding", [n_dec, emb_size])
            loop = argmax_and_embed(embedding, output_projection) if feed_previous else None
            emb = [tf.nn.embedding_lookup(embedding, i) for i in dec]
            return rnn_decoder(emb, state, cell, loop_function=loop)


def embedding_attention_seq2seq(
    enc,
    dec,
    make_cell,
    n_enc,
    n_dec,
    emb_size,
    num_heads=1,
    output_projection=None,
    feed_previous=False,
    initial_state_attention=False,
):
    with tf.variable_scope("embedding_attention_seq2seq"):
        outputs, state = encode(make_cell, enc, n_enc, emb_size)
        cell = make_cell()
        states = tf.concat([tf.reshape(e, [-1, 1, cell.output_size]) for e in outputs], 1)
        output_size = None
        if output_projection is None:
            cell = OutputProjectionWrapper(cell, n_dec)
            output_size = n_dec
        with tf.variable_scope("embedding_attention_decoder"):
            embedding = tf.get_variable("embedding", [n_dec, emb_size])
            loop = argmax_and_embed(embedding, output_projection) if feed_previous else None
            emb = [tf.nn.embedding_lookup(embedding, i) for i in dec]
            return attention_decoder(
                emb, state, states, cell, output_size, num_heads, loop, initial_state_attention
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
