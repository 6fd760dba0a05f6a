"""Write the TensorFlow fixtures of ``rk.seq2seq`` into ``tests/fixtures/seq2seq`` (small: a few hundred KB).

Run with the TF 2.15 + tensorflow-addons oracle (``bash tools/setup_tf_oracle.sh`` creates it)::

    TF_ADDONS_PY_OPS=1 .tf-oracle/tf215/bin/python tools/make_seq2seq_fixtures.py

``tfa.seq2seq`` is TF 1.15's ``tf.contrib.seq2seq`` ported to TF2 with the same math; its variable names differ
in places, so every variable is stored under its TF 1.15 name (taken from the contrib source:
``decoder/memory_layer/kernel``, ``decoder/attention_wrapper/luong_attention/attention_g``...), converted from
Keras' layout where the cells differ: a Keras ``SimpleRNNCell``'s ``kernel``/``recurrent_kernel`` are stacked
into TF1's ``basic_rnn_cell/kernel [in+u, u]``; a Keras ``LSTMCell`` (gates i, f, c, o) becomes TF1's
``basic_lstm_cell`` (gates i, j, f, o, with ``forget_bias=0``), its state ``[h, c]`` TF1's ``(c, h)``.

Each case: ``manifest.json`` (the spec both sides build from, and the TF 1.15 variable names in creation order)
and ``<id>.npz`` (inputs, ``var_<k>`` weights, outputs, final state pieces and, for the training decoders,
gradients of ``sum(rnn_output * r_out) + sum(final_attention * r_att)``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_ADDONS_PY_OPS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
import tensorflow_addons as tfa  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seq2seq_fixture_cases import CASES, LOSS_CASES, tf1_variable_names  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seq2seq"
F32 = np.float32


def mechanism(spec: dict, memory, lengths):
    kind, units = spec["type"], spec["num_units"]
    prob = spec.get("probability_fn", "softmax")
    if kind == "luong":
        return tfa.seq2seq.LuongAttention(
            units, memory, lengths, scale=spec.get("scale", False), probability_fn=prob
        )
    if kind == "bahdanau":
        return tfa.seq2seq.BahdanauAttention(
            units, memory, lengths, normalize=spec.get("normalize", False), probability_fn=prob
        )
    kwargs = dict(
        score_bias_init=spec.get("score_bias_init", 0.0), mode=spec.get("mode", "parallel")
    )
    if kind == "luong_monotonic":
        return tfa.seq2seq.LuongMonotonicAttention(
            units, memory, lengths, scale=spec.get("scale", False), **kwargs
        )
    return tfa.seq2seq.BahdanauMonotonicAttention(
        units, memory, lengths, normalize=spec.get("normalize", False), **kwargs
    )


def mechanism_vars(spec: dict, m) -> list:
    """tfa's variables of one mechanism in TF 1.15's order: memory first, then the scoring ones."""
    memory = [m.memory_layer.kernel]
    kind = spec["type"]
    score = []
    if kind.startswith("bahdanau"):
        score = [m.query_layer.kernel, m.attention_v]
        if spec.get("normalize"):
            score += [m.attention_g, m.attention_b]
    elif kind == "luong" and spec.get("scale"):
        score = [m.scale_weight]
    elif kind == "luong_monotonic" and spec.get("scale"):
        score = [m.attention_g]
    if kind.endswith("monotonic"):
        score.append(m.attention_score_bias)
    return memory, score


class Model:
    """The tfa objects of one case and the mapping of their variables to TF 1.15 names and layouts."""

    def __init__(self, case: dict, arrays: dict, beam: int = 1):
        self.case = case
        cell_spec = case["cell"]
        units = cell_spec["units"]
        if cell_spec["type"] == "lstm":
            self.cell = tf.keras.layers.LSTMCell(units, unit_forget_bias=False)
        else:
            self.cell = tf.keras.layers.SimpleRNNCell(units)
        memory = tfa.seq2seq.tile_batch(tf.constant(arrays["memory"]), beam)
        lengths = arrays.get("memory_sequence_length")
        lengths = None if lengths is None else tfa.seq2seq.tile_batch(tf.constant(lengths), beam)
        self.mechanisms = [mechanism(s, memory, lengths) for s in case["mechanisms"]]
        w = case["wrapper"]
        multi = len(self.mechanisms) > 1 or w.get("as_list", False)
        cell_input_fn = (
            (lambda inputs, attention: inputs) if w.get("cell_input_fn") == "inputs_only" else None
        )
        self.wrapper = tfa.seq2seq.AttentionWrapper(
            self.cell,
            self.mechanisms if multi else self.mechanisms[0],
            attention_layer_size=w.get("attention_layer_size"),
            alignment_history=w.get("alignment_history", False),
            cell_input_fn=cell_input_fn,
            output_attention=w.get("output_attention", True),
        )
        self.output_layer = tf.keras.layers.Dense(case["vocab"], name="output_projection")

    def reset_memory(self, memory, lengths, beam: int) -> None:
        """Recompute keys with the assigned weights (tfa computes them once, when the memory is set up)."""
        memory = tfa.seq2seq.tile_batch(memory, beam)
        lengths = None if lengths is None else tfa.seq2seq.tile_batch(tf.constant(lengths), beam)
        for m in self.mechanisms:
            m._memory_initialized = False
            m.setup_memory(memory, memory_sequence_length=lengths)

    def variables(self) -> list:
        """(tf variable(s), kind) in TF 1.15's creation order; kind says how to convert the layout."""
        result = []
        memory_vars, score_vars = [], []
        for spec, m in zip(self.case["mechanisms"], self.mechanisms):
            mem, score = mechanism_vars(spec, m)
            memory_vars += mem
            score_vars.append(score)
        result += [(v, "plain") for v in memory_vars]
        if self.case["cell"]["type"] == "lstm":
            result += [
                ((self.cell.kernel, self.cell.recurrent_kernel), "lstm_kernel"),
                (self.cell.bias, "lstm_bias"),
            ]
        else:
            result += [
                ((self.cell.kernel, self.cell.recurrent_kernel), "rnn_kernel"),
                (self.cell.bias, "plain"),
            ]
        layers = self.wrapper._attention_layers or []
        for i, score in enumerate(score_vars):
            result += [(v, "plain") for v in score]
            if layers:
                result.append((layers[i].kernel, "plain"))
        result += [(self.output_layer.kernel, "plain"), (self.output_layer.bias, "plain")]
        return result

    def assign(self, values: list[np.ndarray]) -> None:
        for (var, kind), value in zip(self.variables(), values):
            if kind == "plain":
                var.assign(value)
            elif kind == "rnn_kernel":
                rows = var[0].shape[0]
                var[0].assign(value[:rows])
                var[1].assign(value[rows:])
            elif kind == "lstm_kernel":
                rows = var[0].shape[0]
                i, j, f, o = np.split(value, 4, axis=1)
                keras = np.concatenate([i, f, j, o], axis=1)
                var[0].assign(keras[:rows])
                var[1].assign(keras[rows:])
            elif kind == "lstm_bias":
                i, j, f, o = np.split(value, 4)
                var.assign(np.concatenate([i, f, j, o]))

    def grads_tf1(self, grads: dict) -> list[np.ndarray]:
        """Gradients (by tf variable ref) in TF 1.15's layout and order."""
        out = []
        for var, kind in self.variables():
            if kind == "plain":
                out.append(grads[var.ref()].numpy())
            elif kind == "rnn_kernel":
                out.append(
                    np.concatenate([grads[var[0].ref()].numpy(), grads[var[1].ref()].numpy()])
                )
            elif kind == "lstm_kernel":
                g = np.concatenate([grads[var[0].ref()].numpy(), grads[var[1].ref()].numpy()])
                i, f, j, o = np.split(g, 4, axis=1)
                out.append(np.concatenate([i, j, f, o], axis=1))
            elif kind == "lstm_bias":
                i, f, j, o = np.split(grads[var.ref()].numpy(), 4)
                out.append(np.concatenate([i, j, f, o]))
        return out

    def tf_vars(self) -> list:
        flat = []
        for var, _ in self.variables():
            flat += list(var) if isinstance(var, tuple) else [var]
        return flat


def initial_state(model: Model, arrays: dict, batch: int, beam: int = 1):
    state = model.wrapper.get_initial_state(batch_size=batch * beam, dtype=tf.float32)
    if "init_cell_state_0" in arrays:
        parts = [
            tfa.seq2seq.tile_batch(tf.constant(arrays[f"init_cell_state_{i}"]), beam)
            for i in range(2 if model.case["cell"]["type"] == "lstm" else 1)
        ]
        # TF1 LSTMStateTuple (c, h) -> Keras [h, c]
        cell_state = [parts[1], parts[0]] if len(parts) == 2 else parts[0]
        state = state.clone(cell_state=cell_state)
    return state


def random_inputs(case: dict, rng: np.random.Generator) -> dict:
    b, tm, dm = case["batch"], case["mem_time"], case["mem_depth"]
    arrays = {"memory": rng.standard_normal((b, tm, dm)).astype(F32)}
    if case.get("memory_sequence_length") is not None:
        arrays["memory_sequence_length"] = np.array(case["memory_sequence_length"], np.int32)
    arrays["decoder_inputs"] = rng.standard_normal((b, case["dec_time"], case["in_depth"])).astype(
        F32
    )
    arrays["embedding"] = rng.standard_normal((case["vocab"], case["in_depth"])).astype(F32)
    if case.get("initial_cell_state"):
        units = case["cell"]["units"]
        n = 2 if case["cell"]["type"] == "lstm" else 1
        for i in range(n):
            arrays[f"init_cell_state_{i}"] = (0.5 * rng.standard_normal((b, units))).astype(F32)
    return arrays


def random_values(model: Model, rng: np.random.Generator, case: dict) -> list[np.ndarray]:
    values = []
    names = tf1_variable_names(case)
    for (var, kind), name in zip(model.variables(), names):
        if kind in ("rnn_kernel", "lstm_kernel"):
            shape = (var[0].shape[0] + var[1].shape[0], var[0].shape[1])
        else:
            shape = tuple(var.shape)
        value = rng.uniform(-0.8, 0.8, size=shape).astype(F32)
        if name.endswith("output_projection/bias") and case["decoder"]["kind"] != "training":
            value[case["decoder"]["end_token"]] += case["decoder"].get(
                "end_bias", 0.5
            )  # let some beams end inside the fixture
        values.append(value)
    return values


def run_case(case: dict, rng: np.random.Generator) -> dict:
    arrays = random_inputs(case, rng)
    dec = case["decoder"]
    beam = dec.get("beam_width", 1) if dec["kind"] == "beam" else 1
    model = Model(case, arrays, beam)
    batch = case["batch"]
    common = dict(
        output_time_major=dec.get("output_time_major", False),
        impute_finished=dec.get("impute_finished", False),
        maximum_iterations=dec.get("maximum_iterations"),
    )

    def decode():
        state = initial_state(model, arrays, batch, beam)
        if dec["kind"] == "training":
            decoder = tfa.seq2seq.BasicDecoder(
                model.wrapper,
                tfa.seq2seq.TrainingSampler(),
                output_layer=model.output_layer,
                **common,
            )
            length = np.array(dec["sequence_length"], np.int32)
            return decoder(
                tf.constant(arrays["decoder_inputs"]), initial_state=state, sequence_length=length
            )
        start = np.full([batch], dec["start_token"], np.int32)
        if dec["kind"] == "greedy":
            decoder = tfa.seq2seq.BasicDecoder(
                model.wrapper,
                tfa.seq2seq.GreedyEmbeddingSampler(),
                output_layer=model.output_layer,
                **common,
            )
            return decoder(
                tf.constant(arrays["embedding"]),
                initial_state=state,
                start_tokens=start,
                end_token=dec["end_token"],
            )
        common.pop("impute_finished", None)
        decoder = tfa.seq2seq.BeamSearchDecoder(
            model.wrapper,
            beam,
            output_layer=model.output_layer,
            length_penalty_weight=dec.get("length_penalty_weight", 0.0),
            coverage_penalty_weight=dec.get("coverage_penalty_weight", 0.0),
            **common,
        )
        return decoder(
            tf.constant(arrays["embedding"]),
            start_tokens=start,
            end_token=dec["end_token"],
            initial_state=state,
        )

    decode()  # builds every variable
    values = random_values(model, rng, case)
    model.assign(values)
    for k, v in enumerate(values):
        arrays[f"var_{k}"] = v
    memory_var = tf.Variable(arrays["memory"])
    with tf.GradientTape() as tape:
        model.reset_memory(memory_var, arrays.get("memory_sequence_length"), beam)
        outputs, state, lengths = decode()
        if dec["kind"] == "training":
            arrays["r_out"] = rng.standard_normal(outputs.rnn_output.shape).astype(F32)
            arrays["r_att"] = rng.standard_normal(state.attention.shape).astype(F32)
            loss = tf.reduce_sum(outputs.rnn_output * arrays["r_out"])
            loss += tf.reduce_sum(state.attention * arrays["r_att"])
    if dec["kind"] == "training":
        tf_vars = model.tf_vars()
        grads = tape.gradient(loss, tf_vars + [memory_var])
        # None: no path from the loss (hardmax alignments carry no gradient to the scores)
        by_ref = {
            v.ref(): tf.zeros_like(v) if g is None else g for v, g in zip(tf_vars, grads[:-1])
        }
        for k, g in enumerate(model.grads_tf1(by_ref)):
            arrays[f"grad_var_{k}"] = g
        arrays["grad_memory"] = (
            np.zeros_like(arrays["memory"]) if grads[-1] is None else grads[-1].numpy()
        )
    arrays["lengths"] = lengths.numpy()
    if dec["kind"] == "beam":
        arrays["predicted_ids"] = outputs.predicted_ids.numpy()
        bso = outputs.beam_search_decoder_output
        arrays["scores"] = bso.scores.numpy()
        arrays["step_ids"] = bso.predicted_ids.numpy()
        arrays["parent_ids"] = bso.parent_ids.numpy()
        arrays["log_probs"] = state.log_probs.numpy()
        arrays["beam_lengths"] = state.lengths.numpy()
        return arrays
    arrays["rnn_output"] = outputs.rnn_output.numpy()
    arrays["sample_id"] = outputs.sample_id.numpy()
    att = state.attention
    arrays["final_attention"] = att.numpy()
    alignments = state.alignments if isinstance(state.alignments, tuple) else (state.alignments,)
    for i, a in enumerate(alignments):
        arrays[f"final_alignments_{i}"] = a.numpy()
    history = state.alignment_history
    if case["wrapper"].get("alignment_history"):
        history = history if isinstance(history, tuple) else (history,)
        for i, h in enumerate(history):
            arrays[f"alignment_history_{i}"] = h.stack().numpy()
    cell_state = state.cell_state
    parts = [cell_state[1], cell_state[0]] if case["cell"]["type"] == "lstm" else [cell_state]
    for i, p in enumerate(parts):
        arrays[f"final_cell_state_{i}"] = p.numpy()
    return arrays


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {"cases": [], "loss_cases": []}
    for index, case in enumerate(CASES):
        seed = 1000 + index
        rng = np.random.default_rng(seed)
        arrays = run_case(case, rng)
        entry = dict(case, variables=tf1_variable_names(case), file=f"{case['id']}.npz", seed=seed)
        manifest["cases"].append(entry)
        np.savez_compressed(OUT / entry["file"], **arrays)
        print(case["id"], "ok")
    manifest["loss_cases"] = loss_fixtures()
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def loss_fixtures() -> list[dict]:
    """``tfa.seq2seq.sequence_loss`` (TF 1.15's math) on random cases, with the gradient w.r.t. the logits."""
    out = []
    for index, flags in enumerate(LOSS_CASES):
        rng = np.random.default_rng(2000 + index)
        logits = rng.standard_normal((3, 4, 5)).astype(F32)
        targets = rng.integers(0, 5, size=(3, 4)).astype(np.int32)
        weights = rng.uniform(0.2, 1.5, size=(3, 4)).astype(F32)
        weights[rng.uniform(size=(3, 4)) < 0.3] = 0.0
        x = tf.Variable(logits)
        shape = tfa.seq2seq.sequence_loss(x, targets, weights, **flags).shape
        r = rng.standard_normal(shape).astype(F32)
        with tf.GradientTape() as tape:
            loss = tfa.seq2seq.sequence_loss(x, targets, weights, **flags)
            total = tf.reduce_sum(loss * r)
        grad = tape.gradient(total, x)
        out.append(
            dict(
                flags=flags,
                logits=logits.tolist(),
                targets=targets.tolist(),
                weights=weights.tolist(),
                r=np.asarray(r).tolist(),
                loss=np.asarray(loss).tolist(),
                grad=grad.numpy().tolist(),
            )
        )
    return out


if __name__ == "__main__":
    main()
