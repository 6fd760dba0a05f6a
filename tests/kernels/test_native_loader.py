"""The native kernels' machinery: the loader (build, cache, fallbacks and their reasons), the buffer pool, the
input checks, traces and exports, and the dispatch's reasons for the step loop."""

from __future__ import annotations

import gc
import subprocess

import pytest
import torch

import rnnkit as rk
from rnnkit.kernels import gru_sequence, kernel_for, native, peephole_lstm_sequence
from tests.kernels._cell_loop import cell_loop
from tests.kernels._cells import _cell
from tests.kernels._native import needs_native

torch.set_num_threads(1)

pytestmark = needs_native


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
