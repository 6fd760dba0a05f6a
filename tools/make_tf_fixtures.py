"""Write the TensorFlow fixtures of the core cells and unrolls into ``tests/fixtures/core/``.

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/make_tf_fixtures.py [--out tests/fixtures/core]

Every cell option (activation, forget_bias, state_is_tuple, peepholes, cell_clip, num_proj, proj_clip) is run
under a rotation of unroll set-ups (static / dynamic, both time layouts, with and without ``sequence_length``
including a length-0 and a full-length row, with and without a random ``initial_state``), plus MultiRNNCell
stacks, float64 cases and name / scope cases. Each case is one compressed ``.npz`` (arrays, see
``tools/tf_oracle.py``) and one entry of ``manifest.json``; ``tests/tf_fixtures/test_tf_fixtures.py`` replays them without
TensorFlow. The arrays are seeded from the case id, so re-running reproduces them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tf_oracle

B, T, D = 4, 6, 3

# (id prefix, cell spec) for every single-cell option.
SINGLE_CELLS: list[tuple[str, dict[str, Any]]] = [
    ("basic_rnn_tanh", {"type": "BasicRNNCell", "kwargs": {"num_units": 5}}),
    ("basic_rnn_relu", {"type": "BasicRNNCell", "kwargs": {"num_units": 4, "activation": "relu"}}),
    ("gru", {"type": "GRUCell", "kwargs": {"num_units": 5}}),
    ("gru_relu", {"type": "GRUCell", "kwargs": {"num_units": 4, "activation": "relu"}}),
    ("basic_lstm", {"type": "BasicLSTMCell", "kwargs": {"num_units": 5}}),
    ("basic_lstm_fb03", {"type": "BasicLSTMCell", "kwargs": {"num_units": 4, "forget_bias": 0.3}}),
    (
        "basic_lstm_concat",
        {"type": "BasicLSTMCell", "kwargs": {"num_units": 5, "state_is_tuple": False}},
    ),
    (
        "basic_lstm_relu",
        {"type": "BasicLSTMCell", "kwargs": {"num_units": 4, "activation": "relu"}},
    ),
    ("lstm", {"type": "LSTMCell", "kwargs": {"num_units": 5}}),
    ("lstm_peep", {"type": "LSTMCell", "kwargs": {"num_units": 5, "use_peepholes": True}}),
    ("lstm_cellclip", {"type": "LSTMCell", "kwargs": {"num_units": 4, "cell_clip": 0.5}}),
    ("lstm_proj", {"type": "LSTMCell", "kwargs": {"num_units": 5, "num_proj": 3}}),
    (
        "lstm_projclip",
        {"type": "LSTMCell", "kwargs": {"num_units": 5, "num_proj": 3, "proj_clip": 0.2}},
    ),
    (
        "lstm_all",
        {
            "type": "LSTMCell",
            "kwargs": {
                "num_units": 6,
                "use_peepholes": True,
                "cell_clip": 0.6,
                "num_proj": 3,
                "proj_clip": 0.25,
            },
        },
    ),
    (
        "lstm_concat",
        {"type": "LSTMCell", "kwargs": {"num_units": 4, "num_proj": 3, "state_is_tuple": False}},
    ),
    ("lstm_fb05", {"type": "LSTMCell", "kwargs": {"num_units": 4, "forget_bias": 0.5}}),
    ("lstm_relu", {"type": "LSTMCell", "kwargs": {"num_units": 4, "activation": "relu"}}),
]

# (id prefix, cells, MultiRNNCell state_is_tuple).
STACKS: list[tuple[str, list[dict[str, Any]], bool]] = [
    (
        "multi_mixed",
        [
            {"type": "BasicLSTMCell", "kwargs": {"num_units": 5}},
            {"type": "GRUCell", "kwargs": {"num_units": 4}},
            {
                "type": "LSTMCell",
                "kwargs": {"num_units": 5, "use_peepholes": True, "num_proj": 3, "cell_clip": 0.8},
            },
        ],
        True,
    ),
    (
        "multi_rnn_lstm",
        [
            {"type": "BasicRNNCell", "kwargs": {"num_units": 4, "activation": "relu"}},
            {"type": "LSTMCell", "kwargs": {"num_units": 4, "forget_bias": 0.2}},
        ],
        True,
    ),
    (
        "multi_concat",
        [
            {"type": "BasicLSTMCell", "kwargs": {"num_units": 4, "state_is_tuple": False}},
            {"type": "GRUCell", "kwargs": {"num_units": 5}},
            {"type": "BasicRNNCell", "kwargs": {"num_units": 3}},
        ],
        False,
    ),
]

FULL_AND_ZERO = [T, 0, 3, 5]  # a full-length row, a length-0 row and two partial rows
ALL_SHORT = [4, 0, 2, 1]  # max length < T: TF stops early and pads the outputs with zeros

# (suffix, unroll, time_major, sequence_length, initial_state): every cell runs every set-up.
SETUPS: list[tuple[str, str, bool, list[int] | None, bool]] = [
    ("dyn", "dynamic", False, None, False),
    ("dyn_tm_len_init", "dynamic", True, FULL_AND_ZERO, True),
    ("dyn_len", "dynamic", False, ALL_SHORT, False),
    ("static_len", "static", False, FULL_AND_ZERO, False),
    ("static_init", "static", False, None, True),
]


def _case(
    case_id: str,
    cells: list[dict[str, Any]],
    multi: dict[str, Any] | None,
    unroll: str,
    time_major: bool,
    seq: list[int] | None,
    init: bool,
    dtype: str = "float32",
    scope: str | None = None,
    shape: tuple[int, int, int] = (B, T, D),
) -> dict[str, Any]:
    batch, time, depth = shape
    return {
        "id": case_id,
        "cells": cells,
        "multi": multi,
        "unroll": unroll,
        "time_major": time_major if unroll == "dynamic" else True,
        "batch": batch,
        "time": time,
        "depth": depth,
        "sequence_length": seq,
        "initial_state": init,
        "dtype": dtype,
        "scope": scope,
    }


def all_cases() -> list[dict[str, Any]]:
    cases = []
    for prefix, spec in SINGLE_CELLS:
        for suffix, unroll, tm, seq, init in SETUPS:
            cases.append(_case(f"{prefix}-{suffix}", [spec], None, unroll, tm, seq, init))
    for prefix, specs, sit in STACKS:
        for suffix, unroll, tm, seq, init in SETUPS:
            multi = {"state_is_tuple": sit}
            cases.append(_case(f"{prefix}-{suffix}", specs, multi, unroll, tm, seq, init))
    # float64: the replay must hold to a much tighter tolerance here.
    lstm_all = dict(SINGLE_CELLS)["lstm_all"]
    gru = dict(SINGLE_CELLS)["gru"]
    cases.append(
        _case(
            "f64-lstm_all-dyn_len_init",
            [lstm_all],
            None,
            "dynamic",
            False,
            FULL_AND_ZERO,
            True,
            dtype="float64",
        )
    )
    stack = [gru, dict(SINGLE_CELLS)["basic_lstm"]]
    cases.append(
        _case(
            "f64-multi-static_len",
            stack,
            {"state_is_tuple": True},
            "static",
            True,
            FULL_AND_ZERO,
            False,
            dtype="float64",
        )
    )
    # Names: name= replaces the cell's default scope; scope= replaces "rnn".
    named = {"type": "BasicLSTMCell", "kwargs": {"num_units": 4, "name": "my_cell"}}
    cases.append(_case("name-my_cell-dyn", [named], None, "dynamic", False, None, False))
    cases.append(
        _case(
            "scope-encoder-multi-dyn",
            STACKS[0][1],
            {"state_is_tuple": True},
            "dynamic",
            False,
            FULL_AND_ZERO,
            True,
            scope="encoder",
        )
    )
    cases.append(
        _case(
            "scope-encoder-lstm_peep-static",
            [dict(SINGLE_CELLS)["lstm_peep"]],
            None,
            "static",
            True,
            None,
            False,
            scope="encoder",
        )
    )
    # Other sizes: batch 3, time 5, depth 5.
    cases.append(
        _case(
            "shape-b3t5d5-lstm_proj-dyn_tm_len",
            [dict(SINGLE_CELLS)["lstm_proj"]],
            None,
            "dynamic",
            True,
            [5, 2, 0],
            True,
            shape=(3, 5, 5),
        )
    )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--out", type=Path, default=root / "tests" / "fixtures" / "core")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.npz"):
        old.unlink()
    manifest_cases = []
    for case in all_cases():
        arrays = tf_oracle.run_case(case)
        case["file"] = f"{case['id']}.npz"
        np.savez_compressed(args.out / case["file"], **arrays)
        manifest_cases.append(case)
        print(f"{case['id']}: {len(case['variables'])} variables")
    manifest = {
        "generator": "tools/make_tf_fixtures.py",
        "tensorflow_version": tf_oracle.tf_version(),
        "loss": "sum(outputs * r_outputs) + sum_i sum(final_state_i * r_state_i)",
        "cases": manifest_cases,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(manifest_cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
