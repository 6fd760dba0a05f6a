"""Replay the TensorFlow fixtures of the contrib cells and wrappers (written by ``tools/make_tf_fixtures_contrib.py``,
which restates TF 1.15's contrib code on TF's own RNNCell; no TensorFlow here): outputs, final states and the
gradients of the inputs, initial states and every variable agree with TF (1e-5 in float32, 1e-10 in float64), and
rnnkit's TF names equal TF's, in TF's creation order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.surface_replay import load_case, replay

FIXTURES = Path(__file__).parent / "fixtures" / "contrib"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CASE_IDS = [c["id"] for c in MANIFEST["cases"]]
CONTRIB = (
    "NASCell",
    "UGRNNCell",
    "IntersectionRNNCell",
    "CoupledInputForgetGateLSTMCell",
    "GLSTMCell",
    "LayerNormLSTMCell",
    "IndRNNCell",
    "IndyGRUCell",
    "IndyLSTMCell",
    "SRUCell",
    "AttentionCellWrapper",
    "HighwayWrapper",
)


def test_fixture_set_covers_every_contrib_cell():
    kinds = json.dumps([c["fw"] + c["bw"] for c in MANIFEST["cases"]])
    for kind in CONTRIB:
        assert f'"type": "{kind}"' in kinds, kind
    assert {c["dtype"] for c in MANIFEST["cases"]} == {"float32", "float64"}
    assert any(c.get("initial_state") for c in MANIFEST["cases"])
    assert any(c["time_major"] for c in MANIFEST["cases"])
    with_lengths = [c for c in MANIFEST["cases"] if c["sequence_length"]]
    assert any(0 in c["sequence_length"] for c in with_lengths)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_replay_matches_tensorflow(case_id):
    case, arrays = load_case(case_id, FIXTURES)
    diffs, names = replay(case, arrays)
    assert names == case["variables"]
    assert {"outputs", "final_state", "grad_inputs", "grad_var"} <= set(diffs)
    assert ("grad_init_state" in diffs) == bool(case.get("initial_state"))
    tolerance = 1e-5 if case["dtype"] == "float32" else 1e-10
    for quantity, diff in diffs.items():
        assert diff <= tolerance, f"{case_id}: {quantity} differs from TF by {diff:.2e}"
