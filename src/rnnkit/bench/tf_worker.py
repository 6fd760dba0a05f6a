"""The TensorFlow column of the speed benchmark, run by a TF python in its own process (rnnkit's venv has no TF).

Reads JSON commands, one a line, on stdin and answers one JSON line each on stdout::

    {"shape": {...Shape fields...}, "mode": "train" | "infer", "threads": 1, "iters": 5}  ->  {"seconds": 0.41}

The model is the same network as ``models.py`` written in TF1 compat: ``tf.nn.dynamic_rnn`` over
``tf.nn.rnn_cell`` cells, Adam, inputs fed through placeholders as TF1 programs did. One graph and session per
(shape, threads), built on first use. Run with ``TF_USE_LEGACY_KERAS=1``.
"""

import json
import sys
import time
from typing import Any

import numpy as np


def _build(tf: Any, shape: dict[str, Any], threads: int) -> Any:
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(0)
        b, t, d, h = shape["batch"], shape["time"], shape["depth"], shape["units"]
        per_step = shape["head"] == "per_step"
        x = tf.placeholder(tf.float32, [b, t, 1 if per_step else d])
        y = tf.placeholder(tf.float32 if per_step else tf.int32, [b, t, 1] if per_step else [b])
        inputs = tf.layers.dense(x, d) if per_step else x
        # output dropout (shape "keep" < 1): fed in training, 1.0 (the default) for inference, as TF1 programs did
        keep = tf.placeholder_with_default(1.0, [])

        def one() -> Any:
            if shape["kind"] == "gru":
                cell = tf.nn.rnn_cell.GRUCell(h)
            elif shape["kind"] == "peephole":
                cell = tf.nn.rnn_cell.LSTMCell(h, use_peepholes=True)
            else:
                cell = tf.nn.rnn_cell.BasicLSTMCell(h)
            if shape.get("keep", 1.0) < 1.0:
                cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=keep)
            return cell

        cell = (
            one()
            if shape["layers"] == 1
            else tf.nn.rnn_cell.MultiRNNCell([one() for _ in range(shape["layers"])])
        )
        outputs, _ = tf.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
        if per_step:
            pred = tf.layers.dense(outputs, 1)
            loss = tf.reduce_mean(tf.square(pred - y))
        else:
            pred = tf.layers.dense(outputs[:, -1], 10)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=pred)
            )
        train = tf.train.AdamOptimizer(1e-3).minimize(loss)
        init = tf.global_variables_initializer()
    config = tf.ConfigProto(
        intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads
    )
    sess = tf.Session(graph=graph, config=config)
    sess.run(init)
    rng = np.random.default_rng(0)
    xv = rng.standard_normal(x.shape.as_list()).astype(np.float32)
    yv = (
        rng.standard_normal([b, t, 1]).astype(np.float32)
        if per_step
        else rng.integers(0, 10, [b]).astype(np.int32)
    )
    feeds = {"train": {x: xv, y: yv, keep: shape.get("keep", 1.0)}, "infer": {x: xv, y: yv}}
    return sess, feeds, train, pred


def main() -> None:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow.compat.v1 as tf

    tf.disable_eager_execution()
    sessions = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        key = (json.dumps(cmd["shape"], sort_keys=True), cmd["threads"])
        if key not in sessions:
            sessions[key] = _build(tf, cmd["shape"], cmd["threads"])
        sess, feeds, train, pred = sessions[key]
        fetch = train if cmd["mode"] == "train" else pred
        feed = feeds[cmd["mode"]]
        clock = time.process_time if cmd.get("clock") == "cpu" else time.perf_counter
        start = clock()
        for _ in range(cmd["iters"]):
            sess.run(fetch, feed_dict=feed)
        print(json.dumps({"seconds": clock() - start}), flush=True)


if __name__ == "__main__":
    main()
