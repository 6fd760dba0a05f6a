"""Write the TensorFlow fixtures of the TF 1.15 contrib cells and wrappers into ``tests/fixtures/contrib/``.

tf.contrib is gone from TF 2.x, so each cell (``tools/tf_contrib_cells.py``, ``tools/tf_contrib_cells_seq.py``) restates TF 1.15's ``tensorflow/contrib/rnn/python/ops/
rnn_cell.py`` in TF ops on TF's own ``RNNCell`` (whose ``__call__`` opens the scope named after the class,
snake-cased, as in 1.15), creating its variables with ``get_variable`` in 1.15's order. TensorFlow then computes
the variable names, the outputs, final states and gradients through ``tf.nn.dynamic_rnn`` with sequence lengths.
The case format, the runner and the replay are those of ``tools/make_tf_fixtures_surface.py`` /
``tests/tf_fixtures/surface_replay.py``. Run with the oracle venv (made by ``bash tools/setup_tf_oracle.sh``)::

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/make_tf_fixtures_contrib.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_tf_fixtures_surface as surface  # noqa: E402  (needs the path above)
import numpy as np  # noqa: E402
from make_tf_fixtures_surface import tf  # noqa: E402
from surface_fixture_cases import C, M, W, case  # noqa: E402
from tf_contrib_cells import CELLS, WRAPPERS  # noqa: E402
from tf_contrib_cells_seq import PhasedLSTMCell  # noqa: E402, F401  (registers the sequence-input cells)

ROOT = Path(__file__).resolve().parents[1]

_surface_tf_cell = surface.tf_cell


def tf_cell(spec: dict[str, Any], dtype: Any) -> Any:
    """The surface generator's ``tf_cell`` extended with the cells restated here."""
    kind, kwargs = spec["type"], dict(spec.get("kwargs", {}))
    for key in ("activation", "y_activation"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = surface._ACT[kwargs[key]]
    if kind in WRAPPERS:
        return WRAPPERS[kind](tf_cell(spec["cell"], dtype), **kwargs)
    if kind == "MultiRNNCell":
        return tf.nn.rnn_cell.MultiRNNCell([tf_cell(s, dtype) for s in spec["cells"]])
    if kind in CELLS:
        return CELLS[kind](**kwargs)
    return _surface_tf_cell(spec, dtype)


surface.tf_cell = tf_cell  # build_tf / run_case look the function up in their module at call time


def _custom_inputs(case: dict[str, Any], rng: np.random.RandomState) -> list[np.ndarray]:
    b, t = case["batch"], case["time"]
    if case["model"] == "phased":  # (times [B, T, 1], x [B, T, D]): increasing timestamps
        time_dtype = np.float64 if case["time_dtype"] == "float64" else np.float32
        times = np.cumsum(rng.uniform(0.2, 2.5, (b, t, 1)), axis=1).astype(time_dtype)
        return [times, rng.randn(b, t, case["depth"]).astype(np.float32)]
    return [rng.randn(b, t, *case["input_shape"]).astype(case["dtype"])]  # conv: [B, T, *S, C]


def _custom_value(
    name: str, shape: list, rng: np.random.RandomState, dtype: Any, period: Any
) -> np.ndarray:
    """Random normal * 0.5, except PhasedLSTMCell's period, phase and ratio_on: drawn where the gates open,
    close and leak within the sequence (random normal ones would not)."""
    leaf = name.rsplit("/", 1)[1]
    if leaf == "period":
        return np.exp(rng.uniform(np.log(2.0), np.log(8.0), shape)).astype(dtype)
    if leaf == "phase":  # created right after the period, as in 1.15
        return (rng.uniform(0, 1, shape) * period).astype(dtype)
    if leaf == "ratio_on":
        return rng.uniform(0.1, 0.6, shape).astype(dtype)
    return (rng.randn(*shape) * 0.5).astype(dtype)


def run_custom(case: dict[str, Any]) -> dict[str, np.ndarray]:
    """A case whose inputs are not one [B, T, D] tensor: PhasedLSTMCell ``(times, x)`` and the convolutional
    cells ``[B, T, *S, C]``. Arrays: ``in_{i}`` (inputs), ``var_{k}``, ``out_0``, ``state_{i}``, the loss
    weights ``r_*`` and the gradients ``grad_in_{i}``, ``grad_var_{k}``."""
    rng = np.random.RandomState(zlib.crc32(case["id"].encode()) % (2**31))
    np_inputs = _custom_inputs(case, rng)
    dtype = tf.float64 if case["dtype"] == "float64" else tf.float32
    arrays: dict[str, np.ndarray] = {f"in_{i}": a for i, a in enumerate(np_inputs)}
    with tf.Graph().as_default():
        inputs = [tf.constant(a) for a in np_inputs]
        lengths = None if case["sequence_length"] is None else tf.constant(case["sequence_length"])
        cell = tf_cell(case["fw"][0], dtype)
        feed_in = tuple(inputs) if len(inputs) > 1 else inputs[0]
        out, st = tf.nn.dynamic_rnn(cell, feed_in, sequence_length=lengths, dtype=dtype)
        states = tf.nest.flatten(st)
        variables = tf.global_variables()
        case["variables"] = [v.name[:-2] for v in variables]
        r_out, r_states = tf.placeholder(dtype), [tf.placeholder(dtype) for _ in states]
        loss = tf.reduce_sum(out * r_out) + tf.add_n(
            [tf.reduce_sum(s * r) for s, r in zip(states, r_states)]
        )
        grads = tf.gradients(loss, [*inputs, *variables])
        with tf.Session() as sess:
            period = None
            for k, v in enumerate(variables):
                value = _custom_value(
                    v.name[:-2], v.shape.as_list(), rng, v.dtype.as_numpy_dtype, period
                )
                period = value if v.name[:-2].endswith("/period") else period
                v.load(value, sess)
                arrays[f"var_{k}"] = value
            out_v, state_v = sess.run([out, states])
            np_dtype = out_v.dtype
            arrays["out_0"], arrays["r_out_0"] = out_v, rng.randn(*out_v.shape).astype(np_dtype)
            feed = {r_out: arrays["r_out_0"]}
            for i, (s, r) in enumerate(zip(state_v, r_states)):
                arrays[f"state_{i}"], arrays[f"r_state_{i}"] = (
                    s,
                    rng.randn(*s.shape).astype(np_dtype),
                )
                feed[r] = arrays[f"r_state_{i}"]
            g = sess.run(grads, feed)
    for i in range(len(inputs)):
        arrays[f"grad_in_{i}"] = g[i]
    for k, gv in enumerate(g[len(inputs) :]):
        arrays[f"grad_var_{k}"] = gv
    case["n_in"], case["n_state"] = len(inputs), len(state_v)
    return arrays


def _init(c: dict[str, Any]) -> dict[str, Any]:
    return {**c, "initial_state": True}


def fixed_cases() -> list[dict[str, Any]]:
    lstm, gru, basic = "LSTMCell", "GRUCell", "BasicLSTMCell"
    return [
        case("nas", "dynamic", [C("NASCell", num_units=4)]),
        case("nas_proj_bias_f64", "dynamic", [C("NASCell", num_units=4, num_proj=3, use_bias=True)],
             dtype="float64", time_major=True),
        case("ugrnn", "dynamic", [C("UGRNNCell", num_units=4, forget_bias=0.5)]),
        case("ugrnn_relu_f64", "dynamic", [C("UGRNNCell", num_units=3, activation="relu")], dtype="float64"),
        case("intersection_in_proj", "dynamic",
             [C("IntersectionRNNCell", num_units=4, num_in_proj=4, forget_bias=0.3)]),
        case("intersection_same_depth_f64", "dynamic",
             [C("IntersectionRNNCell", num_units=3, y_activation="tanh")], dtype="float64"),
        case("cifg", "dynamic", [C("CoupledInputForgetGateLSTMCell", num_units=4)]),
        case("cifg_peep_proj_ln", "dynamic",
             [C("CoupledInputForgetGateLSTMCell", num_units=5, use_peepholes=True, num_proj=3, proj_clip=0.4,
                layer_norm=True, norm_gain=1.2, norm_shift=-0.1)]),
        case("cifg_concat_peep_f64", "dynamic",
             [C("CoupledInputForgetGateLSTMCell", num_units=3, state_is_tuple=False, use_peepholes=True,
                forget_bias=0.2)], dtype="float64"),
        # without layer_norm: the native sequence kernel (kernels/cifg_lstm.py) runs them, projection included
        case("cifg_proj", "dynamic", [C("CoupledInputForgetGateLSTMCell", num_units=4, num_proj=2)]),
        case("cifg_peep_proj_clip_f64", "dynamic",
             [C("CoupledInputForgetGateLSTMCell", num_units=4, use_peepholes=True, num_proj=3, proj_clip=0.3,
                forget_bias=0.6)], dtype="float64", time_major=True),
        case("glstm_groups", "dynamic", [C("GLSTMCell", num_units=4, number_of_groups=2)], depth=4),
        case("glstm_proj_f64", "dynamic",
             [C("GLSTMCell", num_units=6, num_proj=4, number_of_groups=2, activation="relu")],
             depth=4, dtype="float64"),
        case("ln_lstm_plain_f64", "dynamic", [C("LayerNormLSTMCell", num_units=4)], dtype="float64"),
        case("ln_lstm_full", "dynamic",
             [C("LayerNormLSTMCell", num_units=5, use_peepholes=True, cell_clip=0.8, num_proj=3, proj_clip=0.5,
                layer_norm=True, forget_bias=0.4, norm_gain=0.9, norm_shift=0.1)], time_major=True),
        # layer_norm without num_proj: the sequence kernel's configurations (kernels/layer_norm_lstm.py)
        case("ln_lstm_ln", "dynamic",
             [C("LayerNormLSTMCell", num_units=5, layer_norm=True, forget_bias=0.3, norm_gain=1.1, norm_shift=-0.1)],
             time=6),
        _init(case("bidir_ln_lstm_peep_clip_init", "bidirectional_dynamic",
                   [C("LayerNormLSTMCell", num_units=6, use_peepholes=True, cell_clip=0.4, layer_norm=True)],
                   [C("LayerNormLSTMCell", num_units=5, use_peepholes=True, layer_norm=True, forget_bias=0.0)],
                   time_major=True, time=6)),
        case("indrnn", "dynamic", [C("IndRNNCell", num_units=4)]),
        case("indrnn_relu_f64", "dynamic", [C("IndRNNCell", num_units=3, activation="relu")], dtype="float64"),
        case("indy_gru", "dynamic", [C("IndyGRUCell", num_units=4)]),
        case("indy_lstm_f64", "dynamic", [C("IndyLSTMCell", num_units=4, forget_bias=0.5)], dtype="float64"),
        case("sru", "dynamic", [C("SRUCell", num_units=4)]),
        case("sru_relu_f64", "dynamic", [C("SRUCell", num_units=2, activation="relu")], dtype="float64"),
        case("attention_lstm", "dynamic", [W("AttentionCellWrapper", C(lstm, num_units=4), attn_length=3)]),
        case("attention_multi_f64", "dynamic",
             [W("AttentionCellWrapper", M(C(basic, num_units=4), C(basic, num_units=4)), attn_length=2,
                attn_size=3, attn_vec_size=5, input_size=6)], dtype="float64"),
        case("attention_concat_gru_tm", "dynamic",
             [W("AttentionCellWrapper", C(gru, num_units=3), attn_length=2, state_is_tuple=False)],
             time_major=True),
        case("highway_gru", "dynamic", [W("HighwayWrapper", C(gru, num_units=3))]),
        case("highway_uncoupled_f64", "dynamic",
             [W("HighwayWrapper", C(basic, num_units=3), couple_carry_transform_gates=False,
                carry_bias_init=0.5)], dtype="float64"),
        case("highway_in_multi", "dynamic",
             [M(W("HighwayWrapper", C(gru, num_units=3)), C("NASCell", num_units=2))]),
        _init(case("bidir_nas_attention_init", "bidirectional_dynamic",
                   [C("NASCell", num_units=3, num_proj=2)],
                   [W("AttentionCellWrapper", C("IndyLSTMCell", num_units=3), attn_length=2)])),
        _init(case("bidir_ugrnn_cifg_init_f64", "bidirectional_dynamic",
                   [C("UGRNNCell", num_units=3)], [C("CoupledInputForgetGateLSTMCell", num_units=2)],
                   time_major=True, dtype="float64")),
        {**case("conv1d", "conv", [C("Conv1DLSTMCell", input_shape=[6, 2], output_channels=3,
                                      kernel_shape=[3])]), "input_shape": [6, 2]},
        {**case("conv2d_even_kernel_nobias_f64", "conv",
                [C("Conv2DLSTMCell", input_shape=[4, 5, 2], output_channels=2, kernel_shape=[2, 3], use_bias=False,
                   forget_bias=0.5)], dtype="float64"), "input_shape": [4, 5, 2]},
        {**case("conv3d", "conv", [C("Conv3DLSTMCell", input_shape=[3, 4, 2, 1], output_channels=2,
                                      kernel_shape=[3, 2, 1])], batch=2, time=3, lengths=[3, 1]),
         "input_shape": [3, 4, 2, 1]},
        {**case("conv_lstm_cell_2d", "conv", [C("ConvLSTMCell", conv_ndims=2, input_shape=[3, 3, 2],
                                                 output_channels=2, kernel_shape=[3, 3], forget_bias=0.0)]),
         "input_shape": [3, 3, 2]},
        {**case("phased", "phased", [C("PhasedLSTMCell", num_units=4)], time=8), "time_dtype": "float32"},
        {**case("phased_peep_time_f64", "phased", [C("PhasedLSTMCell", num_units=3, use_peepholes=True,
                                                     leak=0.01, ratio_on=0.3)], time=8),
         "time_dtype": "float64"},
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "contrib")
    args = parser.parse_args()
    cases = fixed_cases()
    args.out.mkdir(parents=True, exist_ok=True)
    for c in cases:
        arrays = run_custom(c) if c["model"] in ("phased", "conv") else surface.run_case(c)
        c["file"] = f"{c['id']}.npz"
        np.savez_compressed(args.out / c["file"], **arrays)
        print(f"{c['id']}: {c['variables']}")
    manifest = {
        "tensorflow": tf.__version__,
        "generator": "tools/make_tf_fixtures_contrib.py",
        "cases": cases,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
