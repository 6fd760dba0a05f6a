"""The TensorFlow column of the decoding benchmark (``decode.py``), run by a python with TF 2.15 + tensorflow-addons
in its own process (rnnkit's venv has no TF). ``tfa.seq2seq`` carries TF 1.15's ``tf.contrib.seq2seq`` math.

Started as ``python tf_decode_worker.py '<sizes JSON>'`` (the fields of ``decode.Sizes`` plus ``threads`` and
``raw_weights``, the path of the ``raw_rnn`` row's ``.npz`` weights from ``raw_decode.save_raw_weights``). Its
first stdout line is ``{"ready": {versions}}``, or ``{"unavailable": "<why>"}`` and it exits (no TF, no addons).
Then it reads JSON commands, one a line, and answers each with one line::

    {"decoder": "greedy" | "beam" | "raw_rnn", "clock": "cpu" | "wall"}
        ->  {"seconds": 0.021, "steps": 30, "first": [sample 0's ids]}

one decode per command (the caller warms up and takes the median). The model mirrors ``decode.py``:
``AttentionWrapper(LSTMCell(units), LuongAttention(units, memory, scale=True), attention_layer_size=units)``,
an embedding ``[vocab, embed]``, output ``Dense(vocab)`` whose bias at the end token is -1e4, so no sequence ever
ends and every decode runs exactly ``steps`` steps (``maximum_iterations``). Greedy: ``BasicDecoder`` +
``GreedyEmbeddingSampler`` (contrib's ``GreedyEmbeddingHelper``); beam: ``BeamSearchDecoder`` over the memory
tiled ``beam`` times. ``raw_rnn``: ``tf.compat.v1.nn.raw_rnn`` over a ``tf.compat.v1.nn.rnn_cell.BasicLSTMCell``
whose ``loop_fn`` feeds back the embedding of the argmax of ``h @ out_kernel + out_bias``, finished after exactly
``steps`` steps, with rnnkit's weights and initial state (``raw_decode.py``). Each decoder is one ``tf.function`` (a graph, as TF1
ran it), built on first use.
Intra- and inter-op threads are set to ``threads`` before anything runs.
"""

import importlib
import json
import os
import sys
import time
from typing import Any

START, END = 1, 2


def _decoders(tf: Any, tfa: Any, z: dict[str, Any]) -> dict[str, Any]:
    """``{"greedy": fn, "beam": fn}``; each ``fn()`` decodes one batch and returns the ids as NumPy."""
    import numpy as np

    tf.random.set_seed(0)
    batch, units, vocab, beam = z["batch"], z["units"], z["vocab"], z["beam"]
    rng = np.random.default_rng(0)
    memory = tf.constant(rng.standard_normal((batch, z["source"], units)).astype(np.float32))
    embedding = tf.Variable(rng.standard_normal((vocab, z["embed"])).astype(np.float32))
    bias = np.where(np.arange(vocab) == END, -1e4, 0.0)  # the end token is never the argmax
    dense = tf.keras.layers.Dense(vocab, bias_initializer=tf.keras.initializers.Constant(bias))
    s = tfa.seq2seq

    def cell(mem: Any) -> Any:
        mechanism = s.LuongAttention(units, mem, scale=True)
        return s.AttentionWrapper(
            tf.keras.layers.LSTMCell(units), mechanism, attention_layer_size=units
        )

    greedy_cell, beam_cell = cell(memory), cell(s.tile_batch(memory, beam))
    greedy = s.BasicDecoder(
        greedy_cell,
        s.GreedyEmbeddingSampler(),
        output_layer=dense,
        maximum_iterations=z["steps"],
    )
    searcher = s.BeamSearchDecoder(
        beam_cell, beam, output_layer=dense, maximum_iterations=z["steps"]
    )
    start = tf.fill([batch], START)

    @tf.function
    def greedy_graph() -> Any:
        state = greedy_cell.get_initial_state(batch_size=batch, dtype=tf.float32)
        out, _, _ = greedy(embedding, initial_state=state, start_tokens=start, end_token=END)
        return out.sample_id

    @tf.function
    def beam_graph() -> Any:
        state = beam_cell.get_initial_state(batch_size=batch * beam, dtype=tf.float32)
        out, _, _ = searcher(embedding, initial_state=state, start_tokens=start, end_token=END)
        return out.predicted_ids

    return {
        "greedy": lambda: greedy_graph().numpy(),
        "beam": lambda: beam_graph().numpy(),
        "raw_rnn": _raw_decoder(tf, z),
    }


def _raw_decoder(tf: Any, z: dict[str, Any]) -> Any:
    """``fn()``: one greedy ``raw_rnn`` decode with the weights in ``z["raw_weights"]``; ids ``[B, steps]``."""
    import numpy as np

    with np.load(z["raw_weights"]) as f:
        w = {k: tf.constant(f[k]) for k in f.files}
    batch, steps = z["batch"], z["steps"]
    cell = tf.compat.v1.nn.rnn_cell.BasicLSTMCell(z["units"])
    cell.build(tf.TensorShape([None, z["embed"]]))
    kernel, bias = (
        cell.weights
    )  # basic_lstm_cell/kernel [embed + units, 4 units] (gates i, j, f, o), /bias
    kernel.assign(w["kernel"])
    bias.assign(w["bias"])

    def loop_fn(time: Any, output: Any, state: Any, loop_state: Any) -> Any:
        if (
            output is None
        ):  # time 0: the start input, the initial state, an id as the emitted template
            start = tf.nn.embedding_lookup(w["embedding"], tf.fill([batch], START))
            initial = tf.compat.v1.nn.rnn_cell.LSTMStateTuple(w["c0"], w["h0"])
            return tf.zeros([batch], tf.bool), start, initial, tf.zeros([], tf.int64), None
        ids = tf.argmax(tf.matmul(output, w["out_kernel"]) + w["out_bias"], axis=-1)
        finished = tf.fill([batch], time >= steps)
        return finished, tf.nn.embedding_lookup(w["embedding"], ids), state, ids, None

    @tf.function
    def raw_graph() -> Any:
        emit, _, _ = tf.compat.v1.nn.raw_rnn(cell, loop_fn)
        return tf.transpose(emit.stack())

    return lambda: raw_graph().numpy()


def _load(threads: int) -> tuple[Any, Any]:
    """TF and addons with ``threads`` threads, or exit after saying why they cannot be used."""
    try:
        tf = importlib.import_module("tensorflow")
        tfa = importlib.import_module("tensorflow_addons")
    except Exception as exc:  # any import failure means: no TF column, and the reason is printed
        print(json.dumps({"unavailable": f"{type(exc).__name__}: {exc}"}), flush=True)
        sys.exit(0)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return tf, tfa


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ADDONS_PY_OPS", "1")  # as the oracle runs addons (fixtures too)
    sizes = json.loads(sys.argv[1])
    tf, tfa = _load(sizes["threads"])
    print(
        json.dumps({"ready": {"tensorflow": tf.__version__, "tensorflow_addons": tfa.__version__}}),
        flush=True,
    )
    decoders: dict[str, Any] = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if not decoders:
            decoders = _decoders(tf, tfa, sizes)
        clock = time.process_time if cmd["clock"] == "cpu" else time.perf_counter
        begin = clock()
        ids = decoders[cmd["decoder"]]()
        seconds = clock() - begin
        answer = {"seconds": seconds, "steps": int(ids.shape[1]), "first": ids[0].tolist()}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
