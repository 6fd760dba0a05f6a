"""Rebuild a ``tests/fixtures/seq2seq`` case (written by ``tools/make_seq2seq_fixtures.py``) in rnnkit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnnkit as rk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "seq2seq"


def manifest() -> dict[str, Any]:
    return json.loads((FIXTURES / "manifest.json").read_text())


def arrays(case: dict[str, Any]) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / case["file"]) as data:
        return {k: data[k] for k in data.files}


def t(x: np.ndarray, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor(x, dtype=dtype if np.issubdtype(x.dtype, np.floating) else None)


def mechanism(spec: dict[str, Any]) -> rk.seq2seq.AttentionMechanism:
    kind, units = spec["type"], spec["num_units"]
    prob = spec.get("probability_fn", "softmax")
    s2s = rk.seq2seq
    if kind == "luong":
        return s2s.LuongAttention(units, scale=spec.get("scale", False), probability_fn=prob)
    if kind == "bahdanau":
        return s2s.BahdanauAttention(
            units, normalize=spec.get("normalize", False), probability_fn=prob
        )
    kwargs = dict(
        score_bias_init=spec.get("score_bias_init", 0.0), mode=spec.get("mode", "parallel")
    )
    if kind == "luong_monotonic":
        return s2s.LuongMonotonicAttention(units, scale=spec.get("scale", False), **kwargs)
    return s2s.BahdanauMonotonicAttention(units, normalize=spec.get("normalize", False), **kwargs)


def build(
    case: dict[str, Any], a: dict[str, np.ndarray], dtype: torch.dtype = torch.float64
) -> Any:
    """(decoder, memory tensor, mechanisms, wrapper) with the fixture's weights loaded by TF name."""
    dec = case["decoder"]
    beam = dec.get("beam_width", 1) if dec["kind"] == "beam" else 1
    memory = t(a["memory"], dtype).requires_grad_(dec["kind"] == "training")
    lengths = a.get("memory_sequence_length")
    mechanisms = [mechanism(s) for s in case["mechanisms"]]
    tiled = rk.seq2seq.tile_batch(memory, beam)
    tiled_len = None if lengths is None else rk.seq2seq.tile_batch(torch.tensor(lengths), beam)
    for m in mechanisms:
        m.setup_memory(tiled, tiled_len)
    w = case["wrapper"]
    units = case["cell"]["units"]
    if case["cell"]["type"] == "lstm":
        cell: rk.RNNCell = rk.BasicLSTMCell(units, forget_bias=0.0)
    else:
        cell = rk.BasicRNNCell(units)
    multi = len(mechanisms) > 1 or w.get("as_list", False)
    wrapper = rk.seq2seq.AttentionWrapper(
        cell,
        mechanisms if multi else mechanisms[0],
        attention_layer_size=w.get("attention_layer_size"),
        alignment_history=w.get("alignment_history", False),
        cell_input_fn=(lambda i, att: i) if w.get("cell_input_fn") == "inputs_only" else None,
        output_attention=w.get("output_attention", True),
    )
    output_layer = rk.seq2seq.Dense(case["vocab"], name="output_projection")
    batch = case["batch"]
    state = wrapper.zero_state(batch * beam, dtype)
    if "init_cell_state_0" in a:
        parts = [
            rk.seq2seq.tile_batch(t(a[f"init_cell_state_{i}"], dtype), beam)
            for i in range(2)
            if f"init_cell_state_{i}" in a
        ]
        cell_state = rk.LSTMStateTuple(*parts) if len(parts) == 2 else parts[0]
        state = state.clone(cell_state=cell_state)
    embedding = t(a["embedding"], dtype)
    if dec["kind"] == "training":
        helper = rk.seq2seq.TrainingHelper(t(a["decoder_inputs"], dtype), dec["sequence_length"])
        decoder: Any = rk.seq2seq.BasicDecoder(wrapper, helper, state, output_layer=output_layer)
    elif dec["kind"] == "greedy":
        helper = rk.seq2seq.GreedyEmbeddingHelper(
            embedding, [dec["start_token"]] * batch, dec["end_token"]
        )
        decoder = rk.seq2seq.BasicDecoder(wrapper, helper, state, output_layer=output_layer)
    else:
        decoder = rk.seq2seq.BeamSearchDecoder(
            wrapper,
            embedding,
            [dec["start_token"]] * batch,
            dec["end_token"],
            state,
            beam,
            output_layer=output_layer,
            length_penalty_weight=dec.get("length_penalty_weight", 0.0),
            coverage_penalty_weight=dec.get("coverage_penalty_weight", 0.0),
        )
    # Build every parameter (lazily created from the first inputs), then load the fixture's by TF name.
    with torch.no_grad():
        cell_in = a["decoder_inputs"].shape[-1] + (
            0 if w.get("cell_input_fn") == "inputs_only" else wrapper.attention_size
        )
        cell.build(cell_in)
        output_layer.build(wrapper.output_size, dtype=dtype)
        for m in mechanisms:
            if m.query_layer is not None:
                m.query_layer.build(units, dtype=dtype)
        if wrapper.attention_layers is not None:
            for layer, m in zip(wrapper.attention_layers, mechanisms):
                layer.build(units + m.values_depth, dtype=dtype)
    cell.to(dtype)
    variables = rk.tf_variables(decoder, scope="decoder")
    values = {name: a[f"var_{k}"] for k, name in enumerate(case["variables"])}
    rk.load_tf_variable_dict(variables, values)
    for m in mechanisms:  # keys depend on the loaded memory layer
        m.setup_memory(tiled, tiled_len)
    return decoder, memory, mechanisms, wrapper, variables
