"""rk.export: ONNX (checked in onnxruntime) and TorchScript files that reproduce the PyTorch model."""

import numpy as np
import onnxruntime
import pytest
import torch

import rnnkit as rk


class Tagger(torch.nn.Module):
    """x [B, T, D] -> per-step logits [B, T, 3] and the final h, through an rnnkit layer."""

    def __init__(self, cell, fused=None):
        super().__init__()
        self.rnn = rk.RNN(cell, fused=fused)
        self.head = torch.nn.Linear(cell.output_size, 3)

    def forward(self, x):
        out, state = self.rnn(x)
        h = state.h if isinstance(state, rk.LSTMStateTuple) else state
        return self.head(out), h


DYNAMIC = {"x": {0: "batch", 1: "time"}}


def _model(kind):
    torch.manual_seed(0)
    cells = {
        "fused-lstm": (rk.BasicLSTMCell(6, input_size=4), None),
        "loop-gru": (rk.GRUCell(6, input_size=4), None),
        "loop-lstm": (rk.BasicLSTMCell(6, input_size=4), False),
    }
    cell, fused = cells[kind]
    return Tagger(cell, fused).eval()


@pytest.mark.parametrize("kind, dynamic_time", [("fused-lstm", True), ("loop-gru", False)])
def test_onnx_runs_in_onnxruntime_and_matches(kind, dynamic_time, tmp_path, gen):
    model = _model(kind)
    x = torch.rand(2, 5, 4, generator=gen)
    path = tmp_path / "m.onnx"
    result = rk.export.to_onnx(
        model, (x,), path, input_names=["x"], output_names=["y", "h"], dynamic=DYNAMIC
    )
    want = {"x": {0: "batch", 1: "time"}} if dynamic_time else {"x": {0: "batch"}}
    assert result.dynamic == want and result.max_abs_diff <= 1e-5
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shapes = [(3, 5, 4), (1, 8, 4)] if dynamic_time else [(3, 5, 4)]
    for shape in shapes:
        xx = torch.rand(*shape, generator=gen)
        y, h = session.run(None, {"x": xx.numpy()})
        with torch.no_grad():
            ty, th = model(xx)
        np.testing.assert_allclose(y, ty.numpy(), atol=1e-5)
        np.testing.assert_allclose(h, th.numpy(), atol=1e-5)
    if (
        not dynamic_time
    ):  # the loop was recorded for T=5: the file refuses other lengths, it does not guess
        with pytest.raises(onnxruntime.capi.onnxruntime_pybind11_state.InvalidArgument):
            session.run(None, {"x": np.zeros((2, 7, 4), np.float32)})


@pytest.mark.parametrize("kind", ["fused-lstm", "loop-lstm"])
def test_torchscript_loads_and_matches(kind, tmp_path, gen):
    model = _model(kind)
    x = torch.rand(2, 5, 4, generator=gen)
    path = tmp_path / "m.pt"
    result = rk.export.to_torchscript(model, (x,), path, input_names=["x"], dynamic=DYNAMIC)
    assert result.dynamic["x"][0] == "batch" and (1 in result.dynamic["x"]) == (
        kind == "fused-lstm"
    )
    loaded = torch.jit.load(str(path))
    xx = torch.rand(4, 5, 4, generator=gen)
    with torch.no_grad():
        for a, b in zip(loaded(xx), model(xx)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


class Drifting(torch.nn.Module):
    """Adds a Python-side counter: the recorded file freezes it, so the export cannot match."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * self.calls


def test_a_file_that_does_not_reproduce_the_model_is_refused_and_not_written(tmp_path):
    path = tmp_path / "bad.pt"
    with pytest.raises(rk.export.ExportError, match="differs from PyTorch by"):
        rk.export.to_torchscript(Drifting(), (torch.ones(2, 3),), path)
    assert list(tmp_path.iterdir()) == []


def test_an_export_leaves_no_traced_tensor_in_the_fused_weight_cache(tmp_path, gen):
    """torch.export traces with fake tensors: nothing made then may be cached for later eager calls (the fused
    path keeps its constant vectors, the forget bias and torch's zero bias_hh, between calls)."""
    from rnnkit.cells import fused_spec

    model = _model("fused-lstm")
    x = torch.rand(2, 5, 4, generator=gen)
    rk.export.to_onnx(
        model,
        (x,),
        tmp_path / "m.onnx",
        input_names=["x"],
        output_names=["y", "h"],
        dynamic=DYNAMIC,
    )
    cached = list(fused_spec._CONSTANTS.values())
    assert all(type(t) is torch.Tensor for t in cached)
    with torch.no_grad():
        first, second = model(x), model(x)
        with torch.enable_grad():
            fresh = model(x)  # recording: no cache
    for a, b, c in zip(first, second, fresh):
        torch.testing.assert_close(a, c.detach())
        torch.testing.assert_close(b, c.detach())
