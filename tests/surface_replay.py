"""Replay the surface fixtures (``tools/make_tf_fixtures_surface.py``) in rnnkit, with no TensorFlow.

``replay(case, arrays)`` rebuilds the case's model from its manifest entry, loads TF's random weights by TF name,
runs it on TF's inputs and returns the worst absolute difference per quantity (outputs, final states, gradients of
the inputs and of every variable) together with the rnnkit TF names. Run as a script on a directory written by
``--random N`` for the outside random check::

    PYTHONPATH=src python -m tests.surface_replay DIR   # prints the worst differences; exits 1 when a relative
                                                        # difference exceeds 1e-5 or a TF name differs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnnkit as rk
from rnnkit import nest

FIXTURES = Path(__file__).parent / "fixtures" / "surface"
TIME_FIRST = ("static_bidirectional", "stack_bidirectional_static", "raw_rnn")


def rk_cell(spec: dict[str, Any]) -> rk.RNNCell:
    kind, kwargs = spec["type"], dict(spec.get("kwargs", {}))
    if kind == "MultiRNNCell":
        return rk.MultiRNNCell([rk_cell(s) for s in spec["cells"]])
    if "cell" in spec:  # a wrapper (DropoutWrapper, ResidualWrapper, the projection wrappers)
        return getattr(rk, kind)(rk_cell(spec["cell"]), **kwargs)
    return getattr(rk, kind)(**kwargs)


def load_case(
    case_id: str, directory: Path = FIXTURES
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    manifest = json.loads((directory / "manifest.json").read_text())
    case = next(c for c in manifest["cases"] if c["id"] == case_id)
    with np.load(directory / case["file"]) as data:
        return case, dict(data)


def _raw_rnn(cell: rk.RNNCell, x: torch.Tensor, case: dict[str, Any]) -> tuple[list, list]:
    """The same loop_fn as the TF script: read time-major inputs until each row's length."""
    time, batch, depth = case["time"], case["batch"], case["depth"]
    lengths = torch.tensor(case["sequence_length"] or [time] * batch)

    def loop_fn(t, cell_output, cell_state, loop_state):
        state = cell.zero_state(batch, x.dtype) if cell_output is None else cell_state
        finished = t >= lengths
        nxt = x.new_zeros(batch, depth) if bool(finished.all()) else x[t]
        counter = 0 if loop_state is None else loop_state + 1
        return finished, nxt, state, cell_output, counter

    emit, state, loop_state = rk.raw_rnn(cell, loop_fn)
    return [emit], [*nest.flatten(state), torch.tensor(float(loop_state), dtype=x.dtype)]


def run_model(
    case: dict[str, Any], fw: list, bw: list, x: torch.Tensor, init: list | None = None
) -> tuple[list, list]:
    """rnnkit's nest-flattened (outputs, final states), in the layout of the TF script; ``init``: the flat
    initial-state leaves of fw then bw (bidirectional cases with ``initial_state``)."""
    model, tm, lengths = case["model"], case["time_major"], case["sequence_length"]
    initial = {}
    if init is not None:
        n_fw = len(nest.flatten(fw[0].state_size))
        initial = {
            "initial_state_fw": nest.pack_sequence_as(fw[0].state_size, init[:n_fw]),
            "initial_state_bw": nest.pack_sequence_as(bw[0].state_size, init[n_fw:]),
        }
    if model == "dynamic":
        out, st = rk.dynamic_rnn(fw[0], x, sequence_length=lengths, time_major=tm)
        return [out], nest.flatten(st)
    if model == "raw_rnn":
        return _raw_rnn(fw[0], x, case)
    if model == "bidirectional_dynamic":
        outs, states = rk.bidirectional_dynamic_rnn(
            fw[0], bw[0], x, sequence_length=lengths, time_major=tm, **initial
        )
        return list(outs), nest.flatten(states)
    if model == "static_bidirectional":
        outs, s_fw, s_bw = rk.static_bidirectional_rnn(
            fw[0], bw[0], list(x.unbind(0)), sequence_length=lengths, **initial
        )
        return [torch.stack(outs, 0)], nest.flatten((s_fw, s_bw))
    if model == "stack_bidirectional_dynamic":
        out, s_fw, s_bw = rk.stack_bidirectional_dynamic_rnn(
            fw, bw, x, sequence_length=lengths, time_major=tm
        )
        return [out], nest.flatten((s_fw, s_bw))
    outs, s_fw, s_bw = rk.stack_bidirectional_rnn(
        fw, bw, list(x.unbind(0)), sequence_length=lengths
    )
    return [torch.stack(outs, 0)], nest.flatten((s_fw, s_bw))


def tf_names(case: dict[str, Any], fw: list, bw: list) -> dict[str, torch.nn.Parameter]:
    model = case["model"]
    if model in ("dynamic", "raw_rnn"):
        return rk.tf_variables(fw[0])
    if model in ("bidirectional_dynamic", "static_bidirectional"):
        return rk.tf_variables_bidirectional(fw[0], bw[0])
    return rk.tf_variables_stack_bidirectional(fw, bw, static=model == "stack_bidirectional_static")


def replay(
    case: dict[str, Any], arrays: dict[str, np.ndarray]
) -> tuple[dict[str, float], list[str]]:
    """Worst absolute differences to TF per quantity (and ``<quantity>_rel``: each array's difference divided by
    max(1, its largest TF value)), and rnnkit's TF names (to compare with the manifest's)."""
    dtype = torch.float64 if case["dtype"] == "float64" else torch.float32
    fw = [rk_cell(s) for s in case["fw"]]
    bw = [rk_cell(s) for s in case["bw"]]
    x = torch.from_numpy(arrays["inputs"]).requires_grad_(True)
    depth = case["depth"]  # build explicitly: a batch whose lengths are all 0 never calls the cells
    for i, cell in enumerate(fw):
        cell.build(depth)
        if bw:
            bw[i].build(depth)
            depth = cell.output_size + bw[i].output_size
    fw, bw = [c.to(dtype) for c in fw], [c.to(dtype) for c in bw]
    variables = tf_names(case, fw, bw)
    names = list(variables)
    rk.load_tf_variable_dict(
        variables, {n: arrays[f"var_{k}"] for k, n in enumerate(case["variables"])}
    )
    n_init = case.get("n_init", 0)
    init = [torch.from_numpy(arrays[f"init_{i}"]).requires_grad_(True) for i in range(n_init)]
    outs, states = run_model(case, fw, bw, x, init if n_init else None)
    diffs: dict[str, float] = {}

    def worst(key: str, got: Any, want: np.ndarray) -> None:
        got = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
        if got.shape != want.shape:
            raise AssertionError(f"{case['id']} {key}: shape {got.shape} != TF {want.shape}")
        diff = float(np.max(np.abs(got - want), initial=0.0))
        diffs[key] = max(diffs.get(key, 0.0), diff)
        # relative to the size of TF's values where they exceed 1 (float32 rounding grows with them)
        scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
        diffs[f"{key}_rel"] = max(diffs.get(f"{key}_rel", 0.0), diff / scale)

    loss = x.new_zeros(())
    for i, o in enumerate(outs):
        worst("outputs", o, arrays[f"out_{i}"])
        loss = loss + (o * torch.from_numpy(arrays[f"r_out_{i}"])).sum()
    for i, s in enumerate(states):
        worst("final_state", s, arrays[f"state_{i}"])
        loss = loss + (s * torch.from_numpy(arrays[f"r_state_{i}"])).sum()
    known = [(k, n) for k, n in enumerate(case["variables"]) if n in variables]
    wrt = [x, *init, *(variables[n] for _, n in known)]
    # Only what requires a gradient is differentiated: a variable TF created but never used (contrib's
    # layer-normalised LSTMs keep their bias as a buffer then) gets zero, as TF's None gradient.
    live = [t for t in wrt if t.requires_grad]
    if loss.requires_grad:
        found = iter(torch.autograd.grad(loss, live, allow_unused=True))
        grads = tuple(next(found) if t.requires_grad else None for t in wrt)
    else:  # every length 0: nothing depends on the inputs or the weights
        grads = tuple(torch.zeros_like(t) for t in wrt)
    grads = tuple(
        torch.zeros_like(t) if g is None else g for t, g in zip(wrt, grads)
    )  # unused: zero, as TF
    worst("grad_inputs", grads[0], arrays["grad_inputs"])
    for i in range(n_init):
        g = grads[1 + i]
        worst(
            "grad_init_state",
            torch.zeros_like(init[i]) if g is None else g,
            arrays[f"grad_init_{i}"],
        )
    for (k, name), g in zip(known, grads[1 + n_init :]):
        worst(
            "grad_var",
            torch.zeros_like(variables[name]) if g is None else g,
            arrays[f"grad_var_{k}"],
        )
    return diffs, names


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else FIXTURES
    manifest = json.loads((directory / "manifest.json").read_text())
    worst_all, worst_rel_all, failed = 0.0, 0.0, []
    for case in manifest["cases"]:
        _, arrays = load_case(case["id"], directory)
        diffs, names = replay(case, arrays)
        worst = max(v for k, v in diffs.items() if not k.endswith("_rel"))
        worst_rel = max(v for k, v in diffs.items() if k.endswith("_rel"))
        worst_all = max(worst_all, worst)
        ok = worst_rel <= 1e-5 and names == case["variables"]
        if not ok:
            failed.append(case["id"])
        print(
            f"{'ok  ' if ok else 'FAIL'} {case['id']}: worst {worst:.2e} (relative {worst_rel:.2e})"
        )
        worst_rel_all = max(worst_rel_all, worst_rel)
    print(
        f"{len(manifest['cases'])} cases, worst absolute difference {worst_all:.2e}, worst relative "
        f"{worst_rel_all:.2e}; {len(failed)} failed (relative > 1e-5 or names differ) {failed}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
