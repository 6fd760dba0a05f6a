"""Replay TensorFlow fixture cases in rnnkit (no TensorFlow needed) and measure the differences.

A fixture directory holds ``manifest.json`` and one ``.npz`` per case, written by ``tools/tf_oracle.py``
(through ``tools/make_tf_fixtures.py`` or ``tools/tf_random_check.py``). A manifest case says how to rebuild it:

    id              unique name (the pytest id)
    cells           [{"type": "LSTMCell", "kwargs": {...}}]  TF / rnnkit constructor arguments; activation by name
    multi           None (a single cell) or {"state_is_tuple": bool} (a MultiRNNCell of ``cells``)
    unroll          "dynamic" or "static"
    time_major      dynamic_rnn's flag (static cases store inputs [T, B, D] and feed them as a list over T)
    batch, time, depth    B, T, D
    sequence_length None or a list of B ints
    initial_state   whether a random initial state was given (else dtype= was)
    dtype           "float32" or "float64"
    scope           the scope argument of the unroll (None: TF's default)
    var_scope       the scope the variables live under ("rnn" unless ``scope`` was given)
    variables       the TF variable names, tf.global_variables() order, without ":0"
    file            the .npz with inputs, var_{k}, init_state_{i}, outputs, final_state_{i}, r_outputs, r_state_{i},
                    grad_inputs, grad_init_state_{i}, grad_var_{k}

The loss whose gradients are stored is ``sum(outputs * r_outputs) + sum_i sum(final_state_i * r_state_i)`` over
the nest-flattened final state. Run as a script, this file replays a whole directory and prints (or writes as
JSON) the worst absolute difference per quantity; ``tools/tf_random_check.py`` uses it that way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnnkit as rk
from rnnkit import nest

QUANTITIES = ("outputs", "final_state", "grad_inputs", "grad_init_state", "grad_var")
# Absolute and relative tolerance per dtype: the issue asks for 1e-5 in float32; float64 must hold far tighter.
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


def load_manifest(directory: Path) -> dict[str, Any]:
    return json.loads((Path(directory) / "manifest.json").read_text())


def load_arrays(directory: Path, case: dict[str, Any]) -> dict[str, np.ndarray]:
    with np.load(Path(directory) / case["file"]) as data:
        return {k: data[k] for k in data.files}


def _out_size(spec: dict[str, Any]) -> int:
    kwargs = spec["kwargs"]
    return kwargs.get("num_proj") or kwargs["num_units"]


def build_cell(case: dict[str, Any], device: str | torch.device | None = None) -> rk.RNNCell:
    """The rnnkit cell (or MultiRNNCell stack) of ``case``, built for its input depth and dtype."""
    dtype = getattr(torch, case["dtype"])
    cells = []
    input_size = case["depth"]
    for spec in case["cells"]:
        cls = getattr(rk, spec["type"])
        cells.append(cls(**spec["kwargs"], input_size=input_size, dtype=dtype, device=device))
        input_size = _out_size(spec)
    if case["multi"] is None:
        (cell,) = cells
        return cell
    return rk.MultiRNNCell(cells, state_is_tuple=case["multi"]["state_is_tuple"])


def replay(
    case: dict[str, Any], arrays: dict[str, np.ndarray], device: str | torch.device | None = None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Run ``case`` in rnnkit with the TF weights; return (arrays named as in the fixture, rnnkit's TF names)."""
    dtype = getattr(torch, case["dtype"])
    cell = build_cell(case, device)
    values = {name: arrays[f"var_{k}"] for k, name in enumerate(case["variables"])}
    rk.load_tf_variables(cell, values, scope=case["var_scope"], strict=True)
    params = rk.tf_variables(cell, case["var_scope"])
    names = list(params)

    def leaf(key: str) -> torch.Tensor:
        return torch.tensor(arrays[key], dtype=dtype, device=device, requires_grad=True)

    x = leaf("inputs")
    n_state = len(case["state_shapes"])
    init = [leaf(f"init_state_{i}") for i in range(n_state)] if case["initial_state"] else []
    kwargs: dict[str, Any] = {"scope": case["scope"]}
    if init:
        kwargs["initial_state"] = nest.pack_sequence_as(cell.zero_state(case["batch"], dtype), init)
    else:
        kwargs["dtype"] = dtype
    if case["sequence_length"] is not None:
        kwargs["sequence_length"] = torch.tensor(case["sequence_length"], device=device)
    if case["unroll"] == "static":
        outs, final = rk.static_rnn(cell, list(x.unbind(0)), **kwargs)
        outputs = torch.stack(outs, 0)
    else:
        outputs, final = rk.dynamic_rnn(cell, x, time_major=case["time_major"], **kwargs)
    final_flat = nest.flatten(final)

    loss = (outputs * torch.as_tensor(arrays["r_outputs"], device=device)).sum()
    for i, s in enumerate(final_flat):
        loss = loss + (s * torch.as_tensor(arrays[f"r_state_{i}"], device=device)).sum()
    targets = [x, *init, *params.values()]
    if loss.requires_grad:
        grads = torch.autograd.grad(loss, targets, allow_unused=True)
    else:
        # Nothing reaches the loss (e.g. every row has length 0 and no initial state): TF's gradients are zeros.
        grads = (None,) * len(targets)

    def np_(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy()

    got = {"outputs": np_(outputs)}
    got.update({f"final_state_{i}": np_(s) for i, s in enumerate(final_flat)})
    keys = ["grad_inputs"] + [f"grad_init_state_{i}" for i in range(len(init))]
    keys += [f"grad_var_{k}" for k in range(len(params))]
    for key, g, t in zip(keys, grads, targets):
        got[key] = np_(torch.zeros_like(t) if g is None else g)
    return got, names


def differences(expected: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> dict[str, float]:
    """Worst absolute difference per quantity (outputs, final_state, grad_inputs, grad_init_state, grad_var).

    Raises ValueError when a stored array has no counterpart of the same shape in ``got``.
    """
    worst: dict[str, float] = {}
    for key, exp in expected.items():
        quantity = key.rstrip("0123456789").rstrip("_")
        if quantity not in QUANTITIES:
            continue
        if key not in got or got[key].shape != exp.shape:
            shape = None if key not in got else got[key].shape
            raise ValueError(f"{key}: expected shape {exp.shape}, got {shape}")
        diff = float(np.max(np.abs(got[key].astype(np.float64) - exp), initial=0.0))
        worst[quantity] = max(worst.get(quantity, 0.0), diff)
    return worst


def check_case(directory: Path, case: dict[str, Any], device: str | None = None) -> dict[str, Any]:
    """Replay one case; return {"id", "names_ok", "diffs", "ok"} (or "error" when rnnkit raised)."""
    arrays = load_arrays(directory, case)
    try:
        got, names = replay(case, arrays, device)
        diffs = differences(arrays, got)
    # The outside check reports every failure; it does not stop at the first.
    except Exception as exc:
        return {"id": case["id"], "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    tol = TOLERANCE[case["dtype"]]
    ok_values = all(np.allclose(got[k], arrays[k], rtol=tol, atol=tol) for k in got if k in arrays)
    names_ok = names == case["variables"]
    return {"id": case["id"], "names_ok": names_ok, "diffs": diffs, "ok": ok_values and names_ok}


def main() -> None:
    parser = argparse.ArgumentParser(description="Replay a TF fixture directory in rnnkit.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", type=Path, help="write the per-case results here")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    manifest = load_manifest(args.directory)
    results = [check_case(args.directory, c, args.device) for c in manifest["cases"]]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    worst: dict[str, dict[str, float]] = {}
    for case, res in zip(manifest["cases"], results):
        for q, d in res.get("diffs", {}).items():
            w = worst.setdefault(case["dtype"], {})
            w[q] = max(w.get(q, 0.0), d)
    failures = [r for r in results if not r["ok"]]
    print(f"replayed {len(results)} cases, {len(failures)} failures")
    for dt, w in worst.items():
        print(f"  worst |diff| {dt}: " + ", ".join(f"{q} {d:.3g}" for q, d in w.items()))
    for r in failures:
        print(f"  FAIL {r['id']}: {r.get('error') or r}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
