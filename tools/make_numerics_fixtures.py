"""Write ``tests/fixtures/numerics/clip_boundary.json``: TF's LSTMCell at exactly ``±cell_clip`` / ``±proj_clip``.

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/make_numerics_fixtures.py

The weights put the pre-clip values exactly on the boundaries: with a zero kernel, a linear activation,
``forget_bias=0``, i/o biases of +50 (sigmoid = 1.0 exactly in float32 and float64) and an f bias of -50 on a zero
state, ``c' = j`` = the j-part of the bias, chosen as [-2, -1, -0.5, 0.5, 1, 2] with clip 1.0. Recorded: c', the
output and the gradients of ``sum(c' * wc) + sum(output * wm)`` w.r.t. the bias (and the projection kernel), which
show where TF's clip passes the gradient (``clip_by_value``: where min <= x <= max, boundaries included).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow.compat.v1 as tf

tf.disable_eager_execution()

H, D = 6, 2
J = [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]
WC = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
WM = [0.5, -1.5, 2.5, -3.5, 4.5, -5.5]


def bias() -> np.ndarray:
    # gate order i, j, f, o
    return np.concatenate([np.full(H, 50.0), J, np.full(H, -50.0), np.full(H, 50.0)])


def run(dtype: str, cell_kwargs: dict) -> dict:
    tf.reset_default_graph()
    tf_dtype = tf.float32 if dtype == "float32" else tf.float64
    cell = tf.nn.rnn_cell.LSTMCell(H, forget_bias=0.0, activation=tf.identity, **cell_kwargs)
    x = tf.zeros([1, D], dtype=tf_dtype)
    state = cell.zero_state(1, tf_dtype)
    out, new_state = cell(x, state)
    loss = tf.reduce_sum(new_state.c * tf.constant([WC], tf_dtype)) + tf.reduce_sum(
        out * tf.constant([WM], tf_dtype)
    )
    # e.g. "lstm_cell/kernel" (no unroll scope)
    variables = {v.name[:-2]: v for v in cell.variables}
    grads = tf.gradients(loss, list(variables.values()))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for name, v in variables.items():
            if name.endswith("kernel") and "projection" not in name:
                value = np.zeros(v.shape.as_list())
            elif name.endswith("bias"):
                value = bias()
            else:  # projection/kernel: identity
                value = np.eye(H)
            v.load(value.astype(dtype), sess)
        c, m, g = sess.run([new_state.c, out, grads])
    return {
        "dtype": dtype,
        "cell_kwargs": cell_kwargs,
        "c": c[0].tolist(),
        "output": m[0].tolist(),
        "grads": {name: np.asarray(gv).tolist() for name, gv in zip(variables, g)},
    }


def main() -> None:
    cases = {}
    for dtype in ("float32", "float64"):
        cases[f"cell_clip-{dtype}"] = run(dtype, {"cell_clip": 1.0})
        cases[f"proj_clip-{dtype}"] = run(dtype, {"num_proj": H, "proj_clip": 1.0})
    fixture = {
        "tf_version": tf.__version__,
        "H": H,
        "D": D,
        "j": J,
        "wc": WC,
        "wm": WM,
        "cases": cases,
    }
    path = (
        Path(__file__).resolve().parents[1]
        / "tests"
        / "fixtures"
        / "numerics"
        / "clip_boundary.json"
    )
    path.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
