"""rnnkit against real TensorFlow: replay every case of ``tests/fixtures/core`` (made by
``tools/make_tf_fixtures.py``) without TensorFlow, and demand TF's outputs, final states, gradients and
variable names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rnnkit as rk
from tests.tf_fixtures._tf_replay import TOLERANCE, build_cell, load_arrays, load_manifest, replay

FIXTURES = Path(__file__).parents[1] / "fixtures" / "core"
MANIFEST = load_manifest(FIXTURES)
CASES = MANIFEST["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_replay_matches_tensorflow(case):
    arrays = load_arrays(FIXTURES, case)
    got, names = replay(case, arrays)
    assert names == case["variables"]
    compared = 0
    tol = TOLERANCE[case["dtype"]]
    for key, value in got.items():
        assert key in arrays, f"rnnkit produced {key} that TF did not"
        np.testing.assert_allclose(value, arrays[key], rtol=tol, atol=tol, err_msg=key)
        compared += 1
    # Everything TF stored (outputs, every state part, every gradient) was compared.
    stored = [k for k in arrays if k.startswith(("outputs", "final_state_", "grad_"))]
    assert compared == len(stored)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_tf_variable_names_before_any_call(case):
    cell = build_cell(case)
    assert list(rk.tf_variables(cell, case["var_scope"])) == case["variables"]
    shapes = [tuple(p.shape) for p in rk.tf_variables(cell, case["var_scope"]).values()]
    assert shapes == [load_arrays(FIXTURES, case)[f"var_{k}"].shape for k in range(len(shapes))]


def test_fixtures_cover_every_option():
    seen = {
        (s["type"], k, str(v)) for c in CASES for s in c["cells"] for k, v in s["kwargs"].items()
    }
    for option in [
        ("BasicRNNCell", "activation", "relu"),
        ("GRUCell", "activation", "relu"),
        ("BasicLSTMCell", "forget_bias", "0.3"),
        ("BasicLSTMCell", "state_is_tuple", "False"),
        ("BasicLSTMCell", "activation", "relu"),
        ("LSTMCell", "use_peepholes", "True"),
        ("LSTMCell", "cell_clip", "0.5"),
        ("LSTMCell", "num_proj", "3"),
        ("LSTMCell", "proj_clip", "0.2"),
        ("LSTMCell", "state_is_tuple", "False"),
        ("LSTMCell", "forget_bias", "0.5"),
    ]:
        assert option in seen
    layouts = {(c["unroll"], c["time_major"]) for c in CASES}
    assert layouts == {("dynamic", False), ("dynamic", True), ("static", True)}
    # A length-0 row next to a full-length row, and a batch whose longest row is shorter than T.
    with_lengths = [c for c in CASES if c["sequence_length"]]
    assert any(
        0 in c["sequence_length"] and c["time"] in c["sequence_length"] for c in with_lengths
    )
    assert any(max(c["sequence_length"]) < c["time"] for c in with_lengths)
    assert {c["dtype"] for c in CASES} == {"float32", "float64"}
    assert {False, True} == {c["multi"]["state_is_tuple"] for c in CASES if c["multi"]}
    assert {"rnn", "encoder"} == {c["var_scope"] for c in CASES}
    size = sum(f.stat().st_size for f in FIXTURES.iterdir())
    assert size < 2 * 2**20
