"""Replay the block-cell fixtures written by TF's own kernels (``tools/make_tf_fixtures_block.py``): outputs, final
states, the gradients of a random projection of them (inputs, initial state, every variable) and TF's variable
names in TF's order, on both the step loop and the fused path where the cell allows it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit as rk

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "block"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CASES = MANIFEST["cases"]
TOL = {"rtol": 1e-5, "atol": 1e-5}


def _model(case: dict):
    cfg, kind = case["config"], case["kind"]
    d = MANIFEST["depth"]
    opts = {k: v for k, v in cfg.items() if k not in ("num_units", "num_layers")}
    if kind == "lstm_block":
        return rk.LSTMBlockCell(cfg["num_units"], input_size=d, **opts)
    if kind == "lstm_block_fused":
        return rk.LSTMBlockFusedCell(cfg["num_units"], input_size=d, **opts)
    if kind == "cudnn_compatible_lstm":
        h = cfg["num_units"]
        return rk.MultiRNNCell(
            [
                rk.CudnnCompatibleLSTMCell(h, input_size=d if i == 0 else h)
                for i in range(cfg["num_layers"])
            ]
        )
    if kind == "cudnn_compatible_gru":
        h = cfg["num_units"]
        return rk.MultiRNNCell(
            [
                rk.CudnnCompatibleGRUCell(h, input_size=d if i == 0 else h)
                for i in range(cfg["num_layers"])
            ]
        )
    cls = rk.GRUBlockCellV2 if kind == "gru_block_v2" else rk.GRUBlockCell
    return cls(cfg["num_units"], input_size=d)


def _run(case, model, arrays, fused):
    x = torch.tensor(arrays["inputs"], requires_grad=True)
    n_init = len([k for k in arrays if k.startswith("init_")])
    init = [torch.tensor(arrays[f"init_{i}"], requires_grad=True) for i in range(n_init)]
    lengths = case.get("lengths")
    if case["kind"] == "lstm_block_fused":
        out, state = model(x, initial_state=tuple(init), sequence_length=lengths)
    else:
        structure = rk.nest.pack_sequence_as(model.state_size, init)
        out, state = rk.dynamic_rnn(model, x, sequence_length=lengths, initial_state=structure,
                                    time_major=case["time_major"], fused=fused)  # fmt: skip
    states = rk.nest.flatten(state)
    loss = (out * torch.tensor(arrays["r_out"])).sum()
    for i, s in enumerate(states):
        loss = loss + (s * torch.tensor(arrays[f"r_state_{i}"])).sum()
    params = list(
        rk.tf_variables(model, scope=None if case["kind"] == "lstm_block_fused" else "rnn").values()
    )
    grads = torch.autograd.grad(loss, [x, *init, *params])
    return out, states, grads


@pytest.mark.parametrize("fused", [False, None], ids=["loop", "auto"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_block_cells_replay_tensorflow(case, fused):
    arrays = dict(np.load(FIXTURES / case["file"]))
    model = _model(case)
    scope = None if case["kind"] == "lstm_block_fused" else "rnn"
    assert list(rk.tf_variables(model, scope=scope)) == case["names"]  # TF's names, TF's order
    rk.load_tf_variables(
        model, {n: arrays[f"var_{k}"] for k, n in enumerate(case["names"])}, scope=scope
    )
    if case["kind"] == "lstm_block_fused" and fused is False:
        model.cell.register_forward_hook(lambda *a: None)  # a hook forces the step loop
    out, states, grads = _run(case, model, arrays, fused)
    np.testing.assert_allclose(out.detach().numpy(), arrays["out"], **TOL)
    for i, s in enumerate(states):
        np.testing.assert_allclose(s.detach().numpy(), arrays[f"state_{i}"], **TOL)
    np.testing.assert_allclose(grads[0].numpy(), arrays["grad_inputs"], **TOL)
    n_init = len(states)
    for i in range(n_init):
        np.testing.assert_allclose(grads[1 + i].numpy(), arrays[f"grad_init_{i}"], **TOL)
    for k in range(len(case["names"])):
        np.testing.assert_allclose(grads[1 + n_init + k].numpy(), arrays[f"grad_var_{k}"], **TOL)


def test_fixtures_cover_every_block_kernel_and_stay_small():
    kinds = {c["kind"] for c in CASES}
    assert kinds == {
        "lstm_block",
        "lstm_block_fused",
        "gru_block",
        "gru_block_v2",
        "cudnn_compatible_lstm",
        "cudnn_compatible_gru",
    }
    assert sum(p.stat().st_size for p in FIXTURES.iterdir()) < 500_000
