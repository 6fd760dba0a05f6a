"""Replay the TensorFlow fixtures of the contrib cells and wrappers (written by ``tools/make_tf_fixtures_contrib.py``,
which restates TF 1.15's contrib code on TF's own RNNCell; no TensorFlow here): outputs, final states and the
gradients of the inputs, initial states and every variable agree with TF (1e-5 in float32, 1e-10 in float64), and
rnnkit's TF names equal TF's, in TF's creation order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit as rk
from tests.tf_fixtures.surface_replay import load_case, replay

FIXTURES = Path(__file__).parents[1] / "fixtures" / "contrib"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CASE_IDS = [c["id"] for c in MANIFEST["cases"]]
# Every cell rnnkit exports from tf.contrib.rnn (a new one must bring its TF fixture).
CONTRIB = tuple(rk.cells.contrib.__all__)


def test_fixture_set_covers_every_contrib_cell():
    kinds = json.dumps([c["fw"] + c["bw"] for c in MANIFEST["cases"]])
    for kind in CONTRIB:
        assert f'"type": "{kind}"' in kinds, kind
    assert {c["dtype"] for c in MANIFEST["cases"]} == {"float32", "float64"}
    assert any(c.get("initial_state") for c in MANIFEST["cases"])
    assert any(c["time_major"] for c in MANIFEST["cases"])
    with_lengths = [c for c in MANIFEST["cases"] if c["sequence_length"]]
    assert any(0 in c["sequence_length"] for c in with_lengths)


def _manual_unroll(cell, inputs, lengths):
    """TF's loop and sequence_length rule by hand, for inputs of mixed dtypes (rnnkit's unrolls want one)."""
    state, outs = cell.zero_state(inputs[-1].shape[0], inputs[-1].dtype), []
    for t in range(inputs[-1].shape[1]):
        live = (t < torch.tensor(lengths)).unsqueeze(1)
        step_out, new = cell(tuple(x[:, t] for x in inputs), state)
        outs.append(torch.where(live, step_out, torch.zeros_like(step_out)))
        state = rk.LSTMStateTuple(*(torch.where(live, n, o) for n, o in zip(new, state)))
    return torch.stack(outs, 1), state


def replay_custom(case, arrays):
    """A PhasedLSTMCell ``(times, x)`` or convolutional ``[B, T, *S, C]`` case: the quantities of
    ``surface_replay.replay`` plus the gradient of every input."""
    spec = case["fw"][0]
    kwargs = dict(
        spec["kwargs"], **({"input_size": case["depth"]} if case["model"] == "phased" else {})
    )
    cell = getattr(rk, spec["type"])(**kwargs)
    cell = cell.double() if case["dtype"] == "float64" else cell
    variables = rk.tf_variables(cell)
    rk.load_tf_variable_dict(
        variables, {n: arrays[f"var_{k}"] for k, n in enumerate(case["variables"])}
    )
    inputs = [torch.from_numpy(arrays[f"in_{i}"]).requires_grad_(True) for i in range(case["n_in"])]
    lengths = case["sequence_length"]
    if len({x.dtype for x in inputs}) == 1:
        out, state = rk.dynamic_rnn(
            cell, tuple(inputs) if len(inputs) > 1 else inputs[0], sequence_length=lengths
        )
    else:
        out, state = _manual_unroll(cell, inputs, lengths)
    states = rk.nest.flatten(state)
    loss = (out * torch.from_numpy(arrays["r_out_0"])).sum()
    loss = loss + sum(
        (s * torch.from_numpy(arrays[f"r_state_{i}"])).sum() for i, s in enumerate(states)
    )
    grads = torch.autograd.grad(loss, [*inputs, *variables.values()], allow_unused=True)

    def worst(got, want):
        got = np.zeros_like(want) if got is None else got.detach().numpy()
        assert got.shape == want.shape
        return float(np.max(np.abs(got - want)))

    n = len(inputs)
    diffs = {
        "outputs": worst(out, arrays["out_0"]),
        "final_state": max(worst(s, arrays[f"state_{i}"]) for i, s in enumerate(states)),
        "grad_inputs": max(worst(g, arrays[f"grad_in_{i}"]) for i, g in enumerate(grads[:n])),
        "grad_var": max(worst(g, arrays[f"grad_var_{k}"]) for k, g in enumerate(grads[n:])),
    }
    return diffs, list(variables)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_replay_matches_tensorflow(case_id):
    case, arrays = load_case(case_id, FIXTURES)
    diffs, names = (replay_custom if case["model"] in ("phased", "conv") else replay)(case, arrays)
    assert names == case["variables"]
    assert {"outputs", "final_state", "grad_inputs", "grad_var"} <= set(diffs)
    assert ("grad_init_state" in diffs) == bool(case.get("initial_state"))
    tolerance = 1e-5 if case["dtype"] == "float32" else 1e-10
    for quantity, diff in diffs.items():
        assert diff <= tolerance, f"{case_id}: {quantity} differs from TF by {diff:.2e}"
