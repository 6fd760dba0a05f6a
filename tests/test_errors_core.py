"""Bad input → one clear error (STYLE.md rules 5 and 11), for the core's public functions.

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
      "dynamic_rnn: expected inputs to be tensors [B, T, D], got a numpy float32 array of shape (4, 5, 3)"),
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
    # --- constructors -------------------------------------------------------------------------------------
    C("num_units-zero", "every cell", "num_units", "0",
      lambda: rk.BasicLSTMCell(0), ValueError, "BasicLSTMCell: expected num_units to be a positive int, got 0"),
    C("num_units-negative", "every cell", "num_units", "< 0",
      lambda: rk.GRUCell(-BAD), ValueError, "GRUCell: expected num_units to be a positive int, got -7"),
    C("num_units-float", "every cell", "num_units", "a float",
      lambda: rk.LSTMCell(7.0), TypeError, "LSTMCell: expected num_units to be a positive int, got float 7.0"),
    C("num_units-str", "every cell", "num_units", "a str",
      lambda: rk.BasicRNNCell("7"), TypeError, "BasicRNNCell: expected num_units to be a positive int, got str '7'"),
    C("num_units-bool", "every cell", "num_units", "a bool",
      lambda: rk.BasicRNNCell(True), TypeError,
      "BasicRNNCell: expected num_units to be a positive int, got bool True"),
    C("input_size-zero", "every cell", "input_size", "0",
      lambda: rk.GRUCell(H, input_size=0), ValueError, "GRUCell.build: expected input_size to be a positive int, got 0"),
    C("input_size-float", "every cell", "input_size", "a float",
      lambda: rk.GRUCell(H, input_size=2.5), TypeError,
      "GRUCell.build: expected input_size to be a positive int, got float 2.5"),
    C("build-rebuild", "cell.build", "input_size", "!= the size already built for",
      lambda: gru().build(BAD), ValueError, "GRUCell: built for input_size=3, got input_size=7"),
    C("activation-unknown", "every cell", "activation", "an unknown name",
      lambda: rk.BasicRNNCell(H, activation="tanhh"), ValueError,
      "BasicRNNCell: expected activation to be a callable or one of elu, gelu, linear, relu, relu6, selu, "
      "sigmoid, softplus, softsign, swish, tanh, got 'tanhh'"),
    C("activation-int", "every cell", "activation", "neither a callable nor a name",
      lambda: rk.GRUCell(H, activation=BAD), TypeError,
      "GRUCell: expected activation to be a callable or a name, got 7"),
    C("dtype-int", "every cell", "dtype", "not a floating dtype",
      lambda: rk.GRUCell(H, dtype=torch.int32), TypeError,
      "GRUCell: expected a floating dtype (e.g. torch.float32), got torch.int32"),
    C("device-unknown", "every cell", "device", "not a device",
      lambda: rk.GRUCell(H, device="nope"), ValueError,
      "GRUCell: expected device to be a torch.device or a name like 'cpu' or 'cuda:0', got 'nope'"),
    C("name-empty", "every cell", "name", "an empty str",
      lambda: rk.GRUCell(H, name=""), TypeError, "GRUCell: expected name to be a non-empty str, got ''"),
    C("forget_bias-str", "BasicLSTMCell / LSTMCell", "forget_bias", "not a number",
      lambda: rk.BasicLSTMCell(H, forget_bias="1"), TypeError,
      "BasicLSTMCell: expected forget_bias to be a float, got '1'"),
    C("state_is_tuple-int", "BasicLSTMCell / LSTMCell", "state_is_tuple", "not a bool",
      lambda: rk.LSTMCell(H, state_is_tuple=1), TypeError,
      "LSTMCell: expected state_is_tuple to be a bool, got 1"),
    C("cell_clip-zero", "LSTMCell", "cell_clip", "0",
      lambda: rk.LSTMCell(H, cell_clip=0), ValueError,
      "LSTMCell: expected cell_clip to be a positive number or None, got 0"),
    C("cell_clip-negative", "LSTMCell", "cell_clip", "< 0",
      lambda: rk.LSTMCell(H, cell_clip=-1.5), ValueError,
      "LSTMCell: expected cell_clip to be a positive number or None, got -1.5"),
    C("cell_clip-nan", "LSTMCell", "cell_clip", "NaN",
      lambda: rk.LSTMCell(H, cell_clip=float("nan")), ValueError,
      "LSTMCell: expected cell_clip to be a positive number or None, got nan"),
    C("cell_clip-str", "LSTMCell", "cell_clip", "a str",
      lambda: rk.LSTMCell(H, cell_clip="3"), ValueError,
      "LSTMCell: expected cell_clip to be a positive number or None, got '3'"),
    C("proj_clip-zero", "LSTMCell", "proj_clip", "0",
      lambda: rk.LSTMCell(H, num_proj=BAD, proj_clip=0.0), ValueError,
      "LSTMCell: expected proj_clip to be a positive number or None, got 0.0"),
    C("num_proj-zero", "LSTMCell", "num_proj", "0",
      lambda: rk.LSTMCell(H, num_proj=0), ValueError,
      "LSTMCell: expected num_proj to be a positive int or None, got 0"),
    C("num_proj-float", "LSTMCell", "num_proj", "a float",
      lambda: rk.LSTMCell(H, num_proj=7.0), ValueError,
      "LSTMCell: expected num_proj to be a positive int or None, got 7.0"),
    C("multi-empty", "MultiRNNCell", "cells", "an empty list",
      lambda: rk.MultiRNNCell([]), ValueError, "MultiRNNCell: expected at least one cell, got an empty list"),
    C("multi-one-cell", "MultiRNNCell", "cells", "a cell instead of a list",
      lambda: rk.MultiRNNCell(gru()), TypeError,
      "MultiRNNCell: expected cells to be a list of cells, got GRUCell GRUCell(num_units=6, input_size=3)"),
    C("multi-non-cell", "MultiRNNCell", "cells", "a non-cell in the list",
      lambda: rk.MultiRNNCell([gru(), torch.nn.Linear(H, H)]), TypeError,
      "MultiRNNCell: expected cells[1] to be an rnnkit cell, got Linear Linear(in_features=6, out_features=6, "
      "bias=True)"),
    C("multi-nested-concat", "MultiRNNCell", "state_is_tuple", "False with a nested-state cell",
      lambda: rk.MultiRNNCell([lstm()], state_is_tuple=False), ValueError,
      "MultiRNNCell: expected cells with non-nested state_size when state_is_tuple=False, got "
      "[LSTMStateTuple(c=6, h=6)] (pass state_is_tuple=True to each cell's constructor)"),
    C("multi-state_is_tuple-str", "MultiRNNCell", "state_is_tuple", "not a bool",
      lambda: rk.MultiRNNCell([gru()], state_is_tuple="no"), TypeError,
      "MultiRNNCell: expected state_is_tuple to be a bool, got 'no'"),
    # --- zero_state ---------------------------------------------------------------------------------------
    C("zero_state-zero", "cell.zero_state", "batch_size", "0",
      lambda: lstm().zero_state(0), ValueError,
      "BasicLSTMCell.zero_state: expected batch_size to be a positive int, got 0"),
    C("zero_state-negative", "cell.zero_state", "batch_size", "< 0",
      lambda: stack().zero_state(-BAD), ValueError,
      "MultiRNNCell.zero_state: expected batch_size to be a positive int, got -7"),
    C("zero_state-float", "cell.zero_state", "batch_size", "a float",
      lambda: gru().zero_state(4.0), TypeError,
      "GRUCell.zero_state: expected batch_size to be a positive int, got float 4.0"),
    C("zero_state-int-dtype", "cell.zero_state", "dtype", "not a floating dtype",
      lambda: gru().zero_state(B, torch.int64), TypeError,
      "GRUCell.zero_state: expected a floating dtype (e.g. torch.float32), got torch.int64"),
    C("zero_state-device", "cell.zero_state", "device", "not a device",
      lambda: gru().zero_state(B, device="nope"), ValueError,
      "GRUCell.zero_state: expected device to be a torch.device or a name like 'cpu' or 'cuda:0', got 'nope'"),
    # --- TF names ----------------------------------------------------------------------------------------
    C("tf_variables-unbuilt", "tf_variables", "cell", "not built yet",
      lambda: rk.tf_variables(rk.BasicLSTMCell(H)), ValueError,
      "tf_variables: expected a built cell, got BasicLSTMCell whose variable rnn/basic_lstm_cell/kernel does not "
      "exist yet; pass input_size= to the cell, call cell.build(D), or run it once"),
    C("tf_variables-stack-part-unbuilt", "tf_variables", "cell", "a stack with one unbuilt cell",
      lambda: rk.tf_variables(rk.MultiRNNCell([lstm(), rk.GRUCell(H)])), ValueError,
      "tf_variables: expected a built cell, got MultiRNNCell whose variable "
      "rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel does not exist yet; pass input_size= to the cell, "
      "call cell.build(D), or run it once"),
    C("tf_variables-not-a-cell", "tf_variables", "cell", "not an rnnkit cell",
      lambda: rk.tf_variables(torch.nn.Linear(D, H)), TypeError, "tf_variables: expected an rnnkit cell, got Linear"),
    C("tf_variables-scope", "tf_variables", "scope", "not a str",
      lambda: rk.tf_variables(lstm(), scope=BAD), TypeError, "tf_variables: expected scope to be a str, got 7"),
    C("load-missing", "load_tf_variables", "values", "a name missing (strict)",
      lambda: rk.load_tf_variables(lstm(), {"rnn/basic_lstm_cell/kernel": np.zeros((D + H, 4 * H))}), ValueError,
      "load_tf_variables: expected the cell's TF variables under scope 'rnn', got missing "
      "['rnn/basic_lstm_cell/bias']"),
    C("load-unexpected", "load_tf_variables", "values", "an extra name (strict)",
      lambda: rk.load_tf_variables(lstm(), lstm_values(**{"rnn/extra": np.zeros(BAD)})), ValueError,
      "load_tf_variables: expected the cell's TF variables under scope 'rnn', got unexpected ['rnn/extra']"),
    C("load-shape", "load_tf_variables", "values", "a shape mismatch",
      lambda: rk.load_tf_variables(lstm(), lstm_values(kernel=(BAD, 4 * H))), ValueError,
      "load_tf_variables: expected the cell's TF variables under scope 'rnn', got shape mismatch "
      "[rnn/basic_lstm_cell/kernel: expected (9, 24), got (7, 24)]"),
    C("load-all-three", "load_tf_variables", "values", "missing + unexpected + mismatched: one error lists all",
      lambda: rk.load_tf_variables(lstm(), {"rnn/basic_lstm_cell/kernel": np.zeros((BAD, 4 * H)),
                                            "rnn/basic_lstm_cell/gates": np.zeros(BAD)}), ValueError,
      "load_tf_variables: expected the cell's TF variables under scope 'rnn', got missing "
      "['rnn/basic_lstm_cell/bias'], unexpected ['rnn/basic_lstm_cell/gates'], shape mismatch "
      "[rnn/basic_lstm_cell/kernel: expected (9, 24), got (7, 24)]"),
    C("load-shape-nonstrict", "load_tf_variables", "values", "a shape mismatch (strict=False still raises)",
      lambda: rk.load_tf_variables(lstm(), lstm_values(bias=(BAD,)), strict=False), ValueError,
      "load_tf_variables: expected the cell's TF variables under scope 'rnn', got shape mismatch "
      "[rnn/basic_lstm_cell/bias: expected (24,), got (7,)]"),
    C("load-wrong-scope", "load_tf_variables", "scope", "names under another scope",
      lambda: rk.load_tf_variables(lstm(), lstm_values(), scope="fw"), ValueError,
      "load_tf_variables: expected the cell's TF variables under scope 'fw', got missing "
      "['fw/basic_lstm_cell/kernel', 'fw/basic_lstm_cell/bias'], unexpected "
      "['rnn/basic_lstm_cell/kernel', 'rnn/basic_lstm_cell/bias']"),
    C("load-not-mapping", "load_tf_variables", "values", "not a mapping",
      lambda: rk.load_tf_variables(lstm(), [np.zeros(BAD)]), TypeError,
      "load_tf_variables: expected values to be a mapping of TF name -> array, got list"),
    C("load-key", "load_tf_variables", "values", "a key that is not a str",
      lambda: rk.load_tf_variables(lstm(), {BAD: np.zeros(BAD)}), TypeError,
      "load_tf_variables: expected TF names (str) as the keys of values, got int 7"),
    C("load-value-none", "load_tf_variables", "values", "a value that is not an array",
      lambda: rk.load_tf_variables(lstm(), lstm_values(**{"rnn/basic_lstm_cell/bias": None})), TypeError,
      "load_tf_variables: expected a real-valued array for 'rnn/basic_lstm_cell/bias', got NoneType None"),
    C("load-value-complex", "load_tf_variables", "values", "a complex array",
      lambda: rk.load_tf_variables(lstm(), lstm_values(**{"rnn/basic_lstm_cell/bias": np.zeros(24, complex)})),
      TypeError, "load_tf_variables: expected a real-valued array for 'rnn/basic_lstm_cell/bias', got a numpy "
      "complex128 array of shape (24,)"),
    C("load-strict", "load_tf_variables", "strict", "not a bool",
      lambda: rk.load_tf_variables(lstm(), lstm_values(), strict="yes"), TypeError,
      "load_tf_variables: expected strict to be a bool, got 'yes'"),
    C("load-unbuilt", "load_tf_variables", "cell", "not built yet",
      lambda: rk.load_tf_variables(rk.BasicLSTMCell(H), lstm_values()), ValueError,
      "load_tf_variables: expected a built cell, got BasicLSTMCell whose variable rnn/basic_lstm_cell/kernel "
      "does not exist yet; pass input_size= to the cell, call cell.build(D), or run it once"),
    C("load-not-a-cell", "load_tf_variables", "cell", "not an rnnkit cell",
      lambda: rk.load_tf_variables(torch.nn.Linear(D, H), {}), TypeError,
      "load_tf_variables: expected an rnnkit cell, got Linear"),
    # --- check_numerics ----------------------------------------------------------------------------------
    C("check_numerics-nan-input", "unroll.check_numerics", "values", "a NaN in a sequence",
      lambda: rk.unroll.check_numerics(torch.zeros(B, T, D).index_fill_(1, torch.tensor([3]), float("nan")),
                                       "inputs"), ValueError,
      "check_numerics: expected finite values in inputs, got nan at time step 3, batch row 0, feature 0 "
      "(4 (step, row) positions non-finite in all)"),
    C("check_numerics-not-tensor", "unroll.check_numerics", "values", "a leaf that is not a tensor",
      lambda: rk.unroll.check_numerics({"a": 1.5}, "inputs"), TypeError,
      "check_numerics: expected tensors in inputs, got float 1.5 at inputs['a']"),
]


BASELINES = {
    "dynamic_rnn": lambda: rk.dynamic_rnn(lstm(), x3(), sequence_length=[5, 0, 3, 1], initial_state=lstm_state(),
                                          dtype=torch.float32),
    "dynamic_rnn-stack": lambda: rk.dynamic_rnn(stack(), x3(), initial_state=(lstm_state(), lstm_state())),
    "static_rnn": lambda: rk.static_rnn(lstm(), steps(), initial_state=lstm_state(), sequence_length=[5, 0, 3, 1],
                                        dtype="float32"),
    "cell": lambda: (lstm()(torch.zeros(B, D), lstm_state()), gru()(torch.zeros(B, D), torch.zeros(B, H))),
    "constructors": lambda: (rk.LSTMCell(H, cell_clip=1.0, num_proj=5, proj_clip=2.0, use_peepholes=True,
                                         input_size=D, device="cpu", name="lstm"),
                             rk.BasicRNNCell(np.int64(H), activation="relu"), rk.MultiRNNCell([gru()])),
    "zero_state": lambda: gru().zero_state(B, torch.float64, device="cpu"),
    "tf_names": lambda: rk.load_tf_variables(lstm(), {k + ":0": v for k, v in lstm_values().items()}),
    "check_numerics": lambda: rk.unroll.check_numerics({"a": torch.zeros(B, T, D)}, "inputs"),
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
