"""Bad input → one clear error, for the core cells' constructors, ``zero_state``, the TF-name functions and
``check_numerics`` (the unrolls and cell calls: ``test_errors_core.py``, whose builders this file shares).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
from tests._errors import Case, assert_in_doc, check, table
from tests.test_errors_core import BAD, B, D, H, T, gru, lstm, lstm_values, stack

C = Case


def _shared_in_nested():
    shared = gru()
    inner = rk.MultiRNNCell([rk.ResidualWrapper(shared), rk.GRUCell(H)])
    return rk.MultiRNNCell([inner, rk.GRUCell(H), rk.DropoutWrapper(shared)])


# A table: one case per 3-4 lines reads better than the formatter's 9 lines per case.
# fmt: off
CASES = [
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
    C("gru-kernel_initializer-float", "GRUCell", "kernel_initializer", "a number",
      lambda: rk.GRUCell(H, kernel_initializer=0.1), TypeError,
      "GRUCell: expected kernel_initializer to be None or a callable that fills a tensor in place "
      "(e.g. torch.nn.init.orthogonal_), got float 0.1"),
    C("gru-bias_initializer-str", "GRUCell", "bias_initializer", "a name",
      lambda: rk.GRUCell(H, bias_initializer="zeros"), TypeError,
      "GRUCell: expected bias_initializer to be None or a callable that fills a tensor in place "
      "(e.g. torch.nn.init.orthogonal_), got str 'zeros'"),
    C("lstm-initializer-str", "LSTMCell", "initializer", "a name",
      lambda: rk.LSTMCell(H, initializer="glorot_uniform"), TypeError,
      "LSTMCell: expected initializer to be None or a callable that fills a tensor in place "
      "(e.g. torch.nn.init.orthogonal_), got str 'glorot_uniform'"),
    C("multi-same-cell", "MultiRNNCell", "cells", "one cell object twice ([cell] * 2)",
      lambda: rk.MultiRNNCell([lstm()] * 2), ValueError,
      "MultiRNNCell: expected a distinct cell object per layer, got the same BasicLSTMCell object in cells[0] "
      "and cells[1]; make one cell per layer, e.g. [rk.BasicLSTMCell(...) for _ in range(2)] instead of "
      "[cell] * 2"),
    C("multi-same-cell-nested", "MultiRNNCell", "cells", "one cell object in two layers, inside wrappers or a "
      "nested MultiRNNCell", lambda: _shared_in_nested(), ValueError,
      "MultiRNNCell: expected a distinct cell object per layer, got the same GRUCell object in cells[0] "
      "and cells[2]; make one cell per layer, e.g. [rk.GRUCell(...) for _ in range(3)] instead of [cell] * 3"),
    C("multi-empty", "MultiRNNCell", "cells", "an empty list",
      lambda: rk.MultiRNNCell([]), ValueError, "MultiRNNCell: expected at least one cell, got an empty list"),
    C("multi-one-cell", "MultiRNNCell", "cells", "a cell instead of a list",
      lambda: rk.MultiRNNCell(gru()), TypeError,
      "MultiRNNCell: expected cells to be a list of cells, got GRUCell GRUCell(num_units=6, input_size=3)"),
    C("multi-non-cell", "MultiRNNCell", "cells", "a non-cell in the list",
      lambda: rk.MultiRNNCell([gru(), torch.nn.Linear(H, H)]), TypeError,
      "MultiRNNCell: expected cells[1] to be an rnnkit RNNCell, got Linear (missing: state_size, output_size, "
      "zero_state)"),
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
    C("load-value-complex-tensor", "load_tf_variables", "values", "a complex tensor",
      lambda: rk.load_tf_variables(lstm(), lstm_values(**{"rnn/basic_lstm_cell/bias": torch.zeros(24, dtype=torch.complex64)})),
      TypeError, "load_tf_variables: expected a real-valued array for 'rnn/basic_lstm_cell/bias', got a "
      "torch.complex64 tensor of shape (24,)"),
    C("load-value-bool", "load_tf_variables", "values", "a bool array (no weights)",
      lambda: rk.load_tf_variables(lstm(), lstm_values(**{"rnn/basic_lstm_cell/bias": np.zeros(24, bool)})),
      TypeError, "load_tf_variables: expected a real-valued array for 'rnn/basic_lstm_cell/bias', got a numpy "
      "bool array of shape (24,)"),
    C("load-value-bool-tensor", "load_tf_variables", "values", "a bool tensor",
      lambda: rk.load_tf_variables(lstm(), lstm_values(**{"rnn/basic_lstm_cell/bias": torch.zeros(24, dtype=torch.bool)})),
      TypeError, "load_tf_variables: expected a real-valued array for 'rnn/basic_lstm_cell/bias', got a "
      "torch.bool tensor of shape (24,)"),
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
    "constructors": lambda: (rk.LSTMCell(H, cell_clip=1.0, num_proj=5, proj_clip=2.0, use_peepholes=True,
                                         input_size=D, device="cpu", name="lstm"),
                             rk.BasicRNNCell(np.int64(H), activation="relu"), rk.MultiRNNCell([gru()])),
    "zero_state": lambda: (gru().zero_state(B, torch.float64, device="cpu"), stack().zero_state(np.int64(B))),
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
    assert len({c.id for c in CASES}) == len(CASES)


def cells_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_cells.py")


def test_errors_doc_is_in_sync():
    assert_in_doc(cells_table())
