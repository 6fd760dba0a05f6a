"""A trace or an export records torch ops: no sequence kernel may run while one records, native or not (a
kernel's autograd Function would be recorded as an opaque Python call: jit.trace failed for the conv LSTMs,
and torch.onnx.export of a LayerNormBasicLSTMCell model wrote a graph without the recurrence)."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.cells import contrib
from rnnkit.kernels import _inputs, kernel_for
from tests.kernels._native import needs_native


def _case(name: str) -> tuple[rk.RNNCell, torch.Tensor]:
    torch.manual_seed(0)
    if name == "conv2d":
        cell = contrib.Conv2DLSTMCell(input_shape=[5, 5, 2], output_channels=3, kernel_shape=[3, 3])
        return cell, torch.randn(2, 4, 5, 5, 2)
    cells = {
        "gru": lambda: rk.GRUCell(4, input_size=3),
        "layer_norm_basic": lambda: rk.LayerNormBasicLSTMCell(4, input_size=3),
        "layer_norm_contrib": lambda: contrib.LayerNormLSTMCell(
            4, use_peepholes=True, layer_norm=True, input_size=3
        ),
        "glstm": lambda: contrib.GLSTMCell(4, number_of_groups=2, input_size=4),
    }
    cell = cells[name]()
    return cell, torch.randn(2, 5, 4 if name == "glstm" else 3)


@pytest.mark.parametrize(
    "name",
    # (without the native loops no kernel runs eagerly for these two: nothing to compare the trace with)
    [
        pytest.param("gru", marks=needs_native),
        "layer_norm_basic",
        "layer_norm_contrib",
        "conv2d",
        pytest.param("glstm", marks=needs_native),
    ],
)
def test_a_trace_records_the_step_loop_and_computes_the_same(name):
    cell, x = _case(name)

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = cell

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return rk.dynamic_rnn(self.cell, x)[0]

    model = Model()
    eager = model(x)
    assert kernel_for(cell, x)[0] is not None  # eager runs a kernel
    traced = torch.jit.trace(model, (x,))  # with its sanity check: the graph is the same each time
    assert "PythonOp" not in str(traced.graph) and "CppFunction" not in str(traced.graph)
    torch.testing.assert_close(traced(x), eager, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(traced(x * 0.5), model(x * 0.5), rtol=1e-5, atol=1e-5)


def test_the_reason_while_tracing(monkeypatch):
    monkeypatch.setattr(_inputs, "_tracing", lambda: True)
    cell, x = _case("conv2d")
    assert kernel_for(cell, x) == (
        None,
        "a trace or export is recording (it must see torch ops, not a sequence kernel's Function)",
    )
