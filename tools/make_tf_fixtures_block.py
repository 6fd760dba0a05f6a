"""Write the TensorFlow fixtures of the block cells into ``tests/fixtures/block/``.

TF's own block kernels still run in TF 2.x on the CPU: ``LSTMBlockCell``, ``BlockLSTM`` and ``GRUBlockCell``
(``tf.raw_ops``). tf.contrib is gone, so the cell classes of TF 1.15 (``tensorflow/contrib/rnn/python/ops/
lstm_ops.py``, ``gru_ops.py``, ``contrib/cudnn_rnn/python/ops/cudnn_rnn_ops.py``) are restated below on TF's own
``RNNCell`` — same layer name, same variables in the same order, the same kernel call — so TF itself produces the
variable names and every number. TF 2.x registers a gradient only for ``BlockLSTM``; the gradients of
``LSTMBlockCell`` and ``GRUBlockCell`` are registered here as TF 1.15's contrib did, on TF's gradient kernels
(``LSTMBlockCellGrad``, ``GRUBlockCellGrad``). Run with the oracle venv (``bash tools/setup_tf_oracle.sh``)::

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/make_tf_fixtures_block.py [--out DIR]

Each case (``manifest.json``) says how to rebuild the model (``kind``, ``config``, ``time_major``,
``sequence_length``, TF's variable ``names``); its ``.npz`` holds ``inputs``, ``init_{i}`` (initial state leaves),
``var_{k}``, ``out``, ``state_{i}``, ``r_out`` / ``r_state_{i}`` (random loss weights), and ``grad_inputs``,
``grad_init_{i}``, ``grad_var_{k}`` of ``loss = sum(out * r_out) + sum_i sum(state_i * r_state_i)``.
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
from tensorflow.python.framework import ops

tf.disable_eager_execution()
warnings.filterwarnings("ignore", category=UserWarning)
tf.logging.set_verbosity(tf.logging.ERROR)

ROOT = Path(__file__).resolve().parents[1]
B, T, D = 4, 6, 3
LENGTHS = [6, 0, 3, 1]


# ------------------------------------------------------------- gradients TF 1.15's contrib registered
@ops.RegisterGradient("LSTMBlockCell")
def _lstm_block_cell_grad(op: Any, *grad: Any) -> Any:
    x, cs_prev, h_prev, w, wci, wcf, wco, b = op.inputs
    i, cs, f, o, ci, co, _ = op.outputs
    cs_prev_grad, dicfo, wci_grad, wcf_grad, wco_grad = tf.raw_ops.LSTMBlockCellGrad(
        x=x, cs_prev=cs_prev, h_prev=h_prev, w=w, wci=wci, wcf=wcf, wco=wco, b=b, i=i, cs=cs,
        f=f, o=o, ci=ci, co=co, cs_grad=grad[1], h_grad=grad[6],
        use_peephole=op.get_attr("use_peephole"),
    )  # fmt: skip
    xh_grad = tf.matmul(dicfo, w, transpose_b=True)
    depth = x.shape[1]
    w_grad = tf.matmul(tf.concat([x, h_prev], 1), dicfo, transpose_a=True)
    return (xh_grad[:, :depth], cs_prev_grad, xh_grad[:, depth:], w_grad, wci_grad, wcf_grad,
            wco_grad, tf.reduce_sum(dicfo, 0))  # fmt: skip


@ops.RegisterGradient("GRUBlockCell")
def _gru_block_cell_grad(op: Any, *grad: Any) -> Any:
    x, h_prev, w_ru, w_c, b_ru, b_c = op.inputs
    r, u, c, _ = op.outputs
    d_x, d_h_prev, d_c_bar, d_r_bar_u_bar = tf.raw_ops.GRUBlockCellGrad(
        x=x, h_prev=h_prev, w_ru=w_ru, w_c=w_c, b_ru=b_ru, b_c=b_c, r=r, u=u, c=c, d_h=grad[3]
    )
    d_w_ru = tf.matmul(tf.concat([x, h_prev], 1), d_r_bar_u_bar, transpose_a=True)
    d_w_c = tf.matmul(tf.concat([x, h_prev * r], 1), d_c_bar, transpose_a=True)
    return d_x, d_h_prev, d_w_ru, d_w_c, tf.reduce_sum(d_r_bar_u_bar, 0), tf.reduce_sum(d_c_bar, 0)


# ------------------------------------------------------------- TF 1.15's contrib classes, restated
class LSTMBlockCell(tf.nn.rnn_cell.RNNCell):
    """contrib.rnn.LSTMBlockCell (lstm_ops.py): kernel, bias, then w_i_diag, w_f_diag, w_o_diag."""

    def __init__(self, num_units: int, forget_bias: float = 1.0, cell_clip: Any = None,
                 use_peephole: bool = False, name: str = "lstm_cell") -> None:  # fmt: skip
        super().__init__(name=name)
        self._units, self._fb, self._peep = num_units, forget_bias, use_peephole
        self._clip = cell_clip if cell_clip is not None else -1

    @property
    def state_size(self) -> Any:
        return tf.nn.rnn_cell.LSTMStateTuple(self._units, self._units)

    @property
    def output_size(self) -> int:
        return self._units

    def call(self, inputs: Any, state: Any) -> Any:
        n, dt = self._units, inputs.dtype
        w = tf.get_variable("kernel", [inputs.shape[-1] + n, 4 * n], dt)
        b = tf.get_variable("bias", [4 * n], dt, tf.zeros_initializer())
        if self._peep:
            wci, wcf, wco = (
                tf.get_variable(k, [n], dt) for k in ("w_i_diag", "w_f_diag", "w_o_diag")
            )
        else:
            wci = wcf = wco = tf.zeros([n], dt)
        cs_prev, h_prev = state
        _, cs, _, _, _, _, h = tf.raw_ops.LSTMBlockCell(
            x=inputs, cs_prev=cs_prev, h_prev=h_prev, w=w, wci=wci, wcf=wcf, wco=wco, b=b,
            forget_bias=self._fb, cell_clip=self._clip, use_peephole=self._peep,
        )  # fmt: skip
        return h, tf.nn.rnn_cell.LSTMStateTuple(cs, h)


class GRUBlockCell(tf.nn.rnn_cell.RNNCell):
    """contrib.rnn.GRUBlockCell (gru_ops.py): w_ru, b_ru, w_c, b_c; V2: GRUCell's names."""

    def __init__(self, num_units: int, v2: bool = False) -> None:
        super().__init__(name="gru_cell")
        self._units = num_units
        self._names = (
            ("gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias")
            if v2
            else ("w_ru", "b_ru", "w_c", "b_c")
        )

    @property
    def state_size(self) -> int:
        return self._units

    @property
    def output_size(self) -> int:
        return self._units

    def call(self, inputs: Any, h_prev: Any) -> Any:
        n, dt, rows = self._units, inputs.dtype, inputs.shape[-1] + self._units
        k_ru, k_bru, k_c, k_bc = self._names
        w_ru = tf.get_variable(k_ru, [rows, 2 * n], dt)
        b_ru = tf.get_variable(k_bru, [2 * n], dt, tf.constant_initializer(1.0))
        w_c = tf.get_variable(k_c, [rows, n], dt)
        b_c = tf.get_variable(k_bc, [n], dt, tf.zeros_initializer())
        _, _, _, h = tf.raw_ops.GRUBlockCell(
            x=inputs, h_prev=h_prev, w_ru=w_ru, w_c=w_c, b_ru=b_ru, b_c=b_c
        )
        return h, h


class CudnnCompatibleGRUCell(tf.nn.rnn_cell.RNNCell):
    """contrib.cudnn_rnn.CudnnCompatibleGRUCell (cudnn_rnn_ops.py): cuDNN's GRU in TF ops, TF's variable order."""

    def __init__(self, num_units: int) -> None:
        super().__init__(name="cudnn_compatible_gru_cell")
        self._units = num_units

    @property
    def state_size(self) -> int:
        return self._units

    @property
    def output_size(self) -> int:
        return self._units

    def call(self, inputs: Any, state: Any) -> Any:
        n, dt, depth = self._units, inputs.dtype, inputs.shape[-1]
        gate_kernel = tf.get_variable("gates/kernel", [depth + n, 2 * n], dt)
        gate_bias = tf.get_variable("gates/bias", [2 * n], dt, tf.constant_initializer(1.0))
        in_kernel = tf.get_variable("candidate/input_projection/kernel", [depth, n], dt)
        hid_kernel = tf.get_variable("candidate/hidden_projection/kernel", [n, n], dt)
        in_bias = tf.get_variable(
            "candidate/input_projection/bias", [n], dt, tf.zeros_initializer()
        )
        hid_bias = tf.get_variable(
            "candidate/hidden_projection/bias", [n], dt, tf.zeros_initializer()
        )
        value = tf.sigmoid(
            tf.nn.bias_add(tf.matmul(tf.concat([inputs, state], 1), gate_kernel), gate_bias)
        )
        r, u = tf.split(value, 2, axis=1)
        candidate = tf.nn.bias_add(tf.matmul(inputs, in_kernel), in_bias)
        candidate += r * tf.nn.bias_add(tf.matmul(state, hid_kernel), hid_bias)
        new_h = (1 - u) * tf.tanh(candidate) + u * state
        return new_h, new_h


def lstm_block_fused(inputs: Any, init: Any, lengths: Any, num_units: int, forget_bias: float,
                     cell_clip: Any, use_peephole: bool) -> Any:  # fmt: skip
    """contrib.rnn.LSTMBlockFusedCell.__call__ (LSTMBlockWrapper.call + _call_cell) under ``lstm_fused_cell``."""
    with tf.variable_scope("lstm_fused_cell"):
        n, dt = num_units, inputs.dtype
        w = tf.get_variable("kernel", [inputs.shape[-1] + n, 4 * n], dt)
        b = tf.get_variable("bias", [4 * n], dt, tf.zeros_initializer())
        if use_peephole:
            wci, wcf, wco = (
                tf.get_variable(k, [n], dt) for k in ("w_i_diag", "w_f_diag", "w_o_diag")
            )
        else:
            wci = wcf = wco = tf.zeros([n], dt)
    time_len = int(inputs.shape[0])
    seq_len_max = tf.cast(time_len if lengths is None else tf.reduce_max(lengths), tf.int64)
    c0, h0 = init
    _, cs, _, _, _, _, h = tf.raw_ops.BlockLSTM(
        seq_len_max=seq_len_max, x=inputs, cs_prev=c0, h_prev=h0, w=w, wci=wci, wcf=wcf, wco=wco, b=b,
        forget_bias=forget_bias, cell_clip=cell_clip if cell_clip is not None else -1,
        use_peephole=use_peephole,
    )  # fmt: skip
    if lengths is None:
        return h, (cs[-1], h[-1])
    mask = tf.transpose(tf.sequence_mask(lengths, time_len, dtype=dt), [1, 0])
    h = h * mask[:, :, None]
    batch = int(inputs.shape[1])
    index = tf.stack([lengths, tf.range(batch)], axis=1)
    final_c = tf.gather_nd(tf.concat([c0[None], cs], 0), index)
    final_h = tf.gather_nd(tf.concat([h0[None], h], 0), index)
    return h, (final_c, final_h)


# ------------------------------------------------------------- cases
CASES: list[dict[str, Any]] = [
    {"id": "lstm_block", "kind": "lstm_block", "config": {"num_units": 5}, "lengths": LENGTHS},
    {"id": "lstm_block_peep_clip_fb03_tm", "kind": "lstm_block", "time_major": True, "lengths": LENGTHS,
     "config": {"num_units": 5, "forget_bias": 0.3, "cell_clip": 0.4, "use_peephole": True}},
    {"id": "lstm_block_clip_nolen", "kind": "lstm_block", "config": {"num_units": 4, "cell_clip": 0.6}},
    {"id": "cudnn_compatible_lstm_multi", "kind": "cudnn_compatible_lstm", "lengths": LENGTHS,
     "config": {"num_units": 4, "num_layers": 2}},
    {"id": "cudnn_compatible_gru_multi_tm", "kind": "cudnn_compatible_gru", "time_major": True,
     "lengths": LENGTHS, "config": {"num_units": 4, "num_layers": 2}},
    {"id": "gru_block", "kind": "gru_block", "config": {"num_units": 4}, "lengths": LENGTHS},
    {"id": "gru_block_v2_tm", "kind": "gru_block_v2", "config": {"num_units": 5}, "time_major": True,
     "lengths": LENGTHS},
    {"id": "lstm_block_fused", "kind": "lstm_block_fused", "config": {"num_units": 5}, "lengths": LENGTHS},
    {"id": "lstm_block_fused_peep_clip_nolen", "kind": "lstm_block_fused",
     "config": {"num_units": 4, "forget_bias": 0.5, "cell_clip": 0.5, "use_peephole": True}},
    {"id": "lstm_block_fused_maxlen_short", "kind": "lstm_block_fused", "config": {"num_units": 3},
     "lengths": [2, 4, 0, 3]},
]  # fmt: skip


def _build(case: dict[str, Any], x: Any, init: list[Any], lengths: Any) -> tuple[Any, list[Any]]:
    cfg, kind = case["config"], case["kind"]
    if kind == "lstm_block_fused":
        out, state = lstm_block_fused(
            x, tuple(init), lengths, cfg["num_units"], cfg.get("forget_bias", 1.0),
            cfg.get("cell_clip"), cfg.get("use_peephole", False),
        )  # fmt: skip
        return out, list(state)
    if kind == "lstm_block":
        opts = {k: v for k, v in cfg.items() if k != "num_units"}
        cell: Any = LSTMBlockCell(cfg["num_units"], **opts)
    elif kind == "cudnn_compatible_lstm":
        cell = tf.nn.rnn_cell.MultiRNNCell(
            [LSTMBlockCell(cfg["num_units"], forget_bias=0.0, name="cudnn_compatible_lstm_cell")
             for _ in range(cfg["num_layers"])]
        )  # fmt: skip
    elif kind == "cudnn_compatible_gru":
        cell = tf.nn.rnn_cell.MultiRNNCell(
            [CudnnCompatibleGRUCell(cfg["num_units"]) for _ in range(cfg["num_layers"])]
        )
    else:
        cell = GRUBlockCell(cfg["num_units"], v2=kind == "gru_block_v2")
    structure = tf.nest.pack_sequence_as(cell.state_size, init)
    out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, initial_state=structure,
                                   time_major=case.get("time_major", False))  # fmt: skip
    return out, tf.nest.flatten(state)


def _state_sizes(case: dict[str, Any]) -> list[int]:
    n = case["config"]["num_units"]
    if "gru" in case["kind"]:
        return [n] * case["config"].get("num_layers", 1)
    return [n, n] * case["config"].get("num_layers", 1)


def make_case(case: dict[str, Any]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(case["id"].encode()))
    fused = case["kind"] == "lstm_block_fused"
    time_major = fused or case.get("time_major", False)
    shape = (T, B, D) if time_major else (B, T, D)
    arrays: dict[str, np.ndarray] = {"inputs": rng.standard_normal(shape).astype(np.float32)}
    for i, n in enumerate(_state_sizes(case)):
        arrays[f"init_{i}"] = (rng.standard_normal((B, n)) * 0.5).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.constant(arrays["inputs"])
        init = [tf.constant(arrays[f"init_{i}"]) for i in range(len(_state_sizes(case)))]
        lengths = None if case.get("lengths") is None else tf.constant(case["lengths"], tf.int32)
        out, state = _build(case, x, init, lengths)
        variables = tf.global_variables()
        case["names"] = [v.op.name for v in variables]
        r_out = rng.standard_normal(out.shape.as_list()).astype(np.float32)
        r_state = [rng.standard_normal(s.shape.as_list()).astype(np.float32) for s in state]
        loss = tf.reduce_sum(out * r_out) + sum(
            tf.reduce_sum(s * r) for s, r in zip(state, r_state)
        )
        grads = tf.gradients(loss, [x, *init, *variables])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for k, v in enumerate(variables):
                value = (rng.standard_normal(v.shape.as_list()) * 0.5).astype(np.float32)
                v.load(value, sess)
                arrays[f"var_{k}"] = value
            got = sess.run([out, state, grads])
    arrays["out"], arrays["r_out"] = got[0], r_out
    for i, (s, r) in enumerate(zip(got[1], r_state)):
        arrays[f"state_{i}"], arrays[f"r_state_{i}"] = s, r
    grads_v = got[2]
    arrays["grad_inputs"] = grads_v[0]
    for i in range(len(init)):
        arrays[f"grad_init_{i}"] = grads_v[1 + i]
    for k in range(len(variables)):
        arrays[f"grad_var_{k}"] = grads_v[1 + len(init) + k]
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "fixtures" / "block")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for case in CASES:
        arrays = make_case(case)
        np.savez_compressed(args.out / f"{case['id']}.npz", **arrays)
        manifest.append({"file": f"{case['id']}.npz", "time_major": case["kind"] == "lstm_block_fused"
                         or case.get("time_major", False), **case})  # fmt: skip
        print(case["id"], case["names"])
    meta = {"tensorflow": tf.__version__, "batch": B, "time": T, "depth": D, "cases": manifest}
    (args.out / "manifest.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
