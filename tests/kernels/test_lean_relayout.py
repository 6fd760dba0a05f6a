"""NOTE [lean re-layout] (rnnkit/cells/fused_spec.py): a fused LSTM call on plain CPU parameters without a
projection gets its torch-layout weights by the shortest route: a no-grad call from ``NativeLstmLayout.inference``
with the fewest checks, a recording call from the re-layout's autograd Function with cached constants. It must
give the general route's bits and gradients, be the route such calls take, and leave everything it does not cover
(a projection, a weights scope, a trace, a subclass, in a no-grad call a non-contiguous or mis-shaped parameter)
to the general route, which still computes what the step loop does."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.cells import fused_spec, lstm_layout
from rnnkit.cells.fused_spec import lstm_torch_weights, weights_scope
from rnnkit.kernels.lstm_layout import NativeLstmLayout
from tests.kernels._native import needs_native

torch.set_num_threads(1)

pytestmark = needs_native


@pytest.fixture
def lean_calls(monkeypatch):
    """Counts the installed layout's ``inference`` answers: ``[taken, refused]`` (``_built`` starts it at zero:
    a process's first call is refused, then the general route fills the layout's function table)."""
    layout = lstm_layout._NATIVE[0]
    original = layout.inference
    calls = [0, 0]

    def counted(*args, **kwargs):
        done = original(*args, **kwargs)
        calls[done is None] += 1
        return done

    monkeypatch.setattr(layout, "inference", counted)
    return calls


def _built(cell: rk.RNNCell, depth: int, calls: list[int], dtype=torch.float32) -> rk.RNNCell:
    cell = cell.to(dtype)
    with torch.no_grad():
        rk.dynamic_rnn(cell, torch.zeros(1, 1, depth, dtype=dtype))  # builds the cell
    calls[:] = [0, 0]
    return cell


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("forget_bias", [1.0, 0.0, -0.5])
def test_a_plain_no_grad_call_takes_it_and_gets_the_general_routes_bits(
    dtype, forget_bias, lean_calls
):
    torch.manual_seed(0)
    cell = _built(rk.BasicLSTMCell(6, forget_bias=forget_bias), 5, lean_calls, dtype)
    x = torch.randn(3, 4, 5, dtype=dtype)
    with torch.no_grad():
        got = cell._torch_weights()
        assert lean_calls == [1, 0]
        forget = fused_spec._constant(24, 6, forget_bias, cell.kernel)
        want = [
            *lstm_layout._gather(cell.kernel, cell.bias, 5, forget),
            torch.zeros(24, dtype=dtype),
        ]
        assert len(got) == 4
        for g, w in zip(got, want):
            assert g.dtype == dtype and g.is_contiguous() and torch.equal(g, w)
        fused = rk.dynamic_rnn(cell, x)[0]
        assert lean_calls == [2, 0]
        loop = rk.dynamic_rnn(cell, x, fused=False)[0]
    torch.testing.assert_close(fused, loop)


def test_cells_of_one_size_and_different_forget_biases_get_their_own_constants(lean_calls):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 4)
    for forget_bias in (1.0, 2.5, 1.0):
        cell = _built(rk.BasicLSTMCell(5, forget_bias=forget_bias), 4, lean_calls)
        with torch.no_grad():
            fused, loop = rk.dynamic_rnn(cell, x)[0], rk.dynamic_rnn(cell, x, fused=False)[0]
        torch.testing.assert_close(fused, loop)
        assert lean_calls == [1, 0]


def test_a_write_between_calls_is_seen(lean_calls):
    """Nothing is kept between calls: a ``.data`` write (no version bump) shows in the next call."""
    torch.manual_seed(2)
    cell = _built(rk.BasicLSTMCell(5), 4, lean_calls)
    x = torch.randn(2, 3, 4)
    with torch.no_grad():
        first = rk.dynamic_rnn(cell, x)[0]
        cell.kernel.data.mul_(-1.25)
        cell.bias.data[7] += 1.0
        after, loop = rk.dynamic_rnn(cell, x)[0], rk.dynamic_rnn(cell, x, fused=False)[0]
    assert not torch.equal(after, first)
    torch.testing.assert_close(after, loop)
    assert lean_calls == [2, 0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_recording_call_takes_it_through_the_function_with_the_step_loops_gradients(
    dtype, monkeypatch
):
    taken = []
    original = fused_spec._lean_weights

    def watched(*args):
        done = original(*args)
        taken.append(done is not None)
        return done

    monkeypatch.setattr(fused_spec, "_lean_weights", watched)
    torch.manual_seed(6)
    cell = rk.BasicLSTMCell(5, forget_bias=0.3, input_size=4).to(dtype)
    x = torch.randn(2, 3, 4, dtype=dtype, requires_grad=True)
    results = []
    for fused in (None, False):  # the fused call twice (the first plans it), then the step loop
        for _ in range(2 if fused is None else 1):
            out, state = rk.dynamic_rnn(cell, x, fused=fused)
            loss = (out * out.detach().sin()).sum() + state.h.sum()
            results.append([out, *torch.autograd.grad(loss, [x, *cell.parameters()])])
    assert taken == [True, True]
    weights = cell._torch_weights()
    assert weights[0].grad_fn is not None and "ToTorchLayout" in type(weights[0].grad_fn).__name__
    assert torch.equal(results[0][0], results[1][0])
    for a, b in zip(results[1], results[2]):
        torch.testing.assert_close(a, b)


def test_a_projection_and_a_scope_take_the_general_route(lean_calls, monkeypatch):
    torch.manual_seed(3)
    projected = _built(rk.LSTMCell(5, num_proj=3), 4, lean_calls)
    cell = _built(rk.BasicLSTMCell(5), 4, lean_calls)
    x = torch.randn(2, 3, 4)
    asked = []
    monkeypatch.setattr(fused_spec, "_lean_weights", lambda *args: asked.append(args) or None)
    with torch.no_grad():
        torch.testing.assert_close(
            rk.dynamic_rnn(projected, x)[0], rk.dynamic_rnn(projected, x, fused=False)[0]
        )
    assert asked == []  # a projection is never offered to it
    monkeypatch.undo()
    with torch.no_grad(), weights_scope({}):
        lstm_torch_weights(cell.kernel, cell.bias, cell.forget_bias, 4)
    assert lean_calls == [0, 0]


def test_frozen_parameters_with_grad_on_get_no_autograd_node():
    torch.manual_seed(7)
    cell = rk.BasicLSTMCell(5, input_size=4).requires_grad_(False)
    x = torch.randn(2, 3, 4)
    weights = cell._torch_weights()
    assert all(w.grad_fn is None and not w.requires_grad for w in weights)
    torch.testing.assert_close(rk.dynamic_rnn(cell, x)[0], rk.dynamic_rnn(cell, x, fused=False)[0])


def test_a_trace_records_the_re_layout_instead_of_baking_it_in(lean_calls):
    """Under ``jit.trace`` (here within no_grad) the weights must stay ops of the parameters: a traced function
    run after a weight change computes with the new weights."""
    torch.manual_seed(4)
    cell = _built(rk.BasicLSTMCell(5), 4, lean_calls)
    x = torch.randn(2, 3, 4)

    class Outputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = cell

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return rk.dynamic_rnn(self.cell, inputs)[0]

    with torch.no_grad():
        traced = torch.jit.trace(Outputs(), x, check_trace=False)
        cell.kernel.mul_(0.5)
        torch.testing.assert_close(traced(x), rk.dynamic_rnn(cell, x, fused=False)[0])
    assert lean_calls[0] == 0


def test_a_non_contiguous_kernel_goes_the_general_route(lean_calls):
    torch.manual_seed(5)
    cell = _built(rk.BasicLSTMCell(5), 4, lean_calls)
    with torch.no_grad():
        cell.kernel.data = cell.kernel.detach().t().contiguous().t()
        x = torch.randn(2, 3, 4)
        torch.testing.assert_close(
            rk.dynamic_rnn(cell, x)[0], rk.dynamic_rnn(cell, x, fused=False)[0]
        )
    # refused, by the pooled variant and then by the plain one on the way to the general route
    assert lean_calls == [0, 2]


def test_what_the_lean_method_refuses():
    layout = NativeLstmLayout()
    kernel, bias = torch.randn(9, 16), torch.randn(16)
    forget, zero = torch.zeros(16), torch.zeros(16)
    assert layout.to_torch(kernel, bias, 5, forget) is not None  # fills its function table
    assert layout.inference(kernel, bias, 5, forget, zero) is not None

    class Wrapped(torch.Tensor):
        pass

    assert layout.inference(kernel.as_subclass(Wrapped), bias, 5, forget, zero) is None
    assert layout.inference(kernel.t().contiguous().t(), bias, 5, forget, zero) is None
    assert layout.inference(kernel, bias.double(), 5, forget, zero) is None
    assert layout.inference(kernel, bias[:8], 5, forget, zero) is None  # would read past the bias
    assert layout.inference(kernel, bias, 9, forget, zero) is None  # no recurrent rows
    assert layout.inference(kernel.to("meta"), bias.to("meta"), 5, forget, zero) is None
    assert layout.inference(kernel.bfloat16(), bias.bfloat16(), 5, forget, zero) is None
    # to_torch checks the bias's and the constant's lengths too
    assert layout.to_torch(kernel, bias[:8], 5, forget) is None
    assert layout.to_torch(kernel, bias, 5, forget[:8]) is None
