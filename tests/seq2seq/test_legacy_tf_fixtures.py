"""rk.legacy_seq2seq against TF 1.15's legacy_seq2seq restated in TF ops (tools/make_legacy_seq2seq_fixtures.py):
outputs, final states, gradients and the variable names TF itself created."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit as rk
from rnnkit import nest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_seq2seq"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CASES = MANIFEST["cases"]
SIZES = MANIFEST["sizes"]
TOL = 2e-5


def _cell(kind: str) -> rk.RNNCell:
    return {"lstm": rk.BasicLSTMCell, "gru": rk.GRUCell, "rnn": rk.BasicRNNCell}[kind](6)


def _run(case: dict, a: dict, cell: rk.RNNCell) -> tuple[list, object, torch.nn.Module | None]:
    fn = case["fn"]
    L = rk.legacy_seq2seq
    d = SIZES["depth"]
    if fn in ("rnn_decoder", "attention_decoder"):
        inputs = [torch.tensor(x, dtype=torch.float64) for x in a["decoder_inputs"]]
        parts = [
            torch.tensor(a[k], dtype=torch.float64)
            for k in sorted(a)
            if k.startswith("init_state_")
        ]
        state = rk.LSTMStateTuple(*parts) if len(parts) == 2 else parts[0]
        loop = (lambda prev, i: torch.tanh(prev[:, :d])) if case.get("loop") else None
        if fn == "rnn_decoder":
            outputs, final = L.rnn_decoder(inputs, state, cell, loop_function=loop)
            return outputs, final, None
        states = torch.tensor(a["attention_states"], dtype=torch.float64)
        outputs, final = L.attention_decoder(
            inputs,
            state,
            states,
            cell,
            case.get("output_size"),
            case.get("num_heads", 1),
            loop,
            initial_state_attention=case.get("initial_state_attention", False),
        )
        return outputs, final, L.model_for(cell, "attention_decoder")
    enc = [torch.tensor(x) for x in a["encoder_inputs"]]
    dec = [torch.tensor(x) for x in a["decoder_inputs"]]
    proj = None
    if "proj_w" in a:
        proj = (
            torch.tensor(a["proj_w"], dtype=torch.float64),
            torch.tensor(a["proj_b"], dtype=torch.float64),
        )
    args = (enc, dec, cell, SIZES["n_enc"], SIZES["n_dec"], SIZES["emb"])
    if fn == "embedding_rnn_seq2seq":
        outputs, final = L.embedding_rnn_seq2seq(
            *args, output_projection=proj, feed_previous=case["feed_previous"]
        )
    else:
        outputs, final = L.embedding_attention_seq2seq(
            *args,
            num_heads=case.get("num_heads", 1),
            output_projection=proj,
            feed_previous=case["feed_previous"],
            initial_state_attention=case.get("initial_state_attention", False),
        )
    return outputs, final, L.model_for(cell, fn)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_legacy_matches_tensorflow(case):
    with np.load(FIXTURES / case["file"]) as data:
        a = {k: data[k] for k in data.files}
    torch.set_default_dtype(torch.float64)
    try:
        cell = _cell(case["cell"])
        with torch.no_grad():
            _run(case, a, cell)  # builds every parameter (TF built them in the graph)
        _, _, model = _run(case, a, cell)
    finally:
        torch.set_default_dtype(torch.float32)
    owner = cell if model is None else model
    scope = "rnn_decoder" if case["fn"] == "rnn_decoder" else None
    variables = rk.tf_variables(owner, scope=scope)
    assert list(variables) == case["variables"]  # the names and order TF itself created
    rk.load_tf_variable_dict(variables, {n: a[f"var_{k}"] for k, n in enumerate(case["variables"])})
    outputs, final, _ = _run(case, a, cell)
    np.testing.assert_allclose(
        torch.stack(outputs).detach().numpy(), a["outputs"], rtol=TOL, atol=TOL
    )
    flat = nest.flatten(final)
    for i, f in enumerate(flat):
        np.testing.assert_allclose(f.detach().numpy(), a[f"final_state_{i}"], rtol=TOL, atol=TOL)
    loss = (torch.stack(outputs) * torch.tensor(a["r_outputs"], dtype=torch.float64)).sum()
    for i, f in enumerate(flat):
        loss = loss + (f * torch.tensor(a[f"r_state_{i}"], dtype=torch.float64)).sum()
    params = list(variables.values())
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    for k, (name, g) in enumerate(zip(case["variables"], grads)):
        got = torch.zeros_like(params[k]) if g is None else g
        np.testing.assert_allclose(
            got.numpy(), a[f"grad_var_{k}"], rtol=TOL, atol=TOL, err_msg=name
        )


@pytest.mark.parametrize("case", MANIFEST["loss_cases"], ids=lambda c: f"{c['fn']}-{c['flags']}")
def test_legacy_losses_match_tensorflow(case):
    logits = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in case["logits"]]
    targets = [torch.tensor(t) for t in case["targets"]]
    weights = [torch.tensor(w, dtype=torch.float64) for w in case["weights"]]
    L = rk.legacy_seq2seq
    fn = L.sequence_loss_by_example if case["fn"] == "by_example" else L.sequence_loss
    loss = fn(logits, targets, weights, **case["flags"])
    np.testing.assert_allclose(loss.detach().numpy(), np.asarray(case["loss"]), rtol=TOL, atol=TOL)
    grads = torch.autograd.grad((loss * torch.tensor(case["r"], dtype=torch.float64)).sum(), logits)
    np.testing.assert_allclose(
        torch.stack(grads).numpy(), np.asarray(case["grad"]), rtol=TOL, atol=TOL
    )
