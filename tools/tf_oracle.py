"""Run one rnnkit test case in real TensorFlow 1.x (graph mode) and return every number the replay checks.

Shared by ``tools/make_tf_fixtures.py`` (the committed fixtures) and ``tools/tf_random_check.py`` (the outside
check). Needs TensorFlow: run with the oracle venv, ``TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python``.

A *case* is a JSON-able dict (the manifest entry; ``tests/tf_fixtures/_tf_replay.py`` documents every key):

    {"id", "cells": [{"type", "kwargs"}], "multi": None | {"state_is_tuple": bool}, "unroll": "dynamic" | "static",
     "time_major": bool, "batch": B, "time": T, "depth": D, "sequence_length": None | [B ints],
     "initial_state": bool, "dtype": "float32" | "float64", "scope": None | str}

``run_case`` adds ``"variables"`` (TF names, ``tf.global_variables()`` order, no ``:0``), ``"var_scope"`` and
``"state_shapes"`` to the case and returns the arrays (keys as in ``tests/tf_fixtures/_tf_replay.py``):
    inputs [B, T, D] ([T, B, D] when time-major; always [T, B, D] for static_rnn, fed as a list over T),
    var_{k}, init_state_{i} (when given), outputs (same layout as inputs), final_state_{i} (nest-flattened),
    r_outputs, r_state_{i} (the random weights of the loss), grad_inputs, grad_init_state_{i}, grad_var_{k},
where loss = sum(outputs * r_outputs) + sum_i sum(final_state_i * r_state_i).
"""

from __future__ import annotations

import os
import warnings
import zlib
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_eager_execution()
# The TF1 cells warn that they are deprecated on every construction; that is the point of this oracle.
warnings.filterwarnings(
    "ignore", message=".*is deprecated and will be removed", category=UserWarning
)
tf.logging.set_verbosity(tf.logging.ERROR)

_CELLS = {
    "BasicRNNCell": tf.nn.rnn_cell.BasicRNNCell,
    "GRUCell": tf.nn.rnn_cell.GRUCell,
    "BasicLSTMCell": tf.nn.rnn_cell.BasicLSTMCell,
    "LSTMCell": tf.nn.rnn_cell.LSTMCell,
}
_ACTIVATIONS = {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid}


def tf_version() -> str:
    return tf.__version__


def case_seed(case_id: str) -> int:
    """A stable per-case seed, so regenerating fixtures gives the same arrays."""
    return zlib.crc32(case_id.encode())


def _make_cell(spec: dict[str, Any]) -> Any:
    kwargs = dict(spec.get("kwargs", {}))
    if isinstance(kwargs.get("activation"), str):
        kwargs["activation"] = _ACTIVATIONS[kwargs["activation"]]
    return _CELLS[spec["type"]](**kwargs)


def _random(rng: np.random.Generator, shape: Any, dtype: np.dtype) -> np.ndarray:
    return (rng.standard_normal(tuple(shape)) * 0.5).astype(dtype)


def run_case(case: dict[str, Any], seed: int | None = None) -> dict[str, np.ndarray]:
    """Build ``case`` in a fresh TF graph, set random weights, and return the arrays (see the module doc)."""
    rng = np.random.default_rng(case_seed(case["id"]) if seed is None else seed)
    np_dtype = np.dtype(case["dtype"])
    tf_dtype = tf.as_dtype(np_dtype)
    B, T, D = case["batch"], case["time"], case["depth"]
    static = case["unroll"] == "static"
    time_major = static or case["time_major"]
    in_shape = (T, B, D) if time_major else (B, T, D)
    arrays: dict[str, np.ndarray] = {"inputs": _random(rng, in_shape, np_dtype)}

    graph = tf.Graph()
    with graph.as_default():
        cells = [_make_cell(s) for s in case["cells"]]
        if case["multi"] is None:
            (cell,) = cells
        else:
            cell = tf.nn.rnn_cell.MultiRNNCell(
                cells, state_is_tuple=case["multi"]["state_is_tuple"]
            )
        x = tf.placeholder(tf_dtype, in_shape, name="inputs")
        feed = {x: arrays["inputs"]}
        init_flat: list[Any] = []
        initial_state = None
        if case["initial_state"]:
            zero = cell.zero_state(B, tf_dtype)
            init_flat = [
                tf.placeholder(tf_dtype, z.shape, name=f"init_{i}")
                for i, z in enumerate(tf.nest.flatten(zero))
            ]
            initial_state = tf.nest.pack_sequence_as(zero, init_flat)
            for i, ph in enumerate(init_flat):
                arrays[f"init_state_{i}"] = _random(rng, ph.shape.as_list(), np_dtype)
                feed[ph] = arrays[f"init_state_{i}"]
        seq_len = case["sequence_length"]
        seq = None if seq_len is None else tf.constant(seq_len, tf.int32)
        kwargs = {"initial_state": initial_state, "sequence_length": seq, "scope": case["scope"]}
        if initial_state is None:
            kwargs["dtype"] = tf_dtype
        if static:
            outs, final = tf.nn.static_rnn(cell, tf.unstack(x, axis=0), **kwargs)
            outputs = tf.stack(outs, axis=0)
        else:
            outputs, final = tf.nn.dynamic_rnn(cell, x, time_major=case["time_major"], **kwargs)
        final_flat = tf.nest.flatten(final)

        variables = tf.global_variables()
        case["variables"] = [v.name[: -len(":0")] for v in variables]
        case["var_scope"] = case["scope"] or "rnn"
        case["state_shapes"] = [t.shape.as_list() for t in final_flat]

        r_out = _random(rng, outputs.shape.as_list(), np_dtype)
        r_state = [_random(rng, t.shape.as_list(), np_dtype) for t in final_flat]
        loss = tf.reduce_sum(outputs * r_out)
        for t, r in zip(final_flat, r_state):
            loss += tf.reduce_sum(t * r)
        targets = [x, *init_flat, *variables]
        grads = tf.gradients(loss, targets)

        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            for k, v in enumerate(variables):
                # TF's initialisers would give symmetric / zero values (zero biases, zero peepholes) that hide
                # mistakes; random non-symmetric values for every variable do not.
                value = _random(rng, v.shape.as_list(), np_dtype)
                v.load(value, sess)
                arrays[f"var_{k}"] = value
            out_v, final_v, grads_v = sess.run([outputs, final_flat, grads], feed)

    arrays["outputs"] = out_v
    arrays["r_outputs"] = r_out
    for i, (s, r) in enumerate(zip(final_v, r_state)):
        arrays[f"final_state_{i}"] = s
        arrays[f"r_state_{i}"] = r
    names = (
        ["grad_inputs"]
        + [f"grad_init_state_{i}" for i in range(len(init_flat))]
        + [f"grad_var_{k}" for k in range(len(variables))]
    )
    for name, g, t in zip(names, grads_v, targets):
        # tf.gradients gives None for an unconnected target; the replay expects zeros then.
        arrays[name] = np.zeros(t.shape.as_list(), np_dtype) if g is None else np.asarray(g)
    return arrays
