"""Bad input → one clear error (STYLE.md rules 5 and 11), for the core unrolls and cell calls (constructors,
zero_state, TF names and check_numerics: ``test_errors_cells.py``).

Every case starts from a correct call (``test_baseline_calls_succeed`` runs those) and changes one thing; a
perturbed dimension becomes 7, a prime that equals no real size here (B=4, T=5, D=3, H=6). Each case is matched
on its whole message, and ``docs/errors.md`` is generated from this table (``tools/errors_table.py``;
``test_errors_doc_is_in_sync`` keeps the two equal).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
from tests._errors import Case, assert_in_doc, check, table

B, T, D, H = 4, 5, 3, 6
BAD = 7  # prime: cannot accidentally equal or divide a real size


def x3(*shape, dtype=torch.float32):
    return torch.zeros(*(shape or (B, T, D)), dtype=dtype)


def lstm():
    return rk.BasicLSTMCell(H, input_size=D)


def gru():
    return rk.GRUCell(H, input_size=D)


def stack():
    return rk.MultiRNNCell([lstm(), rk.BasicLSTMCell(H, input_size=H)])


def steps(n=T, batch=B, depth=D, dtype=torch.float32):
    return [torch.zeros(batch, depth, dtype=dtype) for _ in range(n)]


def lstm_state(batch=B, c=H, h=H, dtype=torch.float32):
    return rk.LSTMStateTuple(torch.zeros(batch, c, dtype=dtype), torch.zeros(batch, h, dtype=dtype))


def lstm_values(kernel=(D + H, 4 * H), bias=(4 * H,), **extra):
    values = {
        "rnn/basic_lstm_cell/kernel": np.zeros(kernel),
        "rnn/basic_lstm_cell/bias": np.zeros(bias),
    }
    values.update(extra)
    return values


C = Case

# A table: one case per 3-4 lines reads better than the formatter's 9 lines per case.
# fmt: off
CASES = [
    # --- dynamic_rnn: inputs -------------------------------------------------------------------------------
    C("dynamic_rnn-rank2", "dynamic_rnn", "inputs", "rank < 3",
      lambda: rk.dynamic_rnn(lstm(), x3(B, D)), ValueError,
      "dynamic_rnn: expected inputs of rank 3 [B, T, D], got shape (4, 3)"),
    C("dynamic_rnn-rank2-time-major", "dynamic_rnn", "inputs", "rank < 3 (time_major=True)",
      lambda: rk.dynamic_rnn(lstm(), x3(T, D), time_major=True), ValueError,
      "dynamic_rnn: expected inputs of rank 3 [T, B, D], got shape (5, 3)"),
    C("dynamic_rnn-rank4", "dynamic_rnn", "inputs", "rank > 3 for a cell taking [B, D] (reported by the cell)",
      lambda: rk.dynamic_rnn(lstm(), x3(B, T, D, BAD)), ValueError,
      "BasicLSTMCell: expected inputs of rank 2 [B, D], got shape (4, 3, 7)"),
    C("dynamic_rnn-depth", "dynamic_rnn", "inputs", "depth != the cell's input_size",
      lambda: rk.dynamic_rnn(lstm(), x3(B, T, BAD)), ValueError,
      "BasicLSTMCell: built for input_size=3, got inputs.shape[-1]=7"),
    C("dynamic_rnn-depth-stack", "dynamic_rnn", "inputs", "depth != a stack's first input_size",
      lambda: rk.dynamic_rnn(stack(), x3(B, T, BAD)), ValueError,
      "BasicLSTMCell: built for input_size=3, got inputs.shape[-1]=7"),
    C("dynamic_rnn-int", "dynamic_rnn", "inputs", "integer dtype",
      lambda: rk.dynamic_rnn(lstm(), x3(dtype=torch.int64)), TypeError,
      "dynamic_rnn: expected floating-point inputs, got torch.int64"),
    C("dynamic_rnn-bool", "dynamic_rnn", "inputs", "bool dtype",
      lambda: rk.dynamic_rnn(lstm(), x3(dtype=torch.bool)), TypeError,
      "dynamic_rnn: expected floating-point inputs, got torch.bool"),
    C("dynamic_rnn-float64-vs-params", "dynamic_rnn", "inputs", "dtype != the parameters' dtype",
      lambda: rk.dynamic_rnn(lstm(), x3(dtype=torch.float64)), TypeError,
      "BasicLSTMCell: expected torch.float32 inputs (the cell's parameter dtype), got torch.float64"),
    C("dynamic_rnn-list", "dynamic_rnn", "inputs", "a list of per-step [B, D] tensors",
      lambda: rk.dynamic_rnn(lstm(), steps()), TypeError,
      "dynamic_rnn: expected inputs as one [B, T, D] tensor (or a nested structure of them), got a list of 5 "
      "rank-2 tensors; use static_rnn for a list of per-step tensors"),
    C("dynamic_rnn-numpy", "dynamic_rnn", "inputs", "not a tensor (numpy array)",
      lambda: rk.dynamic_rnn(lstm(), np.zeros((B, T, D), np.float32)), TypeError,
      "dynamic_rnn: expected inputs to hold [B, T, D] tensors, got a numpy float32 array of shape (4, 5, 3)"),
    C("dynamic_rnn-empty-structure", "dynamic_rnn", "inputs", "an empty structure",
      lambda: rk.dynamic_rnn(lstm(), ()), ValueError,
      "dynamic_rnn: expected at least one input tensor, got an empty structure"),
    C("dynamic_rnn-T0", "dynamic_rnn", "inputs", "T == 0",
      lambda: rk.dynamic_rnn(lstm(), x3(B, 0, D)), ValueError,
      "dynamic_rnn: expected at least one time step, got shape (4, 0, 3)"),
    C("dynamic_rnn-B0", "dynamic_rnn", "inputs", "B == 0",
      lambda: rk.dynamic_rnn(lstm(), x3(0, T, D)), ValueError,
      "dynamic_rnn: expected at least one batch row (B >= 1), got shape (0, 5, 3)"),
    C("dynamic_rnn-nested-batch", "dynamic_rnn", "inputs", "nested leaves with different B",
      lambda: rk.dynamic_rnn(lstm(), (x3(), x3(BAD, T, D))), ValueError,
      "dynamic_rnn: expected every input to share B=4 and T=5, got shape (7, 5, 3)"),
    C("dynamic_rnn-nested-time", "dynamic_rnn", "inputs", "nested leaves with different T",
      lambda: rk.dynamic_rnn(lstm(), (x3(), x3(B, BAD, D))), ValueError,
      "dynamic_rnn: expected every input to share B=4 and T=5, got shape (4, 7, 3)"),
    C("dynamic_rnn-nested-dtype", "dynamic_rnn", "inputs", "nested leaves with different dtypes",
      lambda: rk.dynamic_rnn(lstm(), (x3(), x3(dtype=torch.float64))), TypeError,
      "dynamic_rnn: expected every input of dtype torch.float32, got torch.float64"),
    C("dynamic_rnn-nested-to-plain-cell", "dynamic_rnn", "inputs", "nested inputs to a cell taking one tensor",
      lambda: rk.dynamic_rnn(lstm(), {"a": x3(), "b": x3()}), TypeError,
      "BasicLSTMCell: expected inputs to be a [B, D] tensor, got a dict with keys ['a', 'b']"),
    # --- dynamic_rnn: cell, initial_state, dtype ------------------------------------------------------------
    C("dynamic_rnn-not-a-cell", "dynamic_rnn", "cell", "not an RNNCell",
      lambda: rk.dynamic_rnn(torch.nn.LSTM(D, H), x3()), TypeError,
      "dynamic_rnn: expected cell to be an rnnkit RNNCell, got LSTM (missing: state_size, output_size, zero_state)"),
    C("dynamic_rnn-init-batch", "dynamic_rnn", "initial_state", "B != the inputs' B",
      lambda: rk.dynamic_rnn(lstm(), x3(), initial_state=lstm_state(batch=BAD)), ValueError,
      "dynamic_rnn: expected a state tensor of shape [B=4, 6], got shape (7, 6)"),
    C("dynamic_rnn-init-size", "dynamic_rnn", "initial_state", "a leaf's size != state_size",
      lambda: rk.dynamic_rnn(lstm(), x3(), initial_state=lstm_state(c=BAD)), ValueError,
      "dynamic_rnn: expected a state tensor of shape [B=4, 6], got shape (4, 7)"),
    C("dynamic_rnn-init-rank", "dynamic_rnn", "initial_state", "a leaf of rank 3",
      lambda: rk.dynamic_rnn(gru(), x3(), initial_state=torch.zeros(B, H, BAD)), ValueError,
      "dynamic_rnn: expected a state tensor of shape [B=4, 6], got shape (4, 6, 7)"),
    C("dynamic_rnn-init-plain-for-tuple", "dynamic_rnn", "initial_state", "a tensor for an LSTMStateTuple",
      lambda: rk.dynamic_rnn(lstm(), x3(), initial_state=torch.zeros(B, 2 * H)), ValueError,
      "dynamic_rnn (state): expected a structure like LSTMStateTuple(leaf, leaf), got leaf"),
    C("dynamic_rnn-init-stack-length", "dynamic_rnn", "initial_state", "a tuple of wrong length for MultiRNNCell",
      lambda: rk.dynamic_rnn(stack(), x3(), initial_state=(lstm_state(),)), ValueError,
      "dynamic_rnn (state): expected a structure like tuple(LSTMStateTuple(leaf, leaf), "
      "LSTMStateTuple(leaf, leaf)), got tuple(LSTMStateTuple(leaf, leaf))"),
    C("dynamic_rnn-init-numpy", "dynamic_rnn", "initial_state", "a numpy array",
      lambda: rk.dynamic_rnn(gru(), x3(), initial_state=np.zeros((B, H), np.float32)), TypeError,
      "dynamic_rnn: expected state tensors, got a numpy float32 array of shape (4, 6)"),
    C("dynamic_rnn-init-dtype", "dynamic_rnn", "initial_state", "dtype != the inputs' dtype",
      lambda: rk.dynamic_rnn(lstm(), x3(), initial_state=lstm_state(dtype=torch.float64)), TypeError,
      "dynamic_rnn: expected initial_state of dtype torch.float32 (the inputs' dtype), got torch.float64"),
    # "meta" stands in for another device (cuda), so these run on a CPU-only machine
    C("dynamic_rnn-device", "dynamic_rnn", "inputs", "on another device than the parameters",
      lambda: rk.dynamic_rnn(lstm(), x3().to("meta")), ValueError,
      "BasicLSTMCell: expected inputs on cpu (the cell's parameter device), got meta"),
    C("dynamic_rnn-init-device", "dynamic_rnn", "initial_state", "on another device than the inputs",
      lambda: rk.dynamic_rnn(gru(), x3(), initial_state=torch.zeros(B, H, device="meta")), ValueError,
      "dynamic_rnn: expected initial_state on cpu (the inputs' device), got meta"),
    C("dynamic_rnn-dtype-mismatch", "dynamic_rnn", "dtype", "!= the inputs' dtype",
      lambda: rk.dynamic_rnn(lstm(), x3(), dtype=torch.float64), TypeError,
      "dynamic_rnn: expected dtype to match the inputs' dtype torch.float32, got torch.float64"),
    C("dynamic_rnn-dtype-int", "dynamic_rnn", "dtype", "not a floating dtype",
      lambda: rk.dynamic_rnn(lstm(), x3(), dtype=torch.int32), TypeError,
      "dynamic_rnn: expected a floating dtype (e.g. torch.float32), got torch.int32"),
    C("dynamic_rnn-dtype-name", "dynamic_rnn", "dtype", "an unknown dtype name",
      lambda: rk.dynamic_rnn(lstm(), x3(), dtype="float7"), TypeError,
      "dynamic_rnn: expected a floating dtype (e.g. torch.float32), got 'float7'"),
    # --- sequence_length (shared by both unrolls) ----------------------------------------------------------
    C("sequence_length-rank2", "dynamic_rnn", "sequence_length", "shape [B, 1] instead of [B]",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=torch.ones(B, 1, dtype=torch.int64)), ValueError,
      "dynamic_rnn: expected sequence_length of shape [B] = (4,), got shape (4, 1)"),
    C("sequence_length-batch", "dynamic_rnn", "sequence_length", "length != B",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=[1] * BAD), ValueError,
      "dynamic_rnn: expected sequence_length of shape [B] = (4,), got shape (7,)"),
    C("sequence_length-scalar", "dynamic_rnn", "sequence_length", "a scalar",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=3), ValueError,
      "dynamic_rnn: expected sequence_length of shape [B] = (4,), got shape ()"),
    C("sequence_length-meta", "dynamic_rnn", "sequence_length", "inputs on the meta device (no values)",
      lambda: rk.dynamic_rnn(lstm().to("meta"), x3().to("meta"), sequence_length=[1] * B), ValueError,
      "dynamic_rnn: expected sequence_length with values, got a tensor on the meta device (inputs on the meta "
      "device need sequence_length=None)"),
    C("sequence_length-float-tensor", "dynamic_rnn", "sequence_length", "a float tensor",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=torch.ones(B)), TypeError,
      "dynamic_rnn: expected sequence_length to hold integers, got torch.float32"),
    C("sequence_length-float-list", "dynamic_rnn", "sequence_length", "a list of floats",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=[1.0] * B), TypeError,
      "dynamic_rnn: expected sequence_length to hold integers, got a list of length 4 of float64 values"),
    C("sequence_length-none-entry", "dynamic_rnn", "sequence_length", "a list holding None",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=[1, None, 1, 1]), TypeError,
      "dynamic_rnn: expected sequence_length to hold integers, got a list of length 4 of object values"),
    C("sequence_length-bool", "dynamic_rnn", "sequence_length", "a bool tensor",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=torch.ones(B, dtype=torch.bool)), TypeError,
      "dynamic_rnn: expected sequence_length to hold integers, got torch.bool"),
    C("sequence_length-negative", "dynamic_rnn", "sequence_length", "an entry < 0",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=[1, -BAD, 1, 1]), ValueError,
      "dynamic_rnn: expected sequence_length >= 0, got a minimum of -7"),
    C("sequence_length-too-long", "dynamic_rnn", "sequence_length", "an entry > T",
      lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=[1, BAD, 1, 1]), ValueError,
      "dynamic_rnn: expected sequence_length <= the number of time steps (5), got 7"),
    C("sequence_length-too-long-static", "static_rnn", "sequence_length", "an entry > len(inputs)",
      lambda: rk.static_rnn(lstm(), steps(), sequence_length=[1, BAD, 1, 1]), ValueError,
      "static_rnn: expected sequence_length <= the number of time steps (5), got 7"),
    C("sequence_length-negative-static", "static_rnn", "sequence_length", "an entry < 0",
      lambda: rk.static_rnn(lstm(), steps(), sequence_length=[1, -BAD, 1, 1]), ValueError,
      "static_rnn: expected sequence_length >= 0, got a minimum of -7"),
    # --- static_rnn ---------------------------------------------------------------------------------------
    C("static_rnn-tensor", "static_rnn", "inputs", "one [B, T, D] tensor instead of a list",
      lambda: rk.static_rnn(lstm(), x3()), TypeError,
      "static_rnn: expected inputs to be a list of [B, D] tensors, got a tensor of shape (4, 5, 3); use "
      "dynamic_rnn for one [B, T, D] tensor (or list(x.unbind(1)))"),
    C("static_rnn-empty", "static_rnn", "inputs", "an empty list",
      lambda: rk.static_rnn(lstm(), []), ValueError,
      "static_rnn: expected a non-empty list of inputs, got an empty list"),
    C("static_rnn-not-a-list", "static_rnn", "inputs", "neither a list nor a tensor",
      lambda: rk.static_rnn(lstm(), "abc"), TypeError,
      "static_rnn: expected inputs to be a list of [B, D] tensors, got str 'abc'"),
    C("static_rnn-rank3-step", "static_rnn", "inputs", "a step of rank 3",
      lambda: rk.static_rnn(lstm(), [x3()]), ValueError,
      "static_rnn: expected inputs[0] of rank 2 [B, D], got shape (4, 5, 3)"),
    C("static_rnn-rank1-step", "static_rnn", "inputs", "a step of rank 1",
      lambda: rk.static_rnn(lstm(), [torch.zeros(B)]), ValueError,
      "static_rnn: expected inputs[0] of rank 2 [B, D], got shape (4,)"),
    C("static_rnn-step-batch", "static_rnn", "inputs", "a later step with a different B",
      lambda: rk.static_rnn(lstm(), steps(2) + steps(1, batch=BAD)), ValueError,
      "static_rnn: expected every step to have B=4, got inputs[2] of shape (7, 3)"),
    C("static_rnn-step-none", "static_rnn", "inputs", "a step that is not a tensor",
      lambda: rk.static_rnn(lstm(), steps(2) + [None]), TypeError,
      "static_rnn: expected inputs[2] to hold [B, D] tensors, got NoneType None"),
    C("static_rnn-depth", "static_rnn", "inputs", "depth != the cell's input_size",
      lambda: rk.static_rnn(lstm(), steps(depth=BAD)), ValueError,
      "BasicLSTMCell: built for input_size=3, got inputs.shape[-1]=7"),
    C("static_rnn-int", "static_rnn", "inputs", "integer dtype",
      lambda: rk.static_rnn(lstm(), steps(dtype=torch.int32)), TypeError,
      "static_rnn: expected floating-point inputs, got torch.int32"),
    C("static_rnn-B0", "static_rnn", "inputs", "B == 0",
      lambda: rk.static_rnn(lstm(), steps(batch=0)), ValueError,
      "static_rnn: expected at least one batch row (B >= 1), got inputs[0] of shape (0, 3)"),
    C("static_rnn-not-a-cell", "static_rnn", "cell", "a plain function",
      lambda: rk.static_rnn(lambda x, s: (x, s), steps()), TypeError,
      "static_rnn: expected cell to be an rnnkit RNNCell, got function "
      "(missing: state_size, output_size, zero_state)"),
    C("static_rnn-init-batch", "static_rnn", "initial_state", "B != the inputs' B",
      lambda: rk.static_rnn(lstm(), steps(), initial_state=lstm_state(batch=BAD)), ValueError,
      "static_rnn: expected a state tensor of shape [B=4, 6], got shape (7, 6)"),
    C("static_rnn-init-dtype", "static_rnn", "initial_state", "dtype != the inputs' dtype",
      lambda: rk.static_rnn(lstm(), steps(), initial_state=lstm_state(dtype=torch.float64)), TypeError,
      "static_rnn: expected initial_state of dtype torch.float32 (the inputs' dtype), got torch.float64"),
    C("static_rnn-dtype-mismatch", "static_rnn", "dtype", "!= the inputs' dtype",
      lambda: rk.static_rnn(lstm(), steps(), dtype=torch.float64), TypeError,
      "static_rnn: expected dtype to match the inputs' dtype torch.float32, got torch.float64"),
    # --- a cell called directly ---------------------------------------------------------------------------
    C("cell-rank3", "cell(inputs, state)", "inputs", "rank 3",
      lambda: lstm()(x3(), lstm_state()), ValueError,
      "BasicLSTMCell: expected inputs of rank 2 [B, D], got shape (4, 5, 3)"),
    C("cell-rank1", "cell(inputs, state)", "inputs", "rank 1",
      lambda: gru()(torch.zeros(D), torch.zeros(B, H)), ValueError,
      "GRUCell: expected inputs of rank 2 [B, D], got shape (3,)"),
    C("cell-depth", "cell(inputs, state)", "inputs", "depth != input_size",
      lambda: gru()(torch.zeros(B, BAD), torch.zeros(B, H)), ValueError,
      "GRUCell: built for input_size=3, got inputs.shape[-1]=7"),
    C("cell-int", "cell(inputs, state)", "inputs", "integer dtype",
      lambda: gru()(torch.zeros(B, D, dtype=torch.int64), torch.zeros(B, H)), TypeError,
      "GRUCell: expected floating-point inputs, got torch.int64"),
    C("cell-dtype-vs-params", "cell(inputs, state)", "inputs", "dtype != the parameters' dtype",
      lambda: gru()(torch.zeros(B, D, dtype=torch.float64), torch.zeros(B, H, dtype=torch.float64)), TypeError,
      "GRUCell: expected torch.float32 inputs (the cell's parameter dtype), got torch.float64"),
    C("cell-numpy", "cell(inputs, state)", "inputs", "a numpy array",
      lambda: gru()(np.zeros((B, D), np.float32), torch.zeros(B, H)), TypeError,
      "GRUCell: expected inputs to be a [B, D] tensor, got a numpy float32 array of shape (4, 3)"),
    C("cell-lazy-depth0", "cell(inputs, state)", "inputs", "depth 0 on an unbuilt cell",
      lambda: rk.GRUCell(H)(torch.zeros(B, 0), torch.zeros(B, H)), ValueError,
      "GRUCell: expected input depth to be a positive int, got 0"),
    C("cell-state-batch", "cell(inputs, state)", "state", "B != the inputs' B",
      lambda: lstm()(torch.zeros(B, D), lstm_state(batch=BAD)), ValueError,
      "BasicLSTMCell: expected a state tensor of shape [B=4, 6], got shape (7, 6)"),
    C("cell-state-plain-for-tuple", "cell(inputs, state)", "state", "a tensor for an LSTMStateTuple",
      lambda: lstm()(torch.zeros(B, D), torch.zeros(B, 2 * H)), ValueError,
      "BasicLSTMCell (state): expected a structure like LSTMStateTuple(leaf, leaf), got leaf"),
    C("cell-state-tuple-for-plain", "cell(inputs, state)", "state", "a tuple for a plain state",
      lambda: gru()(torch.zeros(B, D), (torch.zeros(B, H),)), ValueError,
      "GRUCell (state): expected a structure like leaf, got tuple(leaf)"),
    C("cell-state-concat-size", "cell(inputs, state)", "state", "wrong width of a concatenated LSTM state",
      lambda: rk.BasicLSTMCell(H, state_is_tuple=False, input_size=D)(torch.zeros(B, D), torch.zeros(B, BAD)),
      ValueError, "BasicLSTMCell: expected a state tensor of shape [B=4, 12], got shape (4, 7)"),
    C("cell-state-none", "cell(inputs, state)", "state", "None",
      lambda: lstm()(torch.zeros(B, D), None), ValueError,
      "BasicLSTMCell (state): expected a structure like LSTMStateTuple(leaf, leaf), got leaf"),
    C("cell-state-floats", "cell(inputs, state)", "state", "leaves that are not tensors",
      lambda: lstm()(torch.zeros(B, D), rk.LSTMStateTuple(1.0, 2.0)), TypeError,
      "BasicLSTMCell: expected state tensors, got float 1.0"),
    C("cell-state-dtype", "cell(inputs, state)", "state", "dtype != the inputs' dtype",
      lambda: gru()(torch.zeros(B, D), torch.zeros(B, H, dtype=torch.float64)), TypeError,
      "GRUCell: expected state tensors of dtype torch.float32 (the inputs'), got torch.float64"),
    C("cell-state-device", "cell(inputs, state)", "state", "on another device than the inputs",
      lambda: gru()(torch.zeros(B, D), torch.zeros(B, H, device="meta")), ValueError,
      "GRUCell: expected state tensors on cpu (the inputs'), got meta"),
    C("multi-state-length", "MultiRNNCell(inputs, state)", "state", "a tuple of wrong length",
      lambda: stack()(torch.zeros(B, D), (lstm_state(),)), ValueError,
      "MultiRNNCell (state): expected a structure like tuple(LSTMStateTuple(leaf, leaf), "
      "LSTMStateTuple(leaf, leaf)), got tuple(LSTMStateTuple(leaf, leaf))"),
    C("multi-inner-depth", "MultiRNNCell(inputs, state)", "cells", "cell i+1 built for a depth != cell i's output",
      lambda: rk.dynamic_rnn(rk.MultiRNNCell([lstm(), rk.GRUCell(H, input_size=BAD)]), x3()), ValueError,
      "GRUCell: built for input_size=7, got inputs.shape[-1]=6"),
]


BASELINES = {
    "dynamic_rnn": lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=[5, 0, 3, 1], initial_state=lstm_state(),
                                          dtype=torch.float32),
    "dynamic_rnn-stack": lambda: rk.dynamic_rnn(stack(), x3(), initial_state=(lstm_state(), lstm_state())),
    "static_rnn": lambda: rk.static_rnn(lstm(), steps(), initial_state=lstm_state(), sequence_length=[5, 0, 3, 1],
                                        dtype="float32"),
    "cell": lambda: (lstm()(torch.zeros(B, D), lstm_state()), gru()(torch.zeros(B, D), torch.zeros(B, H))),
}
# fmt: on


@pytest.mark.parametrize("name", list(BASELINES))
def test_baseline_calls_succeed(name):
    """The correct calls every case perturbs: they must not raise."""
    BASELINES[name]()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def core_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_core.py")


def test_errors_doc_is_in_sync():
    assert_in_doc(core_table())
