"""ResidualWrapper, DeviceWrapper, the projection wrappers and the CellWrapper base: behaviour, TF names and
errors (their math against NumPy runs in the contract suite, tests/registry.py)."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from tests.reference import numpy_cells as ref
from tests.reference import numpy_surface as refs
from tests.registry import randomize


def test_cell_wrapper_forwards_the_contract():
    inner = rk.LSTMCell(4, num_proj=2)
    wrapped = rk.ResidualWrapper(inner)
    assert wrapped.state_size == rk.LSTMStateTuple(4, 2) and wrapped.output_size == 2
    assert wrapped.wrapped_cell is inner and not wrapped.built and wrapped.input_size is None
    wrapped.build(3)
    assert inner.built and wrapped.built and wrapped.input_size == 3
    state = wrapped.zero_state(5, torch.float64)
    assert state.c.shape == (5, 4) and state.h.dtype == torch.float64
    assert list(rk.tf_variables(wrapped, "x")) == [
        "x/lstm_cell/kernel",
        "x/lstm_cell/bias",
        "x/lstm_cell/projection/kernel",
    ]
    assert isinstance(wrapped, rk.CellWrapper) and list(wrapped.parameters()) == list(
        inner.parameters()
    )


def test_residual_adds_inputs_and_custom_fn():
    inner = randomize(rk.GRUCell(3, input_size=3))
    x, h = torch.randn(2, 3), torch.randn(2, 3)
    out, state = rk.ResidualWrapper(inner)(x, h)
    want, want_state = inner(x, h)
    torch.testing.assert_close(out, x + want)
    torch.testing.assert_close(state, want_state)
    out, _ = rk.ResidualWrapper(inner, residual_fn=lambda i, o: i - 2 * o)(x, h)
    torch.testing.assert_close(out, x - 2 * want)


def test_residual_shape_mismatch_is_a_clear_error():
    cell = rk.ResidualWrapper(rk.GRUCell(5, input_size=3))
    with pytest.raises(
        ValueError,
        match=r"ResidualWrapper: expected the cell's output to have the inputs' shape "
        r"\(2, 3\) \(the default residual_fn adds them\), got \(2, 5\)",
    ):
        cell(torch.randn(2, 3), torch.zeros(2, 5))
    with pytest.raises(
        TypeError, match="ResidualWrapper: expected residual_fn to be callable, got int 1"
    ):
        rk.ResidualWrapper(rk.GRUCell(3), residual_fn=1)


def test_device_wrapper_runs_and_returns_on_the_inputs_device():
    inner = randomize(rk.BasicLSTMCell(3, input_size=2))
    cell = rk.DeviceWrapper(inner, "cpu")
    assert cell.device == torch.device("cpu")
    x = torch.randn(4, 5, 2)
    torch.testing.assert_close(rk.dynamic_rnn(cell, x)[0], rk.dynamic_rnn(inner, x)[0])
    assert cell.zero_state(2).h.device == torch.device("cpu")


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (run on the GPU machine)"
)
def test_device_wrapper_on_cuda_from_cpu_inputs():
    inner = randomize(rk.GRUCell(3, input_size=2))
    reference = randomize(rk.GRUCell(3, input_size=2))
    cell = rk.DeviceWrapper(inner, "cuda")
    assert inner.gates_kernel.is_cuda
    x = torch.randn(4, 5, 2)
    out, state = rk.dynamic_rnn(cell, x, sequence_length=[5, 0, 2, 1])
    want, want_state = rk.dynamic_rnn(reference, x, sequence_length=[5, 0, 2, 1])
    assert out.device.type == "cpu" and state.device.type == "cpu"
    torch.testing.assert_close(out, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "tf_device, torch_device",
    [
        ("/gpu:0", "cuda:0"),
        ("/GPU:1", "cuda:1"),
        ("/device:GPU:2", "cuda:2"),
        ("/job:localhost/replica:0/task:0/device:GPU:1", "cuda:1"),
        ("/cpu:0", "cpu"),
        ("/CPU:0", "cpu"),
        ("/device:CPU:0", "cpu"),
        ("/job:localhost/replica:0/task:0/device:CPU:0", "cpu"),
    ],
)
def test_device_wrapper_accepts_tf_device_strings(tf_device, torch_device):
    # tensorflow/nmt and most TF1 code spell devices "/gpu:%d": GPU N is torch's cuda:N. An unbuilt cell has
    # no parameters to move, so the GPU spellings are checked here without a GPU.
    cell = rk.DeviceWrapper(rk.GRUCell(3), tf_device)
    assert cell.device == torch.device(torch_device)
    if cell.device.type == "cpu":
        inner = randomize(rk.GRUCell(3, input_size=2))
        x = torch.randn(4, 5, 2)
        got = rk.dynamic_rnn(rk.DeviceWrapper(inner, tf_device), x)[0]
        torch.testing.assert_close(got, rk.dynamic_rnn(inner, x)[0])


def test_device_wrapper_errors():
    with pytest.raises(
        ValueError,
        match=r"DeviceWrapper: expected a torch device name \('cpu', 'cuda:0'\) or a TF device string "
        r"\('/gpu:0', .*\), got 'gpu:x'",
    ):
        rk.DeviceWrapper(rk.GRUCell(2), "gpu:x")
    with pytest.raises(
        TypeError, match="DeviceWrapper: expected device to be a str or torch.device, got int 0"
    ):
        rk.DeviceWrapper(rk.GRUCell(2), 0)


def test_output_projection_lazy_build_names_and_math():
    cell = rk.OutputProjectionWrapper(rk.BasicLSTMCell(4), 3, activation="tanh")
    assert not cell.built and cell.output_size == 3
    x = torch.randn(2, 5, dtype=torch.float64)
    rk.dynamic_rnn(cell, x[:, None])  # builds the cell, then the projection, in float64
    assert cell.built and cell.kernel.dtype == torch.float64 and tuple(cell.kernel.shape) == (4, 3)
    assert not cell.bias.any()  # TF: zeros
    randomize(cell)
    w = {k: v.detach().numpy() for k, v in rk.tf_variables(cell, "").items()}
    inner = {k[len("output_projection_wrapper/") :]: v for k, v in w.items()}

    def step(w_, x_, s_):
        return ref.basic_lstm(
            {k[len("basic_lstm_cell/") :]: v for k, v in w_.items() if "cell/" in k}, x_, s_
        )

    zeros = (x.new_zeros(2, 4).numpy(), x.new_zeros(2, 4).numpy())
    want, _ = refs.output_projection(step, inner, x.numpy(), zeros, act="tanh")
    got, _ = cell(x, cell.zero_state(2, torch.float64))
    torch.testing.assert_close(got.detach(), torch.from_numpy(want))
    assert list(rk.tf_variables(cell)) == [
        "rnn/output_projection_wrapper/basic_lstm_cell/kernel",
        "rnn/output_projection_wrapper/basic_lstm_cell/bias",
        "rnn/output_projection_wrapper/kernel",
        "rnn/output_projection_wrapper/bias",
    ]


def test_input_projection_names_order_and_build():
    cell = rk.InputProjectionWrapper(rk.GRUCell(2), 4)
    with pytest.raises(ValueError, match="tf_variables: expected a built cell"):
        rk.tf_variables(cell)
    cell.build(3)
    assert cell.input_size == 3 and cell.cell.input_size == 4
    assert list(rk.tf_variables(cell, "enc")) == [
        "enc/input_projection_wrapper/kernel",
        "enc/input_projection_wrapper/bias",
        "enc/input_projection_wrapper/gru_cell/gates/kernel",
        "enc/input_projection_wrapper/gru_cell/gates/bias",
        "enc/input_projection_wrapper/gru_cell/candidate/kernel",
        "enc/input_projection_wrapper/gru_cell/candidate/bias",
    ]
    with pytest.raises(
        ValueError,
        match=r"InputProjectionWrapper: built for input_size=3, got inputs.shape\[-1\]=5",
    ):
        cell(torch.randn(2, 5), cell.zero_state(2))
    named = rk.InputProjectionWrapper(rk.GRUCell(2), 4, input_size=3, name="proj")
    assert list(rk.tf_variables(named))[0] == "rnn/proj/kernel"


def test_projection_wrapper_errors():
    with pytest.raises(
        ValueError,
        match="OutputProjectionWrapper: expected output_size to be a positive int, got 0",
    ):
        rk.OutputProjectionWrapper(rk.GRUCell(2), 0)
    with pytest.raises(
        ValueError, match="OutputProjectionWrapper: expected a cell whose output_size is an int"
    ):
        rk.OutputProjectionWrapper(_NestedOut(), 2)
    with pytest.raises(
        TypeError, match="InputProjectionWrapper: expected num_proj to be a positive int, got str"
    ):
        rk.InputProjectionWrapper(rk.GRUCell(2), "4")
    with pytest.raises(
        TypeError, match="OutputProjectionWrapper: expected cell to be an rnnkit RNNCell, got dict"
    ):
        rk.OutputProjectionWrapper({}, 2)
    with pytest.raises(
        ValueError, match="OutputProjectionWrapper: expected activation to be a callable or one of"
    ):
        rk.OutputProjectionWrapper(rk.GRUCell(2), 2, activation="swishy")


class _NestedOut(rk.RNNCell):
    state_size = 2
    output_size = (2, 2)

    def forward(self, inputs, state):
        return (state, state), state


def test_wrappers_load_tf_variables():
    cell = rk.OutputProjectionWrapper(rk.BasicRNNCell(2, input_size=3), 1)
    values = {
        name: torch.full(tuple(p.shape), float(i))
        for i, (name, p) in enumerate(rk.tf_variables(cell).items())
    }
    rk.load_tf_variables(cell, {k + ":0": v for k, v in values.items()})
    assert torch.equal(cell.kernel, values["rnn/output_projection_wrapper/kernel"])
    assert torch.equal(
        cell.cell.kernel, values["rnn/output_projection_wrapper/basic_rnn_cell/kernel"]
    )
