"""rk.seq2seq against TensorFlow (tfa.seq2seq = contrib.seq2seq math): fixtures from tools/make_seq2seq_fixtures.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk

from .replay import arrays, build, manifest

CASES = manifest()["cases"]
TOL = 2e-5  # float32 TF against float64 rnnkit


def _close(name: str, got: torch.Tensor, want: np.ndarray, tol: float = TOL) -> None:
    got_np = got.detach().double().numpy()
    assert got_np.shape == want.shape, f"{name}: shape {got_np.shape} != {want.shape}"
    np.testing.assert_allclose(got_np, want, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_matches_tensorflow(case):
    a = arrays(case)
    decoder, memory, mechanisms, wrapper, variables = build(case, a)
    assert list(variables) == case["variables"]  # TF 1.15's names, in TF's creation order
    dec = case["decoder"]
    outputs, state, lengths = rk.seq2seq.dynamic_decode(
        decoder,
        output_time_major=dec.get("output_time_major", False),
        impute_finished=dec.get("impute_finished", False),
        maximum_iterations=dec.get("maximum_iterations"),
    )
    np.testing.assert_array_equal(lengths.numpy(), a["lengths"])
    if dec["kind"] == "beam":
        np.testing.assert_array_equal(outputs.predicted_ids.numpy(), a["predicted_ids"])
        bso = outputs.beam_search_decoder_output
        np.testing.assert_array_equal(bso.predicted_ids.numpy(), a["step_ids"])
        np.testing.assert_array_equal(bso.parent_ids.numpy(), a["parent_ids"])
        _close("scores", bso.scores, a["scores"])
        _close("log_probs", state.log_probs, a["log_probs"])
        np.testing.assert_array_equal(state.lengths.numpy(), a["beam_lengths"])
        return
    _close("rnn_output", outputs.rnn_output, a["rnn_output"])
    np.testing.assert_array_equal(outputs.sample_id.numpy(), a["sample_id"])
    _close("final_attention", state.attention, a["final_attention"])
    alignments = state.alignments if isinstance(state.alignments, tuple) else (state.alignments,)
    for i, al in enumerate(alignments):
        _close(f"alignments_{i}", al, a[f"final_alignments_{i}"])
    if case["wrapper"].get("alignment_history"):
        hist = state.alignment_history
        hist = hist if isinstance(hist, tuple) else (hist,)
        for i, h in enumerate(hist):
            _close(f"alignment_history_{i}", h.stack(), a[f"alignment_history_{i}"])
    cell_state = state.cell_state
    parts = list(cell_state) if isinstance(cell_state, tuple) else [cell_state]
    for i, p in enumerate(parts):
        _close(f"cell_state_{i}", p, a[f"final_cell_state_{i}"])
    if dec["kind"] != "training":
        return
    loss = (outputs.rnn_output * torch.tensor(a["r_out"]).double()).sum()
    loss = loss + (state.attention * torch.tensor(a["r_att"]).double()).sum()
    params = list(variables.values())
    grads = torch.autograd.grad(loss, params + [memory], allow_unused=True)
    for k, (name, g) in enumerate(zip(case["variables"], grads[:-1])):
        _close(f"grad {name}", torch.zeros_like(params[k]) if g is None else g, a[f"grad_var_{k}"])
    _close("grad memory", grads[-1], a["grad_memory"])


LOSS_CASES = manifest()["loss_cases"]


@pytest.mark.parametrize("case", LOSS_CASES, ids=[str(c["flags"]) for c in LOSS_CASES])
def test_sequence_loss_matches_tensorflow(case):
    logits = torch.tensor(case["logits"], dtype=torch.float64, requires_grad=True)
    targets = torch.tensor(case["targets"])
    weights = torch.tensor(case["weights"], dtype=torch.float64)
    loss = rk.seq2seq.sequence_loss(logits, targets, weights, **case["flags"])
    _close("loss", loss, np.asarray(case["loss"], dtype=np.float64))
    (grad,) = torch.autograd.grad(
        (loss * torch.tensor(case["r"], dtype=torch.float64)).sum(), logits
    )
    _close("grad", grad, np.asarray(case["grad"]))
