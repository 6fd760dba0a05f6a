"""Bad input → one clear error, for the layers (``rk.RNN``, ``rk.BidirectionalRNN``, ``rk.TrainableInitialState``),
``dynamic_rnn``'s ``reset`` and ``rk.export``. As in ``test_errors_core.py``: each case changes one thing in a correct call and is matched on
its whole message; docs/errors.md carries the generated table."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch

import rnnkit as rk
from tests._errors import Case, assert_in_doc, check, table

OUT = (
    Path(tempfile.gettempdir()) / "rnnkit-errors-layers.onnx"
)  # never written: every case fails first


def stream(batch=2):
    layer = rk.RNN(rk.GRUCell(3, input_size=2), stateful=True)
    layer(torch.zeros(batch, 4, 2))
    return layer


def tagger():
    return rk.RNN(rk.BasicLSTMCell(3, input_size=2))


def to_onnx(model=None, inputs=None, names=("x",), dynamic=None):
    model = tagger() if model is None else model
    inputs = (torch.zeros(1, 4, 2),) if inputs is None else inputs
    return rk.export.to_onnx(
        model, inputs, OUT, input_names=names, output_names=["y"], dynamic=dynamic
    )


# fmt: off
CASES = [
    Case("rnn-cell", "RNN", "cell", "a torch.nn.LSTM", lambda: rk.RNN(torch.nn.LSTM(2, 3)), TypeError,
         "RNN: expected cell to be an rnnkit RNNCell, got LSTM (missing: state_size, output_size, zero_state)"),
    Case("rnn-flag", "RNN", "stateful", "not a bool", lambda: rk.RNN(rk.GRUCell(2), stateful=1), TypeError,
         "RNN: expected stateful to be a bool, got 1"),
    Case("rnn-scope", "RNN", "scope", "empty", lambda: rk.RNN(rk.GRUCell(2), scope=""), TypeError,
         "RNN: expected scope to be a non-empty str, got ''"),
    Case("rnn-reset-not-stateful", "RNN.reset_state", "self", "a layer made without stateful=True",
         lambda: rk.RNN(rk.GRUCell(2)).reset_state(), ValueError,
         "RNN.reset_state: expected a stateful layer (RNN(..., stateful=True)), got stateful=False"),
    Case("rnn-reset-mask", "RNN.reset_state", "rows", "not a bool mask [B]",
         lambda: stream().reset_state(torch.tensor([1, 0])), ValueError,
         "RNN.reset_state: expected rows to be a bool mask of shape [B=2], got torch.int64 of shape (2,)"),
    Case("rnn-stateful-batch", "RNN", "inputs", "another batch size than the kept state's",
         lambda: stream()(torch.zeros(3, 4, 2)), ValueError,
         "RNN (stateful): expected inputs with B=2 rows, the batch the kept state has, got B=3; call "
         "reset_state() first to start over with a new batch size"),
    Case("rnn-state-set", "RNN.state", "value", "not like cell.state_size",
         lambda: setattr(stream(), "state", torch.zeros(2, 5)), ValueError,
         "RNN.state: expected a state tensor of shape [B=2, 3], got shape (2, 5)"),
    Case("birnn-flag", "BidirectionalRNN", "time_major", "not a bool",
         lambda: rk.BidirectionalRNN(rk.GRUCell(2), rk.GRUCell(2), time_major="no"), TypeError,
         "BidirectionalRNN: expected time_major to be a bool, got 'no'"),
    Case("init-init", "TrainableInitialState", "init", "neither 'zeros' nor callable",
         lambda: rk.TrainableInitialState(rk.GRUCell(2), init=3), TypeError,
         "TrainableInitialState: expected init to be 'zeros' or an in-place initializer (callable), got 3"),
    Case("init-batch", "TrainableInitialState", "batch_size", "0",
         lambda: rk.TrainableInitialState(rk.GRUCell(2))(0), ValueError,
         "TrainableInitialState: expected batch_size to be a positive int, got 0"),
    Case("reset-dtype", "dynamic_rnn", "reset", "an int mask", lambda: rk.dynamic_rnn(
        rk.GRUCell(2, input_size=2), torch.zeros(2, 3, 2), reset=torch.zeros(2, 3, dtype=torch.int64)), TypeError,
         "dynamic_rnn: expected reset to be a bool tensor [B, T], got a torch.int64 tensor of shape (2, 3)"),
    Case("reset-shape", "dynamic_rnn", "reset", "[T, B] for batch-major inputs", lambda: rk.dynamic_rnn(
        rk.GRUCell(2, input_size=2), torch.zeros(2, 3, 2), reset=torch.zeros(3, 2, dtype=torch.bool)), ValueError,
         "dynamic_rnn: expected reset of shape [B, T] = [2, 3], got [3, 2]"),
    Case("reset-fused", "dynamic_rnn", "fused", "True with reset=", lambda: rk.dynamic_rnn(
        rk.BasicLSTMCell(2, input_size=2), torch.zeros(2, 3, 2), reset=torch.zeros(2, 3, dtype=torch.bool),
        fused=True), ValueError,
         "dynamic_rnn: fused=True, but reset= and return_all_states=True run the step loop (torch's fused kernels "
         "neither restart rows nor return every step's state); pass fused=None or False"),
    Case("export-model", "rk.export.to_onnx", "model", "not a module", lambda: to_onnx(model="m"), TypeError,
         "rk.export.to_onnx: expected model to be a torch.nn.Module, got str"),
    Case("export-inputs", "rk.export.to_onnx", "example_inputs", "a list of ints", lambda: to_onnx(inputs=[1]),
         TypeError, "rk.export.to_onnx: expected example_inputs to be a tuple of tensors, got [1]"),
    Case("export-names", "rk.export.to_onnx", "input_names", "one name too many",
         lambda: to_onnx(names=("x", "y")), ValueError,
         "rk.export.to_onnx: expected one input name per example input (1), got ['x', 'y']"),
    Case("export-dynamic-name", "rk.export.to_onnx", "dynamic", "names an unknown input",
         lambda: to_onnx(dynamic={"z": {0: "b"}}), ValueError,
         "rk.export.to_onnx: dynamic names input 'z', expected one of ['x']"),
    Case("export-dynamic-axis", "rk.export.to_onnx", "dynamic", "an axis past the input's rank",
         lambda: to_onnx(dynamic={"x": {3: "b"}}), ValueError,
         "rk.export.to_onnx: input 'x' has rank 3, got dynamic axis 3"),
    Case("export-format", "rk.export.export", "format", "unknown",
         lambda: rk.export.export(None, OUT, "tflite"), ValueError,  # type: ignore[arg-type]
         "rk.export.export: expected format in ('onnx', 'torchscript'), got 'tflite'"),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)
    assert not OUT.exists()


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


def layers_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_layers.py")


def test_errors_doc_is_in_sync():
    assert_in_doc(layers_table())
