"""The outside check: random cell stacks run in real TensorFlow, then in rnnkit on the same weights.

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/tf_random_check.py -n 200 \\
        [--seed 0] [--rnnkit-python .venv/bin/python] [--rnnkit-src src] [--device cuda] [--keep DIR]

Each case draws a stack of 1-3 cells (BasicRNNCell, GRUCell, BasicLSTMCell, LSTMCell with random activation,
forget_bias, state_is_tuple, peepholes, cell_clip, num_proj, proj_clip, name), a MultiRNNCell or not, static or
dynamic unroll, time layout, sizes, sequence lengths, initial state, dtype and scope. TensorFlow computes outputs,
final state and the gradients of a random linear loss w.r.t. inputs, initial state and every variable
(``tools/tf_oracle.py``); the cases go to a temporary directory in the fixture format, and
``tests/tf_fixtures/_tf_replay.py`` replays them in a separate process with the rnnkit interpreter (no TensorFlow there), loading the weights with
``rk.load_tf_variables``. Prints the number of cases compared, the failures and the worst absolute difference
per quantity; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tf_oracle

ROOT = Path(__file__).resolve().parents[1]


def _random_cell(rng: np.random.Generator) -> dict[str, Any]:
    kind = str(rng.choice(["BasicRNNCell", "GRUCell", "BasicLSTMCell", "LSTMCell"]))
    kw: dict[str, Any] = {"num_units": int(rng.integers(1, 7))}
    if rng.random() < 0.3:
        kw["activation"] = "relu"
    if rng.random() < 0.1:
        kw["name"] = "my_cell"
    if kind in ("BasicLSTMCell", "LSTMCell"):
        if rng.random() < 0.5:
            kw["forget_bias"] = float(rng.choice([0.0, 0.3, 2.0]))
        if rng.random() < 0.3:
            kw["state_is_tuple"] = False
    if kind == "LSTMCell":
        if rng.random() < 0.5:
            kw["use_peepholes"] = True
        if rng.random() < 0.4:
            kw["cell_clip"] = round(float(rng.uniform(0.2, 1.0)), 2)
        if rng.random() < 0.5:
            kw["num_proj"] = int(rng.integers(1, 5))
            if rng.random() < 0.5:
                kw["proj_clip"] = round(float(rng.uniform(0.1, 0.8)), 2)
    return {"type": kind, "kwargs": kw}


def _tuple_state(spec: dict[str, Any]) -> bool:
    return spec["type"] in ("BasicLSTMCell", "LSTMCell") and spec["kwargs"].get(
        "state_is_tuple", True
    )


def random_case(index: int, rng: np.random.Generator) -> dict[str, Any]:
    n_cells = int(rng.choice([1, 1, 2, 3]))
    cells = [_random_cell(rng) for _ in range(n_cells)]
    multi = None
    if n_cells > 1 or rng.random() < 0.2:
        # TF refuses state_is_tuple=False when a cell's state is a tuple.
        flat_ok = not any(_tuple_state(s) for s in cells)
        multi = {"state_is_tuple": bool(not flat_ok or rng.random() < 0.5)}
    batch, time, depth = (int(rng.integers(1, 6)), int(rng.integers(1, 8)), int(rng.integers(1, 6)))
    seq = None
    if rng.random() < 0.5:
        seq = [int(v) for v in rng.integers(0, time + 1, size=batch)]
    unroll = str(rng.choice(["dynamic", "static"]))
    return {
        "id": f"random-{index:04d}",
        "cells": cells,
        "multi": multi,
        "unroll": unroll,
        "time_major": bool(rng.random() < 0.5) if unroll == "dynamic" else True,
        "batch": batch,
        "time": time,
        "depth": depth,
        "sequence_length": seq,
        "initial_state": bool(rng.random() < 0.5),
        "dtype": "float64" if rng.random() < 0.15 else "float32",
        "scope": None if rng.random() < 0.7 else "encoder",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rnnkit-python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument(
        "--rnnkit-src", default=str(ROOT / "src"), help="PYTHONPATH of the rnnkit side"
    )
    parser.add_argument(
        "--device", default=None, help="torch device for the rnnkit side (e.g. cuda)"
    )
    parser.add_argument("--keep", type=Path, help="keep the generated cases in this directory")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        cases = []
        for i in range(args.cases):
            case = random_case(i, rng)
            arrays = tf_oracle.run_case(case, seed=int(rng.integers(2**31)))
            case["file"] = f"{case['id']}.npz"
            np.savez(out / case["file"], **arrays)
            cases.append(case)
            if (i + 1) % 50 == 0:
                print(f"TensorFlow ran {i + 1}/{args.cases} cases", file=sys.stderr, flush=True)
        manifest = {"tensorflow_version": tf_oracle.tf_version(), "cases": cases}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
        env = dict(os.environ, PYTHONPATH=args.rnnkit_src)
        results_path = out / "results.json"
        cmd = [args.rnnkit_python, str(ROOT / "tests" / "tf_fixtures" / "_tf_replay.py"), str(out)]
        cmd += ["--json", str(results_path)]
        if args.device:
            cmd += ["--device", args.device]
        proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
        if not results_path.exists():
            sys.exit(f"tf_random_check: the rnnkit replay failed:\n{proc.stdout}{proc.stderr}")
        results = json.loads(results_path.read_text())

    worst: dict[tuple[str, str], tuple[float, str]] = {}
    for case, res in zip(cases, results):
        for quantity, diff in res.get("diffs", {}).items():
            key = (case["dtype"], quantity)
            if diff >= worst.get(key, (-1.0, ""))[0]:
                worst[key] = (diff, case["id"])
    failures = [r for r in results if not r["ok"]]
    n64 = sum(c["dtype"] == "float64" for c in cases)
    print(f"TensorFlow {tf_oracle.tf_version()}, rnnkit via {args.rnnkit_python}, seed {args.seed}")
    print(f"cases compared: {len(results)} ({len(results) - n64} float32, {n64} float64)")
    print(f"failures: {len(failures)}")
    for (dtype, quantity), (diff, case_id) in sorted(worst.items()):
        print(f"  worst |diff| {dtype:8s} {quantity:16s} {diff:.3g}  ({case_id})")
    for r in failures:
        case = next(c for c in cases if c["id"] == r["id"])
        print(f"FAIL {r['id']}: {r.get('error') or r}\n  case: {json.dumps(case)}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
