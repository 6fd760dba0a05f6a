"""Replay the TensorFlow fixtures of the wrappers, bidirectional/stacked unrolls and raw_rnn (written by
``tools/make_tf_fixtures_surface.py``; no TensorFlow here): outputs, final states, gradients of the inputs and of
every variable agree to 1e-5, and rnnkit's TF names equal TF's, in TF's order."""

from __future__ import annotations

import json

import pytest

from tests.tf_fixtures.surface_replay import FIXTURES, load_case, replay

CASE_IDS = [c["id"] for c in json.loads((FIXTURES / "manifest.json").read_text())["cases"]]


def test_fixture_set_covers_the_surface():
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    models = {c["model"] for c in manifest["cases"]}
    assert models == {
        "dynamic",
        "raw_rnn",
        "bidirectional_dynamic",
        "static_bidirectional",
        "stack_bidirectional_dynamic",
        "stack_bidirectional_static",
    }
    bidir = [c for c in manifest["cases"] if c["model"] == "bidirectional_dynamic"]
    assert {c["time_major"] for c in bidir} == {True, False}
    assert any(c.get("initial_state") for c in manifest["cases"])
    kinds = json.dumps([c["fw"] + c["bw"] for c in manifest["cases"]])
    for kind in (
        "DropoutWrapper",
        "ResidualWrapper",
        "OutputProjectionWrapper",
        "InputProjectionWrapper",
        "LayerNormBasicLSTMCell",
        "MultiRNNCell",
    ):
        assert f'"type": "{kind}"' in kinds, kind
    with_lengths = [c for c in manifest["cases"] if c["sequence_length"]]
    assert any(0 in c["sequence_length"] for c in with_lengths)
    assert any(c["time"] in c["sequence_length"] for c in with_lengths)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_replay_matches_tensorflow(case_id):
    case, arrays = load_case(case_id)
    diffs, names = replay(case, arrays)
    assert names == case["variables"]
    assert {"outputs", "final_state", "grad_inputs", "grad_var"} <= set(diffs)
    assert ("grad_init_state" in diffs) == bool(case.get("initial_state"))
    for quantity, diff in diffs.items():  # absolute differences (and relative ones, never larger)
        assert diff <= 1e-5, f"{case_id}: {quantity} differs from TF by {diff:.2e}"
