"""Write small real TF checkpoints (and TF's outputs) into tests/fixtures/checkpoints/.

Run with the TensorFlow python (never needed by the test suite):

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/make_tf_checkpoint_fixtures.py \
        [--rnnkit-python .venv/bin/python]

For every model NAME it writes ``NAME/model.ckpt.{index,data-*}`` and ``NAME/checkpoint`` with
``tf.train.Saver`` (no meta graph), and ``NAME.npz`` holding the inputs, TF's outputs, and every saved
variable as TF itself reads it back (``var:<name>``), so the tests compare rnnkit's reader to TF's.

It then checks the other direction: a checkpoint written by ``rnnkit.tf_checkpoint.write`` (run by
``--rnnkit-python`` with this checkout's ``src`` on PYTHONPATH, since rnnkit needs torch and this venv
has none) is read by ``tf.train.load_checkpoint`` and restored by ``tf.compat.v1.train.Saver().restore``,
value for value. The result is printed; any difference stops the script with an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow.compat.v1 as tf

tf.disable_eager_execution()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "checkpoints")
rnn = tf.nn.rnn_cell


def _randomize(sess: tf.Session, rng: np.random.Generator) -> None:
    """Non-symmetric, nonzero values for every variable (TF's zero biases would test less)."""
    for var in tf.global_variables():
        shape = var.shape.as_list()
        dtype = var.dtype.base_dtype
        if dtype == tf.string:
            continue
        if dtype.is_floating:
            value = rng.uniform(-0.6, 0.6, size=shape)
        elif dtype == tf.bool:
            value = rng.random(size=shape) < 0.5
        else:
            value = rng.integers(-100, 100, size=shape)
            if dtype.is_unsigned:
                value = np.abs(value)
        var.load(np.asarray(value).astype(dtype.as_numpy_dtype), sess)


def _save(name: str, sess: tf.Session, saver: tf.train.Saver, arrays: dict) -> None:
    directory = os.path.join(OUT, name)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    prefix = saver.save(sess, os.path.join(directory, "model.ckpt"), write_meta_graph=False)
    reader = tf.train.load_checkpoint(prefix)
    dtype_map = reader.get_variable_to_dtype_map()
    for var_name in reader.get_variable_to_shape_map():
        value, dtype = reader.get_tensor(var_name), dtype_map[var_name]
        if dtype == tf.string:  # npz without pickles: keep text
            value = np.vectorize(lambda b: b.decode("utf-8"), otypes=[str])(value)
        elif dtype == tf.bfloat16:  # exact in float32 (what rnnkit returns)
            value = value.astype(np.float32)
        arrays[f"var:{var_name}"] = value
        arrays[f"dtype:{var_name}"] = np.array(dtype.name)
    np.savez_compressed(os.path.join(OUT, f"{name}.npz"), **arrays)
    # Saver writes an absolute path into the state file; keep it relative so the fixture can move.
    with open(os.path.join(directory, "checkpoint"), "w") as fh:
        fh.write('model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n')
    print(f"{name}: {len(reader.get_variable_to_shape_map())} tensors")


def _rnn_fixture(
    name: str, build, seed: int, batch=3, time=5, depth=3, lengths=None, session_config=None
):
    """Build ``build(x, lengths) -> {output name: tensor}`` in a fresh graph, randomize, run, save."""
    rng = np.random.default_rng(seed)
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        x = tf.placeholder(tf.float32, [batch, time, depth], name="x")
        seq = None if lengths is None else tf.constant(lengths, dtype=tf.int32)
        outputs = build(x, seq)
        saver = tf.train.Saver()
        with tf.Session(config=session_config) as sess:
            sess.run(tf.global_variables_initializer())
            _randomize(sess, rng)
            inputs = rng.standard_normal((batch, time, depth)).astype(np.float32)
            values = sess.run(outputs, {x: inputs})
            arrays = {"inputs": inputs, **{f"out:{k}": v for k, v in values.items()}}
            if lengths is not None:
                arrays["lengths"] = np.asarray(lengths, dtype=np.int64)
            _save(name, sess, saver, arrays)


def _state_outputs(prefix: str, state) -> dict:
    """Flatten an (LSTMStateTuple | tensor | tuple of them) final state into named outputs."""
    if isinstance(state, rnn.LSTMStateTuple):
        return {f"{prefix}c": state.c, f"{prefix}h": state.h}
    if isinstance(state, tuple):
        out = {}
        for i, s in enumerate(state):
            out.update(_state_outputs(f"{prefix}{i}_", s))
        return out
    return {f"{prefix}state": state}


def basic_lstm(x, seq):
    out, state = tf.nn.dynamic_rnn(rnn.BasicLSTMCell(4), x, dtype=tf.float32)
    return {"outputs": out, **_state_outputs("final_", state)}


def multi_lstm_peep_proj(x, seq):
    cells = [
        rnn.LSTMCell(5, use_peepholes=True, num_proj=3, cell_clip=0.8),
        rnn.LSTMCell(4, use_peepholes=True, num_proj=2),
    ]
    out, state = tf.nn.dynamic_rnn(rnn.MultiRNNCell(cells), x, dtype=tf.float32)
    return {"outputs": out, **_state_outputs("final_", state)}


def gru(x, seq):
    out, state = tf.nn.dynamic_rnn(rnn.GRUCell(4), x, sequence_length=seq, dtype=tf.float32)
    return {"outputs": out, **_state_outputs("final_", state)}


def bidirectional(x, seq):
    (out_fw, out_bw), (st_fw, st_bw) = tf.nn.bidirectional_dynamic_rnn(
        rnn.LSTMCell(4), rnn.LSTMCell(3), x, sequence_length=seq, dtype=tf.float32
    )
    return {
        "outputs_fw": out_fw,
        "outputs_bw": out_bw,
        **_state_outputs("fw_", st_fw),
        **_state_outputs("bw_", st_bw),
    }


def partitioned():
    """Variables split by a partitioner: saved as slices; rnnkit must put them back together."""
    rng = np.random.default_rng(5)
    with tf.Graph().as_default():
        emb = tf.get_variable(
            "embedding", [7, 3], partitioner=tf.fixed_size_partitioner(2), dtype=tf.float32
        )
        wide = tf.get_variable(
            "wide", [4, 6], partitioner=tf.fixed_size_partitioner(3, axis=1), dtype=tf.float64
        )
        plain = tf.get_variable("plain", [2], dtype=tf.float32)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _randomize(sess, rng)
            full = sess.run(
                {"embedding": tf.convert_to_tensor(emb), "wide": tf.convert_to_tensor(wide)}
            )
            arrays = {f"full:{k}": v for k, v in full.items()}
            arrays["full:plain"] = sess.run(plain)
            _save("partitioned", sess, saver, arrays)


def sharded():
    """Saver(sharded=True) over two CPU devices: index with num_shards=2, two data files."""
    rng = np.random.default_rng(6)
    config = tf.ConfigProto(device_count={"CPU": 2})
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            tf.get_variable("on_cpu0/kernel", [3, 4], dtype=tf.float32)
            tf.get_variable("on_cpu0/step", [], dtype=tf.int64)
        with tf.device("/cpu:1"):
            tf.get_variable("on_cpu1/kernel", [5, 2], dtype=tf.float32)
            tf.get_variable("on_cpu1/bias", [2], dtype=tf.float64)
        saver = tf.train.Saver(sharded=True)
        with tf.Session(config=config) as sess:
            sess.run(tf.global_variables_initializer())
            _randomize(sess, rng)
            _save("sharded", sess, saver, {})


def dtypes():
    rng = np.random.default_rng(7)
    specs = {
        "f16": (tf.float16, [3, 2]),
        "f32": (tf.float32, [4]),
        "f64": (tf.float64, [2, 2]),
        "bf16": (tf.bfloat16, [5]),
        "i8": (tf.int8, [3]),
        "i16": (tf.int16, [3]),
        "i32": (tf.int32, [2, 3]),
        "i64": (tf.int64, []),
        "u8": (tf.uint8, [4]),
        "flag": (tf.bool, [6]),
    }
    with tf.Graph().as_default():
        for name, (dtype, shape) in specs.items():
            init = np.zeros(
                shape, dtype=np.float32 if dtype == tf.bfloat16 else dtype.as_numpy_dtype
            )
            tf.Variable(tf.constant(init, dtype=dtype), name=name)
        tf.Variable(tf.constant(["a", "bc"]), name="words")  # string: listed, not read
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _randomize(sess, rng)
            _save("dtypes", sess, saver, {})


def legacy_names():
    """The basic_lstm fixture's values under pre-1.2 names, as TF 0.x/1.0 programs saved them."""
    reader = tf.train.load_checkpoint(os.path.join(OUT, "basic_lstm", "model.ckpt"))
    renames = {
        "RNN/BasicLSTMCell/Linear/Matrix": "rnn/basic_lstm_cell/kernel",
        "RNN/BasicLSTMCell/Linear/Bias": "rnn/basic_lstm_cell/bias",
    }
    with tf.Graph().as_default():
        var_list = {
            old: tf.Variable(reader.get_tensor(new), name=old.replace("/", "_"))
            for old, new in renames.items()
        }
        saver = tf.train.Saver(var_list)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _save("legacy_names", sess, saver, {})


def sine_seed000():
    """Seed 000's sine->cosine model (in_hidden / LSTM_cell / out_hidden, Adam), trained 30 steps."""
    steps, batch, cell_size, lr = 20, 50, 10, 0.006
    rng = np.random.default_rng(8)
    with tf.Graph().as_default():
        tf.set_random_seed(8)
        xs = tf.placeholder(tf.float32, [None, steps, 1])
        ys = tf.placeholder(tf.float32, [None, steps, 1])
        with tf.variable_scope("in_hidden"):
            w_in = tf.get_variable(
                "weights", [1, cell_size], initializer=tf.random_normal_initializer()
            )
            b_in = tf.get_variable("biases", [cell_size], initializer=tf.constant_initializer(0.1))
            l_in = tf.reshape(
                tf.matmul(tf.reshape(xs, [-1, 1]), w_in) + b_in, [-1, steps, cell_size]
            )
        with tf.variable_scope("LSTM_cell"):
            cell = rnn.BasicLSTMCell(cell_size, forget_bias=1.0, state_is_tuple=True)
            init_state = cell.zero_state(batch, tf.float32)
            outs, final = tf.nn.dynamic_rnn(cell, l_in, initial_state=init_state)
        with tf.variable_scope("out_hidden"):
            w_out = tf.get_variable(
                "weights", [cell_size, 1], initializer=tf.random_normal_initializer()
            )
            b_out = tf.get_variable("biases", [1], initializer=tf.constant_initializer(0.1))
            pred = tf.matmul(tf.reshape(outs, [-1, cell_size]), w_out) + b_out
        cost = tf.reduce_sum(tf.square(tf.reshape(pred, [-1]) - tf.reshape(ys, [-1]))) / (
            batch * steps
        )
        train = tf.train.AdamOptimizer(lr).minimize(cost)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            start, state = 0, None
            for _ in range(30):
                grid = np.arange(start, start + steps * batch).reshape(batch, steps) / (10 * np.pi)
                start += steps
                feed = {xs: np.sin(grid)[..., None], ys: np.cos(grid)[..., None]}
                if state is not None:
                    feed[init_state] = state
                _, state = sess.run([train, final], feed)
            x_eval = np.sin(rng.uniform(0, 6, size=(batch, 1)) + np.arange(steps) / (10 * np.pi))
            p = sess.run(pred, {xs: x_eval[..., None].astype(np.float32)})
            arrays = {
                "inputs": x_eval[..., None].astype(np.float32),
                "out:pred": p.reshape(batch, steps, 1),
            }
            _save("sine_seed000", sess, saver, arrays)


def mnist_seed000():
    """Seed 000's MNIST graph (Variable..Variable_3 then rnn/basic_lstm_cell) with 16 units, 3 Adam steps.

    The seed program computes ``x @ (W_in + b_in)`` (a bug); this graph does ``x @ W_in + b_in`` like
    rnnkit's ``seed000`` preset (DESIGN.md section 6); the variable names and creation order are the seed's.
    """
    n_steps = n_inputs = 28
    hidden, classes, batch = 16, 10, 4
    rng = np.random.default_rng(11)
    with tf.Graph().as_default():
        tf.set_random_seed(11)
        x = tf.placeholder(tf.float32, [None, n_steps, n_inputs])
        y = tf.placeholder(tf.float32, [None, classes])
        w_in = tf.Variable(tf.random_normal([n_inputs, hidden]))
        w_out = tf.Variable(tf.random_normal([hidden, classes]))
        b_in = tf.Variable(tf.constant(0.1, shape=[hidden]))
        b_out = tf.Variable(tf.constant(0.1, shape=[classes]))
        x_in = tf.reshape(
            tf.matmul(tf.reshape(x, [-1, n_inputs]), w_in) + b_in, [-1, n_steps, hidden]
        )
        cell = rnn.BasicLSTMCell(hidden)
        outputs, _ = tf.nn.dynamic_rnn(cell, x_in, dtype=tf.float32)
        logits = tf.matmul(tf.unstack(tf.transpose(outputs, [1, 0, 2]))[-1], w_out) + b_out
        cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(logits=logits, labels=y))
        train = tf.train.AdamOptimizer(1e-3).minimize(cost)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                images = rng.random((batch, n_steps, n_inputs)).astype(np.float32)
                labels = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, batch)]
                sess.run(train, {x: images, y: labels})
            # pixels as rnnkit's task makes them: uint8 / 255
            pixels = rng.integers(0, 256, (batch, n_steps, n_inputs)).astype(np.uint8)
            inputs = pixels.astype(np.float32) / 255.0
            arrays = {"inputs": inputs, "out:logits": sess.run(logits, {x: inputs})}
            _save("mnist_seed000", sess, saver, arrays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rnnkit-python",
        default=os.environ.get(
            "RNNKIT_PYTHON", os.path.join(os.path.dirname(__file__), "..", ".venv", "bin", "python")
        ),
        help="a python with torch + numpy that runs this checkout's rnnkit (for the round trip)",
    )
    parser.add_argument("--skip-round-trip", action="store_true")
    parser.add_argument(
        "--only",
        metavar="NAME",
        help="write only this fixture (e.g. mnist_seed000), keep the others",
    )
    parser.add_argument(
        "--only-round-trip", action="store_true", help="check the writer, keep fixtures"
    )
    args = parser.parse_args()
    from checkpoint_round_trip import round_trip, round_trip_model  # TF reads what rnnkit wrote

    if args.only_round_trip:
        round_trip(args.rnnkit_python)
        return round_trip_model(args.rnnkit_python)
    os.makedirs(OUT, exist_ok=True)
    if args.only:
        return globals()[args.only]()
    lengths = [5, 3, 1]
    _rnn_fixture("basic_lstm", basic_lstm, seed=1)
    _rnn_fixture("multi_lstm_peep_proj", multi_lstm_peep_proj, seed=2)
    _rnn_fixture("gru", gru, seed=3, lengths=lengths)
    _rnn_fixture("bidirectional", bidirectional, seed=4, lengths=lengths)
    partitioned()
    sharded()
    dtypes()
    legacy_names()
    sine_seed000()
    mnist_seed000()
    if not args.skip_round_trip:
        round_trip(args.rnnkit_python)
        round_trip_model(args.rnnkit_python)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(OUT) for f in files)
    print(f"fixtures: {total / 1024:.1f} KiB in {OUT}")


if __name__ == "__main__":
    sys.exit(main())
