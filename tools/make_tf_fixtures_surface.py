"""Write the TensorFlow fixtures of the rest of the TF1 RNN surface into ``tests/fixtures/surface/``.

Wrappers (DropoutWrapper with every keep probability 1, variational or not; ResidualWrapper), the bidirectional
unrolls (``bidirectional_dynamic_rnn`` in both time layouts, ``static_bidirectional_rnn``), the contrib stacks
(``stack_bidirectional_dynamic_rnn`` / ``stack_bidirectional_rnn``) and ``raw_rnn``, each with sequence lengths
(0, partial and full). Run with the oracle venv (TensorFlow is never a dependency of rnnkit or of its tests)::

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/make_tf_fixtures_surface.py [--out DIR] [--random N]

``--random N`` writes N randomly drawn cases instead of the fixed list (the outside random check:
replay them with ``python -m tests.tf_fixtures.surface_replay DIR``).

tf.contrib no longer exists in TF 2.x, so the two stacked unrolls are rebuilt here from TF 1.15's
``contrib/rnn/python/ops/rnn.py`` structure: variable scopes ``stack_bidirectional_rnn/cell_{i}`` around
``tf.nn.bidirectional_dynamic_rnn`` (outputs concatenated on the last axis between layers), and, for the static
stack, the layer scope passed down as the ``scope`` of ``tf.nn.static_bidirectional_rnn``.

Each case (``manifest.json`` entry; ``tests/tf_fixtures/surface_replay.py`` reads them) says how to rebuild the model:
``id, model, fw, bw, time_major, batch, time, depth, sequence_length, dtype, variables`` and the ``.npz`` file
with ``inputs`` (``[B, T, D]``; ``[T, B, D]`` when time-major and for the static and raw unrolls), ``var_{k}``,
``out_{i}`` / ``state_{i}`` (nest-flattened outputs and final states; static outputs stacked ``[T, B, F]``),
``r_out_{i}`` / ``r_state_{i}`` (random loss weights), ``grad_inputs`` and ``grad_var_{k}`` of
``loss = sum_i sum(out_i * r_out_i) + sum_i sum(state_i * r_state_i)``.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
import zlib
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow.compat.v1 as tf
from surface_fixture_cases import fixed_cases, random_cases
from tf_contrib_wrappers import InputProjectionWrapper, OutputProjectionWrapper

tf.disable_eager_execution()
warnings.filterwarnings("ignore", category=UserWarning)
tf.logging.set_verbosity(tf.logging.ERROR)

ROOT = Path(__file__).resolve().parents[1]
_ACT = {"relu": tf.nn.relu, "tanh": tf.tanh}


# ----------------------------------------------------------------------------------------------- contrib
# tf.contrib is gone from TF 2.x. This class and the two projection wrappers (tools/tf_contrib_wrappers.py)
# re-state TF 1.15's contrib cells on TF's own RNNCell (whose __call__ opens the variable scope named after the
# class, snake-cased, exactly as in 1.15), so that TF itself produces their variable names, creation order and
# numbers. Their bodies follow tensorflow/contrib/rnn/python/ops/{core_rnn_cell,rnn_cell}.py at v1.15.0 step for
# step.
class LayerNormBasicLSTMCell(tf.nn.rnn_cell.RNNCell):
    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        layer_norm: bool = True,
        norm_gain: float = 1.0,
        norm_shift: float = 0.0,
        activation: Any = None,
    ) -> None:
        super().__init__()
        self._units, self._forget_bias, self._ln = num_units, forget_bias, layer_norm
        self._gain, self._shift, self._act = norm_gain, norm_shift, activation or tf.tanh

    @property
    def state_size(self) -> Any:
        return tf.nn.rnn_cell.LSTMStateTuple(self._units, self._units)

    @property
    def output_size(self) -> int:
        return self._units

    def _norm(self, v: Any, scope: str) -> Any:
        # contrib: gamma then beta by get_variable, then layers.layer_norm (moments + batch_normalization, 1e-12)
        with tf.variable_scope(scope):
            gamma = tf.get_variable(
                "gamma", [self._units], v.dtype, tf.constant_initializer(self._gain)
            )
            beta = tf.get_variable(
                "beta", [self._units], v.dtype, tf.constant_initializer(self._shift)
            )
        mean, variance = tf.nn.moments(v, [1], keepdims=True)
        return tf.nn.batch_normalization(v, mean, variance, beta, gamma, 1e-12)

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        c, h = state
        args = tf.concat([inputs, h], 1)
        z = tf.matmul(
            args, tf.get_variable("kernel", [args.shape[-1], 4 * self._units], args.dtype)
        )
        if not self._ln:
            z = tf.nn.bias_add(z, tf.get_variable("bias", [4 * self._units], args.dtype))
        i, j, f, o = tf.split(z, 4, axis=1)
        if self._ln:
            i, j = self._norm(i, "input"), self._norm(j, "transform")
            f, o = self._norm(f, "forget"), self._norm(o, "output")
        new_c = c * tf.sigmoid(f + self._forget_bias) + tf.sigmoid(i) * self._act(j)
        if self._ln:
            new_c = self._norm(new_c, "state")
        new_h = self._act(new_c) * tf.sigmoid(o)
        return new_h, tf.nn.rnn_cell.LSTMStateTuple(new_c, new_h)


_CONTRIB = {
    c.__name__: c for c in (OutputProjectionWrapper, InputProjectionWrapper, LayerNormBasicLSTMCell)
}


# ----------------------------------------------------------------------------------------------- cells
def tf_cell(spec: dict[str, Any], dtype: Any) -> Any:
    """A TF cell from a spec ``{"type", "kwargs", "cell"/"cells"}`` (the same spec builds the rnnkit cell)."""
    kind, kwargs = spec["type"], dict(spec.get("kwargs", {}))
    if isinstance(kwargs.get("activation"), str):
        kwargs["activation"] = _ACT[kwargs["activation"]]
    rnn = tf.nn.rnn_cell
    if kind == "MultiRNNCell":
        return rnn.MultiRNNCell([tf_cell(s, dtype) for s in spec["cells"]])
    if kind == "DropoutWrapper":
        if kwargs.get("variational_recurrent"):
            kwargs["dtype"] = dtype
        return rnn.DropoutWrapper(tf_cell(spec["cell"], dtype), **kwargs)
    if kind == "ResidualWrapper":
        return rnn.ResidualWrapper(tf_cell(spec["cell"], dtype))
    if kind in ("OutputProjectionWrapper", "InputProjectionWrapper"):
        return _CONTRIB[kind](tf_cell(spec["cell"], dtype), **kwargs)
    if kind in _CONTRIB:
        return _CONTRIB[kind](**kwargs)
    return getattr(rnn, kind)(**kwargs)


# ----------------------------------------------------------------------------------------------- models
def _seq_len(case: dict[str, Any]) -> Any:
    lengths = case["sequence_length"]
    return None if lengths is None else tf.constant(lengths, dtype=tf.int32)


def _raw_rnn(
    cell: Any, x: Any, lengths: Any, case: dict[str, Any], dtype: Any
) -> tuple[list, list]:
    """TF's own raw_rnn example: read time-major inputs from a TensorArray until each row's length."""
    time, batch = case["time"], case["batch"]
    lengths = lengths if lengths is not None else tf.fill([batch], time)
    inputs_ta = tf.TensorArray(dtype=dtype, size=time).unstack(x)

    def loop_fn(t, cell_output, cell_state, loop_state):
        emit = cell_output  # None at time 0: the emit structure defaults to cell.output_size
        state = cell.zero_state(batch, dtype) if cell_output is None else cell_state
        finished = t >= lengths
        all_done = tf.reduce_all(finished)
        nxt = tf.cond(
            all_done, lambda: tf.zeros([batch, case["depth"]], dtype), lambda: inputs_ta.read(t)
        )
        counter = tf.constant(0, tf.int32) if loop_state is None else loop_state + 1
        return finished, nxt, state, emit, counter

    emit_ta, final_state, final_loop = tf.nn.raw_rnn(cell, loop_fn)
    return [emit_ta.stack()], tf.nest.flatten(final_state) + [tf.cast(final_loop, dtype)]


def build_tf(case: dict[str, Any], x: Any, init: list | None = None) -> tuple[list, list]:
    """The model's nest-flattened (outputs, final states) in TF."""
    dtype = tf.float64 if case["dtype"] == "float64" else tf.float32
    lengths, model, tm = _seq_len(case), case["model"], case["time_major"]
    fw = [tf_cell(s, dtype) for s in case["fw"]]
    bw = [tf_cell(s, dtype) for s in case.get("bw", [])]
    initial = {}
    if init is not None:  # flat list of constants: fw's state leaves, then bw's
        n_fw = len(tf.nest.flatten(fw[0].state_size))
        initial = {
            "initial_state_fw": tf.nest.pack_sequence_as(fw[0].state_size, init[:n_fw]),
            "initial_state_bw": tf.nest.pack_sequence_as(bw[0].state_size, init[n_fw:]),
        }
    if model == "dynamic":
        out, st = tf.nn.dynamic_rnn(fw[0], x, sequence_length=lengths, dtype=dtype, time_major=tm)
        return [out], tf.nest.flatten(st)
    if model == "raw_rnn":
        return _raw_rnn(fw[0], x, lengths, case, dtype)
    if model == "bidirectional_dynamic":
        outs, states = tf.nn.bidirectional_dynamic_rnn(
            fw[0], bw[0], x, sequence_length=lengths, dtype=dtype, time_major=tm, **initial
        )
        return list(outs), tf.nest.flatten(states)
    if model == "static_bidirectional":
        outs, s_fw, s_bw = tf.nn.static_bidirectional_rnn(
            fw[0], bw[0], tf.unstack(x, axis=0), sequence_length=lengths, dtype=dtype, **initial
        )
        return [tf.stack(outs, 0)], tf.nest.flatten((s_fw, s_bw))
    states_fw, states_bw = [], []
    with tf.variable_scope("stack_bidirectional_rnn"):
        if model == "stack_bidirectional_dynamic":
            layer = x
            for i, (cf, cb) in enumerate(zip(fw, bw)):
                with tf.variable_scope(f"cell_{i}"):
                    outs, (sf, sb) = tf.nn.bidirectional_dynamic_rnn(
                        cf, cb, layer, sequence_length=lengths, dtype=dtype, time_major=tm
                    )
                    layer = tf.concat(outs, 2)
                states_fw.append(sf)
                states_bw.append(sb)
            return [layer], tf.nest.flatten((tuple(states_fw), tuple(states_bw)))
        layer = tf.unstack(x, axis=0)
        for i, (cf, cb) in enumerate(zip(fw, bw)):
            with tf.variable_scope(f"cell_{i}") as layer_scope:
                layer, sf, sb = tf.nn.static_bidirectional_rnn(
                    cf, cb, layer, sequence_length=lengths, dtype=dtype, scope=layer_scope
                )
            states_fw.append(sf)
            states_bw.append(sb)
        return [tf.stack(layer, 0)], tf.nest.flatten((tuple(states_fw), tuple(states_bw)))


def run_case(case: dict[str, Any]) -> dict[str, np.ndarray]:
    """Build and run one case in a fresh graph; fills ``case["variables"]`` and returns the arrays."""
    rng = np.random.RandomState(zlib.crc32(case["id"].encode()) % (2**31))
    np_dtype = np.float64 if case["dtype"] == "float64" else np.float32
    b, t, d = case["batch"], case["time"], case["depth"]
    time_first = case["time_major"] or case["model"] in (
        "static_bidirectional",
        "stack_bidirectional_static",
        "raw_rnn",
    )
    inputs = rng.randn(*((t, b, d) if time_first else (b, t, d))).astype(np_dtype)
    arrays: dict[str, np.ndarray] = {"inputs": inputs}
    graph = tf.Graph()
    with graph.as_default():
        x = tf.constant(inputs)
        init = None
        if case.get("initial_state"):  # random initial states: fw's flattened leaves, then bw's
            dtype = tf.float64 if case["dtype"] == "float64" else tf.float32
            sizes = [
                n
                for spec in (case["fw"][0], case["bw"][0])
                for n in tf.nest.flatten(tf_cell(spec, dtype).state_size)
            ]
            for i, n in enumerate(sizes):
                arrays[f"init_{i}"] = rng.randn(b, n).astype(np_dtype)
            init = [tf.constant(arrays[f"init_{i}"]) for i in range(len(sizes))]
        outs, states = build_tf(case, x, init)
        variables = tf.global_variables()
        case["variables"] = [v.name[:-2] for v in variables]
        # The loss weights are fed: the whole graph exists before the session starts (while_v2 cannot be
        # differentiated in a graph extended after a run).
        r_out_ph = [tf.placeholder(o.dtype) for o in outs]
        r_state_ph = [tf.placeholder(s.dtype) for s in states]
        loss = tf.add_n(
            [tf.reduce_sum(o * r) for o, r in zip(outs, r_out_ph)]
            + [tf.reduce_sum(s * r) for s, r in zip(states, r_state_ph)]
        )
        grad_ops = tf.gradients(loss, [x, *(init or []), *variables])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for k, v in enumerate(variables):
                value = (rng.randn(*v.shape.as_list()) * 0.5).astype(np_dtype)
                v.load(value, sess)
                arrays[f"var_{k}"] = value
            out_vals, state_vals = sess.run([outs, states])
            r_out = [np.asarray(rng.randn(*o.shape), dtype=np_dtype) for o in out_vals]
            r_state = [np.asarray(rng.randn(*s.shape), dtype=np_dtype) for s in state_vals]
            feed = dict(zip(r_out_ph + r_state_ph, r_out + r_state))
            grads = sess.run([g for g in grad_ops if g is not None], feed)
            grads_iter = iter(grads)
            grads = [None if g is None else next(grads_iter) for g in grad_ops]
    for i, (o, r) in enumerate(zip(out_vals, r_out)):
        arrays[f"out_{i}"], arrays[f"r_out_{i}"] = o, r
    for i, (s, r) in enumerate(zip(state_vals, r_state)):
        arrays[f"state_{i}"], arrays[f"r_state_{i}"] = s, r
    arrays["grad_inputs"] = np.zeros_like(inputs) if grads[0] is None else np.asarray(grads[0])
    n_init = len(init or [])
    for i, g in enumerate(grads[1 : 1 + n_init]):
        arrays[f"grad_init_{i}"] = (
            np.zeros_like(arrays[f"init_{i}"]) if g is None else np.asarray(g)
        )
    case["n_init"] = n_init
    for k, g in enumerate(grads[1 + n_init :]):
        arrays[f"grad_var_{k}"] = np.zeros_like(arrays[f"var_{k}"]) if g is None else np.asarray(g)
    case["n_out"], case["n_state"] = len(out_vals), len(state_vals)
    return arrays


# The cases (no TensorFlow): tools/surface_fixture_cases.py.


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "surface")
    parser.add_argument(
        "--random", type=int, default=0, help="write N random cases instead of the fixed list"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cases = random_cases(args.random, args.seed) if args.random else fixed_cases()
    args.out.mkdir(parents=True, exist_ok=True)
    for c in cases:
        arrays = run_case(c)
        c["file"] = f"{c['id']}.npz"
        np.savez_compressed(args.out / c["file"], **arrays)
        print(f"{c['id']}: {len(c['variables'])} variables")
    manifest = {
        "tensorflow": tf.__version__,
        "generator": "tools/make_tf_fixtures_surface.py",
        "cases": cases,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
