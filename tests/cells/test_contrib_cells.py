"""The contrib cells' own behaviour beyond the contract suite and the TF fixtures: TF's default initialisers,
lazy builds, the options that change the variables, and equalities with the core cells that follow from TF's
formulas (LayerNormLSTMCell without layer_norm is LSTMCell; one-group GLSTMCell is LSTMCell)."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk

B, T, D = 3, 5, 4


def _x(dtype=torch.float64, seed=0):
    return torch.randn(B, T, D, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _randomize(cell, seed=1):
    cell = cell.double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.5)
    return cell


def test_default_initialisers_follow_tf():
    torch.manual_seed(0)
    ind = rk.IndRNNCell(50, input_size=D)
    assert ind.kernel_u.abs().max() <= 1 and ind.kernel_u.abs().max() > 0.5  # uniform in [-1, 1]
    assert not ind.bias.any()
    gru = rk.IndyGRUCell(4, input_size=D)
    assert torch.equal(gru.gates_bias, torch.ones(8)) and not gru.candidate_bias.any()
    lstm = rk.IndyLSTMCell(4, input_size=D, bias_initializer=torch.nn.init.ones_)
    assert torch.equal(lstm.bias, torch.ones(16))
    ln = rk.LayerNormLSTMCell(4, layer_norm=True, norm_gain=1.5, norm_shift=-0.25, input_size=D)
    assert torch.equal(ln.state_gamma, torch.full((4,), 1.5)) and torch.equal(
        ln.input_beta, torch.full((4,), -0.25)
    )
    ug = rk.UGRNNCell(3, initializer=torch.nn.init.ones_, input_size=D)
    assert torch.equal(ug.kernel, torch.ones(D + 3, 6)) and not ug.bias.any()
    nas = rk.NASCell(3, input_size=D)
    limit = (6 / (D + 24)) ** 0.5  # glorot-uniform over [D, 8H]
    assert nas.kernel.abs().max() <= limit and nas.bias is None and nas.projection_weights is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: rk.NASCell(3, num_proj=2),
        lambda: rk.SRUCell(3),
        lambda: rk.GLSTMCell(4, number_of_groups=2),
        lambda: rk.CoupledInputForgetGateLSTMCell(3, layer_norm=True),
        lambda: rk.IntersectionRNNCell(3, num_in_proj=3),
    ],
    ids=["nas", "sru", "glstm", "cifg", "intersection"],
)
def test_lazy_build_takes_the_inputs_dtype_and_depth(make):
    cell = make()
    assert not cell.built
    out, _ = rk.dynamic_rnn(cell, _x(), sequence_length=[5, 0, 2])
    assert cell.built and cell.input_size == D
    assert all(p.dtype == torch.float64 for p in cell.parameters())
    assert out.shape == (B, T, cell.output_size) and not out[1].any()


def test_layer_norm_lstm_without_layer_norm_is_lstm_cell():
    kwargs = dict(
        use_peepholes=True, cell_clip=0.7, num_proj=3, proj_clip=0.4, forget_bias=0.3, input_size=D
    )
    contrib = _randomize(rk.LayerNormLSTMCell(5, **kwargs))
    core = rk.LSTMCell(5, **kwargs).double()
    # Same TF names (kernel, bias, w_*_diag, projection/kernel) under different scopes.
    values = {k.split("/", 2)[2]: v for k, v in rk.tf_variables(contrib).items()}
    for name, param in rk.tf_variables(core).items():
        with torch.no_grad():
            param.copy_(values[name.split("/", 2)[2]])
    a, sa = rk.dynamic_rnn(contrib, _x(), sequence_length=[5, 1, 3])
    b, sb = rk.dynamic_rnn(core, _x(), sequence_length=[5, 1, 3])
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(sa.c, sb.c, rtol=1e-12, atol=1e-12)


def test_one_group_glstm_is_lstm_cell_with_split_bias():
    glstm = _randomize(rk.GLSTMCell(4, number_of_groups=1, input_size=D))
    core = rk.LSTMCell(4, input_size=D).double()
    with torch.no_grad():
        core.kernel.copy_(glstm.group0_kernel)
        core.bias.copy_(torch.cat([glstm.bias_i, glstm.bias_j, glstm.bias_f, glstm.bias_o]))
    torch.testing.assert_close(rk.dynamic_rnn(glstm, _x())[0], rk.dynamic_rnn(core, _x())[0])


def test_layer_norm_bias_exists_but_gets_no_gradient():
    """As in TF: the bias is created (its name is in checkpoints) but layer_norm replaces it, so it is a buffer:
    named, saved and loaded, never trained."""
    for cell in (rk.LayerNormLSTMCell(3, layer_norm=True, input_size=D),
                 rk.CoupledInputForgetGateLSTMCell(3, layer_norm=True, input_size=D)):  # fmt: skip
        names = [k.rsplit("/", 1)[1] for k in rk.tf_variables(cell)]
        assert names[1] in ("bias", "B") and "bias" in cell.state_dict()
        assert all(p is not cell.bias for p in cell.parameters())
        rk.load_tf_variables(
            cell, {k: v.detach().numpy() + 1 for k, v in rk.tf_variables(cell).items()}
        )
        assert torch.equal(cell.bias, torch.ones_like(cell.bias))
        out, _ = rk.dynamic_rnn(cell, _x(torch.float32))
        out.sum().backward()
        assert cell.kernel.grad is not None


def test_intersection_projects_only_inputs_of_another_depth():
    same = rk.IntersectionRNNCell(D, num_in_proj=D, input_size=D)
    assert [k.split("/", 2)[2] for k in rk.tf_variables(same)] == ["kernel", "bias"]
    other = rk.IntersectionRNNCell(2, num_in_proj=2, input_size=D)
    assert list(rk.tf_variables(other))[:2] == [
        "rnn/intersection_rnn_cell/in_projection/kernel",
        "rnn/intersection_rnn_cell/in_projection/bias",
    ]


def test_cifg_concatenated_state_equals_tuple_state():
    tup = _randomize(rk.CoupledInputForgetGateLSTMCell(3, num_proj=2, input_size=D))
    cat = rk.CoupledInputForgetGateLSTMCell(
        3, num_proj=2, state_is_tuple=False, input_size=D
    ).double()
    cat.load_state_dict(tup.state_dict())
    assert cat.state_size == 5
    out_t, st_t = rk.dynamic_rnn(tup, _x(), sequence_length=[5, 2, 0])
    out_c, st_c = rk.dynamic_rnn(cat, _x(), sequence_length=[5, 2, 0])
    torch.testing.assert_close(out_t, out_c)
    torch.testing.assert_close(torch.cat([st_t.c, st_t.h], 1), st_c)


def test_sru_state_is_c_and_output_is_h():
    cell = _randomize(rk.SRUCell(D, input_size=D))
    x, c = _x()[:, 0], torch.randn(B, D, dtype=torch.float64)
    h, new_c = cell(x, c)
    x_bar, f, r, x_tx = (x @ cell.kernel).chunk(4, 1)
    f = torch.sigmoid(f + cell.bias[:D])
    torch.testing.assert_close(new_c, f * c + (1 - f) * x_bar)
    assert not torch.allclose(h, new_c)


def _phased(peep):
    cell = rk.PhasedLSTMCell(3, use_peepholes=peep, leak=0.05, input_size=D).double()
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, p in cell.named_parameters():
            if name == "period":
                p.copy_(torch.rand(3, generator=gen, dtype=p.dtype) * 4 + 2)
            elif name == "ratio_on":
                p.copy_(torch.rand(3, generator=gen, dtype=p.dtype) * 0.5 + 0.1)
            elif name != "phase":
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.5)
    times = torch.cumsum(torch.rand(B, T, 1, generator=gen, dtype=torch.float64) * 2 + 0.2, 1)
    return cell, times


@pytest.mark.parametrize("peep", [False, True], ids=["plain", "peepholes"])
def test_phased_lstm_matches_numpy_and_static_rnn(peep):
    import numpy as np

    from tests.reference import numpy_cells as ref
    from tests.reference import numpy_contrib as refc

    cell, times = _phased(peep)
    x, lengths = _x(), [5, 0, 3]
    out, state = rk.dynamic_rnn(cell, (times, x), sequence_length=lengths)
    w = {k.split("/", 2)[2]: v.detach().numpy() for k, v in rk.tf_variables(cell).items()}
    zeros = np.zeros((B, 3))
    ref_out, ref_state = ref.unroll(
        lambda xt, s: refc.phased_lstm(w, (xt[:, :1], xt[:, 1:]), s, peep=peep, leak=0.05),
        torch.cat([times, x], -1).numpy(),
        (zeros, zeros),
        lengths,
    )
    np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state.c.detach().numpy(), ref_state[0], rtol=1e-10, atol=1e-12)
    st_out, _ = rk.static_rnn(
        cell, list(zip(times.unbind(1), x.unbind(1))), sequence_length=lengths
    )
    torch.testing.assert_close(torch.stack(st_out, 1), out, rtol=1e-12, atol=1e-12)


def test_phased_lstm_gradcheck_times_and_inputs():
    cell, times = _phased(True)
    x = _x()[:2, :3].requires_grad_(True)
    t = times[:2, :3].clone().requires_grad_(True)
    fn = lambda t, x: rk.dynamic_rnn(cell, (t, x), sequence_length=[3, 2])[0]  # noqa: E731
    assert torch.autograd.gradcheck(fn, (t, x), eps=1e-6, atol=1e-7)


def test_phased_lstm_initialisers_and_ratio_on_trainability():
    torch.manual_seed(0)
    cell = rk.PhasedLSTMCell(
        64, period_init_min=2.0, period_init_max=50.0, trainable_ratio_on=False, input_size=D
    )
    assert cell.period.min() >= 2.0 and cell.period.max() <= 50.0
    assert (cell.phase >= 0).all() and (cell.phase <= cell.period).all()
    assert torch.equal(cell.ratio_on, torch.full((64,), 0.1)) and not cell.ratio_on.requires_grad
