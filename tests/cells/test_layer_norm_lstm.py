"""LayerNormBasicLSTMCell against hand-computed TF 1.15 contrib formulas (NumPy, tests/reference/numpy_surface.py):
layer norm per gate, recurrent dropout on the candidate in train mode only, TF names, initial values, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rnnkit as rk
from tests.contract import cases_of
from tests.contract.test_cell_contract import *  # noqa: F403  (the contract checks, over `case` below)
from tests.reference import numpy_surface as refs
from tests.registry import randomize

# the registry cases of this file's cells, for the contract checks imported above
case = cases_of(rk.LayerNormBasicLSTMCell)

H, D = 4, 3


def _weights(cell):
    return {k: v.detach().double().numpy() for k, v in rk.tf_variables(cell, "").items()}


def _strip(w, prefix="layer_norm_basic_lstm_cell/"):
    return {k[len(prefix) :]: v for k, v in w.items()}


def test_layer_norm_by_hand_on_a_tiny_case():
    """The normalisation itself, written out for 4 numbers: mean 2.5, variance 1.25."""
    v = np.array([[1.0, 2.0, 3.0, 4.0]])
    expected = (v - 2.5) / math.sqrt(1.25 + 1e-12) * 2.0 + 0.5
    np.testing.assert_allclose(
        refs.layer_norm(v, np.full(4, 2.0), np.full(4, 0.5)), expected, rtol=1e-14
    )
    cell = rk.LayerNormBasicLSTMCell(4, input_size=1, norm_gain=2.0, norm_shift=0.5).double()
    got = cell._norm(torch.from_numpy(v), "input")
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-14)


@pytest.mark.parametrize("layer_norm", [True, False])
def test_step_matches_numpy_over_a_sequence(layer_norm):
    cell = randomize(
        rk.LayerNormBasicLSTMCell(H, forget_bias=0.7, layer_norm=layer_norm, input_size=D)
    ).double()
    x = torch.randn(5, 6, D, dtype=torch.float64)
    out, state = rk.dynamic_rnn(cell, x, sequence_length=[6, 0, 3, 1, 2])
    w = _strip(_weights(cell))

    def step(x_, s_):
        return refs.layer_norm_basic_lstm(w, x_, s_, forget_bias=0.7, layer_norm_on=layer_norm)

    from tests.reference import numpy_cells

    zeros = (np.zeros((5, H)), np.zeros((5, H)))
    want_out, (want_c, want_h) = numpy_cells.unroll(step, x.numpy(), zeros, [6, 0, 3, 1, 2])
    np.testing.assert_allclose(out.detach().numpy(), want_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state.c.detach().numpy(), want_c, rtol=1e-10, atol=1e-12)


def test_recurrent_dropout_on_the_candidate_in_train_mode():
    keep, seed = 0.6, 11
    cell = randomize(
        rk.LayerNormBasicLSTMCell(H, dropout_keep_prob=keep, dropout_prob_seed=seed, input_size=D)
    )
    cell = cell.double()
    x, c, h = (torch.randn(8, n, dtype=torch.float64) for n in (D, H, H))
    out, state = cell(x, rk.LSTMStateTuple(c, h))
    # the same draws as the cell: its own generator seeded with dropout_prob_seed, one uniform per element
    u = torch.rand(8, H, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    mask = (torch.floor(keep + u) / keep).numpy()
    assert 0 < (mask == 0).sum() < mask.size
    w = _strip(_weights(cell))
    want_out, (want_c, _) = refs.layer_norm_basic_lstm(
        w, x.numpy(), (c.numpy(), h.numpy()), dropout_mask=mask
    )
    np.testing.assert_allclose(out.detach().numpy(), want_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state.c.detach().numpy(), want_c, rtol=1e-10, atol=1e-12)
    # eval: no dropout at all
    cell.eval()
    out_eval, _ = cell(x, rk.LSTMStateTuple(c, h))
    want_eval, _ = refs.layer_norm_basic_lstm(w, x.numpy(), (c.numpy(), h.numpy()))
    np.testing.assert_allclose(out_eval.detach().numpy(), want_eval, rtol=1e-10, atol=1e-12)


def test_dropout_seed_reproducible_and_fresh_each_step():
    def run():
        cell = randomize(
            rk.LayerNormBasicLSTMCell(H, dropout_keep_prob=0.5, dropout_prob_seed=3, input_size=D)
        )
        return rk.dynamic_rnn(cell, torch.ones(2, 4, D))[0]

    a, b = run(), run()
    assert torch.equal(a, b)
    plain = randomize(rk.LayerNormBasicLSTMCell(H, input_size=D))
    assert not torch.equal(a, rk.dynamic_rnn(plain, torch.ones(2, 4, D))[0])


def test_names_order_and_initial_values():
    cell = rk.LayerNormBasicLSTMCell(H, input_size=D, norm_gain=1.5, norm_shift=-0.25)
    names = list(rk.tf_variables(cell))
    gates = ["input", "transform", "forget", "output", "state"]
    assert names == ["rnn/layer_norm_basic_lstm_cell/kernel"] + [
        f"rnn/layer_norm_basic_lstm_cell/{g}/{p}" for g in gates for p in ("gamma", "beta")
    ]
    assert torch.all(cell.forget_gamma == 1.5) and torch.all(cell.state_beta == -0.25)
    limit = math.sqrt(6 / (D + H + 4 * H))
    assert cell.kernel.abs().max() <= limit
    no_ln = rk.LayerNormBasicLSTMCell(H, input_size=D, layer_norm=False)
    assert list(rk.tf_variables(no_ln)) == [
        "rnn/layer_norm_basic_lstm_cell/kernel",
        "rnn/layer_norm_basic_lstm_cell/bias",
    ]
    assert (
        no_ln.bias.abs().max() <= math.sqrt(6 / (8 * H)) and no_ln.bias.abs().max() > 0
    )  # TF: glorot, not zeros


@pytest.mark.parametrize("bad", [0.0, 1.2, torch.tensor(-1.0)])
def test_bad_keep_probability(bad):
    with pytest.raises(
        ValueError, match=r"LayerNormBasicLSTMCell: expected dropout_keep_prob in \(0, 1\], got"
    ):
        rk.LayerNormBasicLSTMCell(H, dropout_keep_prob=bad)


def test_bad_arguments():
    with pytest.raises(
        TypeError, match="LayerNormBasicLSTMCell: expected dropout_keep_prob to be a float or a 0-d"
    ):
        rk.LayerNormBasicLSTMCell(H, dropout_keep_prob="0.5")
    with pytest.raises(
        TypeError, match="LayerNormBasicLSTMCell: expected layer_norm to be a bool, got int 1"
    ):
        rk.LayerNormBasicLSTMCell(H, layer_norm=1)
    with pytest.raises(
        TypeError, match="LayerNormBasicLSTMCell: expected dropout_prob_seed to be an int or None"
    ):
        rk.LayerNormBasicLSTMCell(H, dropout_prob_seed="x")
    with pytest.raises(
        ValueError, match="LayerNormBasicLSTMCell: expected num_units to be a positive int, got 0"
    ):
        rk.LayerNormBasicLSTMCell(0)
