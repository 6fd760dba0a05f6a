"""Write real ``tf.train.Saver`` checkpoints of whole TF1 models into ``tests/fixtures/tf_models/``.

Run with the TensorFlow oracle (``bash tools/setup_tf_oracle.sh`` creates it; never needed by the tests)::

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/make_tf_model_fixtures.py

Each model NAME gives ``NAME/model.ckpt.{index,data-*}`` + ``NAME/checkpoint`` and ``NAME.npz`` with the
inputs (``inputs``, ``lengths``, ``ids``), TF's outputs and final states (``out:<key>``), and every saved
variable as TF reads it back (``var:<name>``). The models carry what real training leaves in a checkpoint:
``global_step``, a learning-rate variable, Adam's slots and beta powers (one Adam step is taken before the
weights are set to random non-symmetric values).

- ``ptb``: tensorflow/models' ptb_word_lm graph (``Model/embedding``, ``Model/RNN/multi_rnn_cell/cell_N/
  basic_lstm_cell/*``, ``Model/softmax_w``, ``Model/softmax_b``, ``Model/Variable`` = the learning rate),
  built as that program builds it: a cell called step by step under ``variable_scope("RNN")``, forget_bias 0.
- ``char_rnn``: sherjilozair/char-rnn's graph (GRU flavour): ``rnnlm/softmax_w``, ``rnnlm/softmax_b``,
  ``rnnlm/embedding`` beside ``rnnlm/multi_rnn_cell/...`` (legacy_seq2seq.rnn_decoder's scope is ``rnnlm``).
- ``zoo``: one ``dynamic_rnn`` per cell kind, each under its own scope (plain, peephole + projection stacks,
  mixed stacks, the contrib LayerNormBasicLSTMCell and projection wrappers, restated as in
  make_tf_fixtures_surface.py), with sequence lengths.
- ``bidirectional``: ``bidirectional_dynamic_rnn``, ``stack_bidirectional_dynamic_rnn`` and (under ``static``)
  the static ``stack_bidirectional_rnn``, mixed cells.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tf_fixtures_surface as surface  # noqa: E402  (sets up TF1 mode)
from surface_fixture_cases import C, M, W  # noqa: E402

tf = surface.tf
rnn = tf.nn.rnn_cell
OUT = surface.ROOT / "tests" / "fixtures" / "tf_models"
B, T, D = 3, 4, 3


def _flat_state(prefix: str, state: Any) -> dict[str, Any]:
    return {f"{prefix}{i}": leaf for i, leaf in enumerate(tf.nest.flatten(state))}


def _train_step(loss: Any) -> Any:
    """global_step, a learning-rate variable and Adam's slots, as a training program leaves them."""
    global_step = tf.train.get_or_create_global_step()
    lr = tf.Variable(0.01, trainable=False, name="learning_rate")
    return tf.train.AdamOptimizer(lr).minimize(loss, global_step=global_step)


def _randomize(sess: Any, rng: np.random.Generator) -> None:
    for var in tf.global_variables():
        if var.dtype.base_dtype.is_floating and len(var.shape) > 0:
            var.load(rng.uniform(-0.6, 0.6, size=var.shape.as_list()).astype(np.float32), sess)


def _save(name: str, sess: Any, arrays: dict[str, np.ndarray]) -> None:
    directory = OUT / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    prefix = tf.train.Saver().save(sess, str(directory / "model.ckpt"), write_meta_graph=False)
    reader = tf.train.load_checkpoint(prefix)
    for var_name in reader.get_variable_to_shape_map():
        arrays[f"var:{var_name}"] = reader.get_tensor(var_name)
    np.savez_compressed(OUT / f"{name}.npz", **arrays)
    (directory / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n'
    )
    print(f"{name}: {len(reader.get_variable_to_shape_map())} tensors")


def _run(name: str, build: Any, seed: int, feeds: dict[str, np.ndarray]) -> None:
    """``build(placeholders) -> (outputs dict, loss)``; one Adam step, random weights, run, save."""
    rng = np.random.default_rng(seed)
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        holders = {
            k: tf.placeholder(tf.as_dtype(v.dtype), v.shape, name=k) for k, v in feeds.items()
        }
        outputs, loss = build(holders)
        train = _train_step(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            feed = {holders[k]: v for k, v in feeds.items()}
            sess.run(train, feed)  # slots and beta powers move off their initial values
            _randomize(sess, rng)
            values = sess.run(outputs, feed)
            _save(name, sess, {**feeds, **{f"out:{k}": v for k, v in values.items()}})


def ptb(h: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    vocab, size, layers = 11, 4, 2
    init = tf.random_uniform_initializer(-0.1, 0.1)
    with tf.variable_scope("Model", initializer=init):
        embedding = tf.get_variable("embedding", [vocab, size], dtype=tf.float32)
        inputs = tf.nn.embedding_lookup(embedding, h["ids"])
        cell = rnn.MultiRNNCell([rnn.BasicLSTMCell(size, forget_bias=0.0) for _ in range(layers)])
        state = cell.zero_state(B, tf.float32)
        outputs = []
        with tf.variable_scope("RNN"):
            for t in range(T):
                if t > 0:
                    tf.get_variable_scope().reuse_variables()
                out, state = cell(inputs[:, t, :], state)
                outputs.append(out)
        output = tf.reshape(tf.concat(outputs, 1), [-1, size])
        softmax_w = tf.get_variable("softmax_w", [size, vocab], dtype=tf.float32)
        softmax_b = tf.get_variable("softmax_b", [vocab], dtype=tf.float32)
        logits = tf.reshape(tf.nn.xw_plus_b(output, softmax_w, softmax_b), [B, T, vocab])
        tf.Variable(0.0, trainable=False)  # ptb's self._lr: saved as Model/Variable
    loss = tf.reduce_sum(tf.square(logits))
    return {"logits": logits, **_flat_state("state_", state)}, loss


def char_rnn(h: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    vocab, size = 7, 3
    cell = rnn.MultiRNNCell([rnn.GRUCell(size) for _ in range(2)])
    with tf.variable_scope("rnnlm"):
        softmax_w = tf.get_variable("softmax_w", [size, vocab])
        softmax_b = tf.get_variable("softmax_b", [vocab])
        embedding = tf.get_variable("embedding", [vocab, size])
        inputs = tf.unstack(tf.nn.embedding_lookup(embedding, h["ids"]), axis=1)
    state = cell.zero_state(B, tf.float32)
    outputs = []
    with tf.variable_scope("rnnlm"):  # legacy_seq2seq.rnn_decoder(..., scope="rnnlm")
        for t, inp in enumerate(inputs):
            if t > 0:
                tf.get_variable_scope().reuse_variables()
            out, state = cell(inp, state)
            outputs.append(out)
    logits = tf.matmul(tf.concat(outputs, 0), softmax_w) + softmax_b
    return {"outputs": tf.stack(outputs, 1), **_flat_state("state_", state)}, tf.reduce_sum(
        logits**2
    )


ZOO = {
    "basic_rnn": C("BasicRNNCell", num_units=4),
    "gru": C("GRUCell", num_units=3),
    "basic_lstm": C("BasicLSTMCell", num_units=4),
    "lstm_peep_proj": M(
        C("LSTMCell", num_units=5, use_peepholes=True, num_proj=3), C("LSTMCell", num_units=4)
    ),
    "mixed_stack": M(
        C("GRUCell", num_units=3), C("BasicLSTMCell", num_units=4), C("BasicRNNCell", num_units=2)
    ),
    "layer_norm": C("LayerNormBasicLSTMCell", num_units=4),
    "layer_norm_off": C("LayerNormBasicLSTMCell", num_units=3, layer_norm=False),
    "out_proj": W(
        "OutputProjectionWrapper",
        M(C("BasicLSTMCell", num_units=4), C("GRUCell", num_units=3)),
        output_size=2,
    ),
    "in_proj": W(
        "InputProjectionWrapper", C("LSTMCell", num_units=3, use_peepholes=True), num_proj=5
    ),
}


def zoo(h: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    outputs: dict[str, Any] = {}
    for key, spec in ZOO.items():
        with tf.variable_scope(key):
            out, state = tf.nn.dynamic_rnn(
                surface.tf_cell(spec, tf.float32),
                h["inputs"],
                sequence_length=h["lengths"],
                dtype=tf.float32,
            )
        outputs[f"{key}/outputs"] = out
        outputs.update(_flat_state(f"{key}/state_", state))
    return outputs, sum(tf.reduce_sum(v**2) for v in outputs.values())


def bidirectional(h: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    x, lengths = h["inputs"], h["lengths"]
    (out_fw, out_bw), states = tf.nn.bidirectional_dynamic_rnn(
        rnn.LSTMCell(4, use_peepholes=True),
        rnn.GRUCell(3),
        x,
        sequence_length=lengths,
        dtype=tf.float32,
    )
    result = {"bi/out_fw": out_fw, "bi/out_bw": out_bw, **_flat_state("bi/state_", states)}
    stack = {
        "model": "stack_bidirectional_dynamic",
        "fw": [C("BasicLSTMCell", num_units=3), C("GRUCell", num_units=2)],
        "bw": [C("GRUCell", num_units=2), C("LSTMCell", num_units=3, num_proj=2)],
        "sequence_length": None,
        "time_major": False,
        "dtype": "float32",
    }
    outs, sts = surface.build_tf(stack, x)
    result.update({"stack/out": outs[0], **_flat_state("stack/state_", sts)})
    with tf.variable_scope("static"):
        static = dict(stack, model="stack_bidirectional_static")
        outs, sts = surface.build_tf(static, tf.transpose(x, [1, 0, 2]))
    result.update({"static/out": outs[0], **_flat_state("static/state_", sts)})
    return result, sum(tf.reduce_sum(v**2) for v in result.values())


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(18)
    ids = rng.integers(0, 11, size=(B, T)).astype(np.int32)
    _run("ptb", ptb, 1, {"ids": ids})
    _run("char_rnn", char_rnn, 2, {"ids": (ids % 7).astype(np.int32)})
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    lengths = np.array([4, 2, 0], dtype=np.int32)
    _run("zoo", zoo, 3, {"inputs": x, "lengths": lengths})
    _run("bidirectional", bidirectional, 4, {"inputs": x, "lengths": lengths})


if __name__ == "__main__":
    main()
