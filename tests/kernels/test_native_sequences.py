"""The native sequence kernels (TF's GRUCell and LSTMCell with peepholes / cell_clip, ``rnnkit.kernels.native``)
against the cell called once per step (autograd through the cell's own math) and against the NumPy reference of
``tests/reference``: values, every gradient, gradcheck, sequence_length (0, partial, full), initial states, the
pooled buffers, and every reason the step loop runs instead."""

from __future__ import annotations

import gc
import subprocess

import numpy as np
import pytest
import torch

import rnnkit as rk
from rnnkit.cells import contrib
from rnnkit.kernels import gru_sequence, kernel_for, native, peephole_lstm_sequence
from tests.kernels._cell_loop import cell_loop
from tests.reference import numpy_cells, numpy_contrib

torch.set_num_threads(1)

pytestmark = pytest.mark.skipif(
    native.library() is None, reason=f"native loops unavailable: {native.unavailable_reason()}"
)

CELLS = {
    "gru": lambda: rk.GRUCell(5, input_size=3, dtype=torch.float64),
    "peepholes": lambda: rk.LSTMCell(5, use_peepholes=True, input_size=3, dtype=torch.float64),
    "cell_clip": lambda: rk.LSTMCell(5, cell_clip=0.4, input_size=3, dtype=torch.float64),
    "both": lambda: rk.LSTMCell(
        5, use_peepholes=True, cell_clip=0.5, forget_bias=0.3, input_size=3, dtype=torch.float64
    ),
    "flat_state": lambda: rk.LSTMCell(
        5, use_peepholes=True, state_is_tuple=False, input_size=3, dtype=torch.float64
    ),
    # contrib's LSTMBlockCell: the same step, but the gradient passes through the clip unchanged
    "block": lambda: rk.LSTMBlockCell(
        5, forget_bias=0.2, cell_clip=0.4, use_peephole=True, input_size=3, dtype=torch.float64
    ),
    # contrib's independently recurrent cells (kernels/indy.py)
    "indrnn": lambda: contrib.IndRNNCell(5, input_size=3, dtype=torch.float64),
    "indrnn_relu": lambda: contrib.IndRNNCell(
        5, activation="relu", input_size=3, dtype=torch.float64
    ),
    "indy_gru": lambda: contrib.IndyGRUCell(5, input_size=3, dtype=torch.float64),
    "indy_lstm": lambda: contrib.IndyLSTMCell(
        5, forget_bias=0.3, input_size=3, dtype=torch.float64
    ),
    # contrib's SRU and UGRNN cells (kernels/sru_ugrnn.py)
    "sru": lambda: contrib.SRUCell(5, input_size=3, dtype=torch.float64),
    "ugrnn": lambda: contrib.UGRNNCell(5, forget_bias=0.4, input_size=3, dtype=torch.float64),
    # contrib's NASCell (kernels/nas.py), with and without its recurrent bias
    "nas": lambda: contrib.NASCell(5, input_size=3, dtype=torch.float64),
    "nas_bias": lambda: contrib.NASCell(5, use_bias=True, input_size=3, dtype=torch.float64),
    # contrib's IntersectionRNNCell (kernels/intersection.py): relu (default) and tanh depth candidates
    "intersection": lambda: contrib.IntersectionRNNCell(
        5, num_in_proj=5, forget_bias=0.2, input_size=3, dtype=torch.float64
    ),
    "intersection_tanh": lambda: contrib.IntersectionRNNCell(
        5, num_in_proj=5, y_activation="tanh", input_size=3, dtype=torch.float64
    ),
}


def _cell(kind, seed=0):
    torch.manual_seed(seed)
    cell = CELLS[kind]()
    with torch.no_grad():  # random, non-symmetric weights (the biases start at constants)
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * 0.7)
    return cell


def _state(cell, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    zero = cell.zero_state(batch, torch.float64)
    return rk.nest.map_structure(
        lambda z: torch.randn(z.shape, generator=gen, dtype=torch.float64).requires_grad_(), zero
    )


LENGTHS = [None, [6, 0, 3, 6], [2, 1, 2, 2], [0, 0, 0, 0]]


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_dynamic_rnn_native_kernel_equals_the_cell_loop(kind, time_major, lengths):
    cell = _cell(kind, seed=len(str(lengths)))
    assert "native loops" in kernel_for(cell)[1]
    shape = (6, 4, 3) if time_major else (4, 6, 3)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    state = _state(cell, 4, seed=3)
    lens = None if lengths is None else torch.tensor(lengths)
    got = rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state, time_major=time_major)
    want = cell_loop(cell, x, state, lens, time_major)
    flat_got, flat_want = rk.nest.flatten(got), rk.nest.flatten(want)
    for g, w in zip(flat_got, flat_want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    weights = [torch.randn_like(w) for w in flat_want]
    wrt = [x, *rk.nest.flatten(state), *cell.parameters()]
    g_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(flat_got, weights)), wrt)
    g_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(flat_want, weights)), wrt)
    for g, w in zip(g_got, g_want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


def _numpy_weights(cell):
    """``{"gates/kernel": array, ...}``: the cell's TF variables without the cell's own scope."""
    return {name.split("/", 1)[1]: p.detach().numpy() for name, p in cell.named_tf_variables()}


@pytest.mark.parametrize(
    "kind",
    [
        "gru",
        "peepholes",
        "both",
        "indrnn_relu",
        "indy_gru",
        "indy_lstm",
        "sru",
        "ugrnn",
        "nas_bias",
        "intersection",
    ],
)
def test_native_kernel_equals_the_numpy_reference(kind):
    cell = _cell(kind, seed=7)
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    lengths = [6, 2, 0, 5]
    state = _state(cell, 4, seed=8)
    got, final = rk.dynamic_rnn(cell, x, sequence_length=torch.tensor(lengths), initial_state=state)
    w = _numpy_weights(cell)
    steps = {
        "gru": lambda x_t, h: numpy_cells.gru(w, x_t, h),
        "indrnn_relu": lambda x_t, h: numpy_contrib.indrnn(w, x_t, h, act="relu"),
        "indy_gru": lambda x_t, h: numpy_contrib.indy_gru(w, x_t, h),
        "indy_lstm": lambda x_t, s: numpy_contrib.indy_lstm(
            w, x_t, s, forget_bias=cell.forget_bias
        ),
        "sru": lambda x_t, c: numpy_contrib.sru(w, x_t, c),
        "ugrnn": lambda x_t, h: numpy_contrib.ugrnn(w, x_t, h, forget_bias=cell.forget_bias),
        "nas_bias": lambda x_t, s: numpy_contrib.nas(w, x_t, s, use_bias=True),
        "intersection": lambda x_t, h: numpy_contrib.intersection(
            w, x_t, h, forget_bias=cell.forget_bias
        ),
    }
    options = {"forget_bias": getattr(cell, "forget_bias", 1.0), "use_peepholes": True}
    options["cell_clip"] = getattr(cell, "cell_clip", None)
    step = steps.get(kind, lambda x_t, s: numpy_cells.lstm(w, x_t, s, **options))
    start = (
        tuple(s.detach().numpy() for s in state)
        if isinstance(state, tuple)
        else state.detach().numpy()
    )
    want, want_final = numpy_cells.unroll(step, x.numpy(), start, lengths)
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    for g, v in zip(rk.nest.flatten(final), rk.nest.flatten(want_final)):
        np.testing.assert_allclose(g.detach().numpy(), v, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["gru", "both"])
def test_float32_native_kernel_close_to_float64(kind):
    cell = _cell(kind, seed=2)
    x = torch.randn(3, 9, 3, dtype=torch.float64)
    want, _ = rk.dynamic_rnn(cell, x)
    got, _ = rk.dynamic_rnn(cell.float(), x.float())
    torch.testing.assert_close(got.double(), want, rtol=0, atol=2e-6)


@pytest.mark.parametrize("lengths", [None, [3, 0, 2]], ids=str)
def test_gru_sequence_gradcheck(lengths):
    gen = torch.Generator().manual_seed(1)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).requires_grad_()
    lens = None if lengths is None else torch.tensor(lengths)
    args = (
        r(3, 3, 2),
        r(6, 8),
        r(8),
        r(6, 4),
        r(4),
        r(3, 4),
    )  # x, gates kernel/bias, candidate's, h0
    assert torch.autograd.gradcheck(lambda *a: gru_sequence(*a, lens), args)


@pytest.mark.parametrize("peep, clip", [(True, None), (True, 0.3), (False, 0.3)])
def test_peephole_lstm_sequence_gradcheck(peep, clip):
    gen = torch.Generator().manual_seed(2)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).requires_grad_()
    lens = torch.tensor([3, 1, 2])
    peepholes = r(3, 4) if peep else None
    args = (
        r(3, 3, 2),
        r(6, 16),
        r(16),
        peepholes,
        r(3, 4),
        r(3, 4),
    )  # x, kernel, bias, peepholes, c0, m0
    fn = lambda x, k, b, p, c, m: peephole_lstm_sequence(x, k, b, p, c, m, 0.7, clip, lens)
    assert torch.autograd.gradcheck(fn, args)


def test_pooled_buffers_never_reach_the_caller():
    """Two graphs alive at once, a third call in between: outputs and gradients stay those of separate runs."""
    cell = _cell("both", seed=4)
    xs = [torch.randn(5, 6, 3, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    alone = []
    for x in xs:
        out, _ = rk.dynamic_rnn(cell, x)
        alone.append((out.detach().clone(), torch.autograd.grad(out.square().sum(), x)[0]))
        del out
        gc.collect()
    outs = [rk.dynamic_rnn(cell, x)[0] for x in xs]  # all three graphs alive together
    for (want_out, _), out in zip(alone, outs):
        assert torch.equal(out, want_out)
    for (_, want_grad), out, x in zip(reversed(alone), reversed(outs), reversed(xs)):
        assert torch.equal(torch.autograd.grad(out.square().sum(), x)[0], want_grad)


@pytest.mark.parametrize(
    "how, reason",
    [
        (
            lambda x: x.bfloat16(),
            "the native loops take float32 and float64; the inputs are torch.bfloat16",
        ),
        (lambda x: x[:0], "the inputs are empty"),
    ],
)
def test_kernel_for_names_what_the_inputs_lack(how, reason):
    cell = _cell("gru")
    runner, why = kernel_for(cell, how(torch.zeros(2, 3, 3)))
    assert runner is None and why == reason


def test_autocast_keeps_the_step_loop():
    cell = rk.GRUCell(5, input_size=3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert kernel_for(cell, torch.zeros(2, 3, 3))[1].startswith("autocast is on")


def test_other_activation_or_projection_keeps_the_step_loop():
    assert (
        kernel_for(rk.GRUCell(4, activation="relu"))[1]
        == "activation relu; the kernel has tanh only"
    )
    assert kernel_for(rk.LSTMCell(4, use_peepholes=True, num_proj=2))[1] == (
        "num_proj (the kernel has no projection)"
    )


def test_trace_records_torch_ops_not_the_native_call():
    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = rk.GRUCell(4, input_size=3)

        def forward(self, x):
            return rk.dynamic_rnn(self.cell, x)[0]

    model, x = Model(), torch.randn(2, 5, 3)
    traced = torch.jit.trace(model, (x,), check_trace=False)
    assert "CppFunction" not in str(traced.graph) and "PythonOp" not in str(traced.graph)
    torch.testing.assert_close(traced(x), model(x), rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_inputs_take_the_step_loop():
    cell = rk.GRUCell(4, input_size=3).cuda()
    assert kernel_for(cell, torch.zeros(2, 3, 3, device="cuda"))[1].startswith(
        "the native loops run on the CPU"
    )


def test_turned_off_by_the_environment(monkeypatch):
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    cell = _cell("gru")
    assert kernel_for(cell)[1] == (
        "the native loops are not available: RNNKIT_NATIVE=0 turns the native loops off"
    )
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    got = rk.dynamic_rnn(cell, x)[0]  # the step loop
    torch.testing.assert_close(
        got, cell_loop(cell, x, cell.zero_state(2, torch.float64), None, False)[0]
    )


def test_a_failing_compiler_warns_and_falls_back(monkeypatch, tmp_path):
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", str(tmp_path))
    monkeypatch.setattr(native, "_compiler", lambda: "/bin/false")
    with pytest.warns(
        RuntimeWarning, match="building the native loops failed, the step loop runs instead"
    ):
        assert native.library() is None
    assert (
        native.unavailable_reason()
        == "building the native loops with /bin/false failed (see the warning)"
    )
    assert list(tmp_path.iterdir()) == []  # no half-written library left behind


def test_no_compiler_is_a_reason_not_an_error(monkeypatch):
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setattr(native, "_compiler", lambda: None)
    assert native.library() is None
    assert native.unavailable_reason().startswith("no C compiler found")


def test_build_goes_to_the_cache_folder_once(monkeypatch, tmp_path):
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", str(tmp_path))
    assert native.library() is not None
    built = sorted(p.name for p in tmp_path.iterdir())
    assert len(built) == 1 and built[0].startswith("rnnkit_sequences_") and built[0].endswith(".so")
    calls = []
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    assert (
        native.library() is not None and calls == []
    )  # the cached file is loaded, nothing compiles


@pytest.mark.parametrize(
    "kind",
    [
        "gru",
        "both",
        "block",
        "indrnn",
        "indy_gru",
        "indy_lstm",
        "sru",
        "ugrnn",
        "nas_bias",
        "intersection",
    ],
)
def test_double_backward_equals_the_cell_loop(kind):
    """create_graph=True through the kernel gives differentiable gradients: a gradient penalty's gradient equals
    the one through the cell's own step loop (no second-order term is dropped)."""
    cell = _cell(kind, seed=9)
    x = torch.randn(3, 4, 3, dtype=torch.float64, requires_grad=True)
    lens = torch.tensor([4, 2, 0])
    state = _state(cell, 3, seed=1)

    def penalty(run):
        out = run()
        (g,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
        return torch.autograd.grad(g.square().sum(), [x, *cell.parameters()])

    got = penalty(lambda: rk.dynamic_rnn(cell, x, sequence_length=lens, initial_state=state)[0])
    want = penalty(lambda: cell_loop(cell, x, state, lens, False)[0])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


def test_bad_tensors_get_a_clear_error_not_a_native_call(monkeypatch):
    r = lambda *s: torch.randn(*s, dtype=torch.float64)
    good = (r(3, 2, 2), r(6, 8), r(8), r(6, 4), r(4), r(2, 4))
    with pytest.raises(
        ValueError, match=r"gru_sequence: expected gates_kernel of shape \[6, 8\], got \[5, 8\]"
    ):
        gru_sequence(good[0], r(5, 8), *good[2:])
    with pytest.raises(
        TypeError, match="gru_sequence: expected h0 as a CPU float32 or float64 tensor like the"
    ):
        gru_sequence(*good[:5], good[5].float())
    with pytest.raises(
        ValueError, match=r"peephole_lstm_sequence: expected peepholes of shape \[3, 4\]"
    ):
        peephole_lstm_sequence(r(3, 2, 2), r(6, 16), r(16), r(2, 4), r(2, 4), r(2, 4))
    with pytest.raises(
        ValueError, match=r"peephole_lstm_sequence: expected x \[T, B, D\] and c0 \[B, H\]"
    ):
        peephole_lstm_sequence(r(2, 2), r(6, 16), r(16), None, r(2, 4), r(2, 4))
    monkeypatch.setattr(native, "_state", {"lib": None, "reason": "test"})
    with pytest.raises(RuntimeError, match="gru_sequence: the native loops are not available here"):
        gru_sequence(*good)


def test_an_unwritable_cache_folder_falls_back_to_the_temporary_folder(monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")  # a folder cannot be made under a file
    monkeypatch.setattr(native, "_state", {})
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", str(blocked / "cache"))
    monkeypatch.setattr(native.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    assert native.library() is not None
    built = list((tmp_path / "tmp").glob("rnnkit-native-*/rnnkit_sequences_*.so"))
    assert len(built) == 1


@pytest.mark.parametrize("kind", ["gru", "both", "indy_lstm", "sru", "ugrnn"])
def test_inference_mode_then_training_reuse_no_inference_buffer(kind):
    """A pooled buffer made under inference_mode is an inference tensor: it must not come back outside it."""
    cell = _cell(kind, seed=5)
    x = torch.randn(3, 4, 3, dtype=torch.float64)
    with torch.inference_mode():
        first = rk.dynamic_rnn(cell, x)[0]
    gc.collect()
    out = rk.dynamic_rnn(cell, x)[0]  # outside: its buffers must be ordinary tensors
    out.sum().backward()
    torch.testing.assert_close(out.detach(), first, rtol=0, atol=0)


def test_the_buffer_pool_stays_under_its_bound(monkeypatch):
    """Many sequence lengths (bucketed batches) must not grow the pool past its byte bound."""
    from rnnkit.kernels import _workspace

    monkeypatch.setattr(_workspace, "_KEEP_BYTES", 200_000)
    cell = _cell("gru", seed=1)
    for steps in range(1, 40):
        out, _ = rk.dynamic_rnn(cell, torch.randn(8, steps, 3, dtype=torch.float64))
        out.sum().backward()
        del out
        gc.collect()
        assert _workspace.pooled_bytes() <= 200_000
    assert _workspace.pooled_bytes() > 0  # it does pool


def test_non_contiguous_weights_give_the_same_values_and_gradients():
    """The kernels hand C contiguous copies but save (and differentiate) the arguments themselves."""
    gen = torch.Generator().manual_seed(3)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)
    x, h0 = r(3, 2, 2), r(2, 4)
    wg_t, wc_t = r(8, 6).requires_grad_(), r(4, 6).requires_grad_()  # stored transposed
    bg, bc = r(8), r(4)
    got = gru_sequence(x, wg_t.t(), bg, wc_t.t(), bc, h0)  # non-contiguous kernels
    g_got = torch.autograd.grad(got[0].square().sum(), [wg_t, wc_t])
    wg, wc = (
        wg_t.detach().t().contiguous().requires_grad_(),
        wc_t.detach().t().contiguous().requires_grad_(),
    )
    want = gru_sequence(x, wg, bg, wc, bc, h0)
    g_want = torch.autograd.grad(want[0].square().sum(), [wg, wc])
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=0)
    for g, w in zip(g_got, g_want):
        torch.testing.assert_close(g, w.t(), rtol=1e-12, atol=1e-12)
