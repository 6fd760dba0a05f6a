"""docs/tf1_migration.md: every row names a test that exists and rnnkit names that exist; plus the tests of the
rows no other module covers (scopes/reuse, initialisers, dtype spellings, zero_state, nest, LSTMStateTuple)."""

from __future__ import annotations

import ast
import importlib
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit as rk

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "tf1_migration.md"


def _rows():
    rows = []
    for line in GUIDE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] != "TF1 name" and not set(cells[0]) <= set("-"):
            rows.append(cells)
    return rows


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_row_names_an_existing_test():
    rows = _rows()
    assert len(rows) >= 33
    for tf_name, rk_name, _, test in rows:
        match = re.fullmatch(r"`(tests/[\w/]+\.py)::(\w+)`", test)
        assert match, (
            f"row {tf_name}: the test column must be `tests/file.py::test_name`, got {test!r}"
        )
        path = ROOT / match.group(1)
        assert path.exists(), f"row {tf_name}: {path} does not exist"
        assert match.group(2) in _functions(path), f"row {tf_name}: no {match.group(2)} in {path}"
        for name in re.findall(r"`rk\.([\w.]+)", rk_name):  # every rnnkit name mentioned must exist
            obj, path = rk, "rnnkit"
            for part in name.split("."):
                path = f"{path}.{part}"
                obj = getattr(obj, part) if hasattr(obj, part) else importlib.import_module(path)


def test_every_public_name_has_a_row():
    text = GUIDE.read_text()
    surface = [
        "RNNCell",
        "BasicRNNCell",
        "GRUCell",
        "BasicLSTMCell",
        "LSTMCell",
        "MultiRNNCell",
        "LayerNormBasicLSTMCell",
        "LSTMStateTuple",
        "DropoutWrapper",
        "ResidualWrapper",
        "DeviceWrapper",
        "OutputProjectionWrapper",
        "InputProjectionWrapper",
        "dynamic_rnn",
        "static_rnn",
        "bidirectional_dynamic_rnn",
        "static_bidirectional_rnn",
        "stack_bidirectional_dynamic_rnn",
        "stack_bidirectional_rnn",
        "raw_rnn",
        "reverse_sequence",
        "tf_variables",
        "load_tf_variables",
        "tf_variables_bidirectional",
        "tf_variables_stack_bidirectional",
        "load_tf_variable_dict",
        *(name for name in rk.cells.contrib.__all__ if hasattr(rk, name)),
    ]
    for name in surface:
        assert f"`rk.{name}" in text, name


def test_scope_and_reuse_are_accepted_no_ops():
    torch.manual_seed(0)
    cell = rk.BasicLSTMCell(3, input_size=2, reuse=True, name="basic_lstm_cell")
    x = torch.randn(2, 4, 2)
    a, _ = rk.dynamic_rnn(cell, x)
    b, _ = rk.dynamic_rnn(cell, x, scope="encoder", parallel_iterations=7, swap_memory=False)
    assert torch.equal(a, b)
    (f, _), _ = rk.bidirectional_dynamic_rnn(cell, cell, x, scope="whatever")
    assert torch.equal(
        f, a
    )  # the same object in both directions shares its weights, as reuse=True did
    assert list(rk.tf_variables(cell, scope="encoder")) == [
        "encoder/basic_lstm_cell/kernel",
        "encoder/basic_lstm_cell/bias",
    ]


def test_initialisers_and_their_defaults():
    torch.manual_seed(0)
    gru = rk.GRUCell(50, input_size=30)
    limit = math.sqrt(6 / (80 + 100))  # glorot on the [D+H, 2H] gates kernel
    assert gru.gates_kernel.abs().max() <= limit and gru.gates_kernel.abs().max() > 0.9 * limit
    assert torch.all(gru.gates_bias == 1.0) and torch.all(gru.candidate_bias == 0.0)
    lstm = rk.LSTMCell(40, use_peepholes=True, input_size=10)
    assert torch.all(lstm.bias == 0) and lstm.w_f_diag.abs().max() <= math.sqrt(
        6 / 80
    )  # 1-D: fan_in = fan_out
    custom = rk.LSTMCell(
        4, initializer=lambda t: torch.nn.init.uniform_(t, -0.01, 0.01), input_size=3
    )
    assert custom.kernel.abs().max() <= 0.01
    gru2 = rk.GRUCell(
        4,
        kernel_initializer=torch.nn.init.ones_,
        bias_initializer=torch.nn.init.zeros_,
        input_size=3,
    )
    assert torch.all(gru2.candidate_kernel == 1) and torch.all(gru2.gates_bias == 0)


@pytest.mark.parametrize("spelling", [torch.float64, "float64", np.float64, np.dtype("float64")])
def test_dtype_spellings(spelling):
    cell = rk.BasicRNNCell(3, input_size=2, dtype=spelling)
    assert cell.kernel.dtype == torch.float64
    assert cell.zero_state(2, spelling).dtype == torch.float64
    out, _ = rk.dynamic_rnn(cell, torch.zeros(2, 3, 2, dtype=torch.float64), dtype=spelling)
    assert out.dtype == torch.float64
    with pytest.raises(
        TypeError, match="dynamic_rnn: expected dtype to match the inputs' dtype torch.float64"
    ):
        rk.dynamic_rnn(cell, torch.zeros(2, 3, 2, dtype=torch.float64), dtype="float32")


def test_zero_state_dtype_and_device():
    cell = rk.MultiRNNCell([rk.BasicLSTMCell(3), rk.GRUCell(2)])
    state = cell.zero_state(4)
    assert (
        state[0].c.shape == (4, 3) and state[1].shape == (4, 2) and state[1].dtype == torch.float32
    )
    state = cell.zero_state(4, torch.float64, device="cpu")
    assert state[0].h.dtype == torch.float64 and state[0].h.device == torch.device("cpu")


@pytest.mark.parametrize(
    "make", [lambda: rk.GRUCell(3, input_size=2), lambda: rk.BasicLSTMCell(3, input_size=2)]
)
@pytest.mark.parametrize("dtype", [None, torch.float32])
@pytest.mark.parametrize("device", [None, "cpu"])
def test_zero_state_takes_each_default_from_the_parameters(make, dtype, device):
    """What is not given comes from the parameters (float64 here), what is given wins; an int state size and a
    nested one alike (the int takes a shorter way)."""
    cell = make().double()
    state = cell.zero_state(5, dtype, device=device)
    rk.nest.assert_same_structure(cell.state_size, state)
    for size, t in zip(rk.nest.flatten(cell.state_size), rk.nest.flatten(state)):
        assert t.shape == (5, size) and not t.any()
        assert t.dtype == (dtype or torch.float64) and t.device == torch.device("cpu")


def test_nest_functions():
    structure = {"b": (1, 2), "a": rk.LSTMStateTuple(3, [4])}
    assert rk.nest.flatten(structure) == [3, 4, 1, 2]  # sorted keys, as TF
    packed = rk.nest.pack_sequence_as(structure, ["c", "h", "x", "y"])
    assert packed == {"b": ("x", "y"), "a": rk.LSTMStateTuple("c", ["h"])}
    assert rk.nest.map_structure(lambda a, b: a + b, (1, (2,)), (10, (20,))) == (11, (22,))
    assert rk.nest.is_nested([1]) and not rk.nest.is_nested(torch.zeros(2))
    rk.nest.assert_same_structure(
        (1, 2), rk.LSTMStateTuple(1, 2)
    )  # sequence types are not compared
    with pytest.raises(ValueError, match="assert_same_structure: expected a structure like"):
        rk.nest.assert_same_structure((1, 2), (1, (2, 3)))


def test_lstm_state_tuple():
    state = rk.LSTMStateTuple(torch.zeros(2, 3), torch.ones(2, 3))
    c, h = state
    assert (
        state.c is c
        and state.h is h
        and state._fields == ("c", "h")
        and state.dtype == torch.float32
    )


SYMBOLS = ROOT / "tests" / "tf1_symbols.json"
STATUSES = {"same", "renamed", "not provided", "being added"}


def _symbol_rows():
    rows = {}
    for line in GUIDE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`tf."):
            name = cells[0].strip("`")
            assert name not in rows, f"two rows for {name}"
            rows[name] = cells[1:]
    return rows


def _resolve(dotted: str):
    obj, path = rk, "rnnkit"
    for part in dotted.split("."):
        path = f"{path}.{part}"
        obj = getattr(obj, part) if hasattr(obj, part) else importlib.import_module(path)
    return obj


def test_every_tf1_symbol_has_a_row():
    import json

    data = json.loads(SYMBOLS.read_text())
    expected = {
        f"{mod}.{n}" for mod, names in data.items() if not mod.startswith("_") for n in names
    }
    assert len(expected) >= 120
    rows = _symbol_rows()
    assert (
        set(rows) == expected
    )  # every listed symbol has a row, and no row for a name TF does not export
    for name, (status, what) in rows.items():
        assert status in STATUSES, f"{name}: status {status!r}"
        assert what, f"{name}: say what to use"
        if status in ("same", "renamed"):
            mentioned = re.findall(r"`rk\.([\w.]+)", what)
            assert mentioned, f"{name}: a {status} row must name the rnnkit object"
            for dotted in mentioned:
                _resolve(dotted)


def test_tf0_names_and_namespaces():
    assert rk.rnn is rk.static_rnn and rk.bidirectional_rnn is rk.static_bidirectional_rnn
    assert rk.nn.rnn is rk.static_rnn and rk.nn.dynamic_rnn is rk.dynamic_rnn
    data = __import__("json").loads(SYMBOLS.read_text())
    for name in data["tf.nn.rnn_cell"]:
        assert getattr(rk.nn.rnn_cell, name) is getattr(rk, name)
    for name in data["tf.contrib.cudnn_rnn"][:6]:
        assert getattr(rk.contrib.cudnn_rnn, name) is getattr(rk, name)
    assert rk.contrib.rnn.LSTMBlockCell is rk.LSTMBlockCell and rk.contrib.rnn.NASCell is rk.NASCell
    assert rk.contrib.seq2seq is rk.seq2seq and rk.contrib.legacy_seq2seq is rk.legacy_seq2seq
    with pytest.raises(AttributeError, match="rnnkit.contrib.rnn has no 'GridLSTMCell'"):
        _ = rk.contrib.rnn.GridLSTMCell
    torch.manual_seed(0)
    cell = rk.GRUCell(3, input_size=2)
    xs = list(torch.randn(4, 2, 2).unbind(0))
    a, sa = rk.rnn(cell, xs)
    b, sb = rk.static_rnn(cell, xs)
    assert all(torch.equal(x, y) for x, y in zip(a, b)) and torch.equal(sa, sb)


def test_contrib_rnn_picks_up_the_contrib_cells(monkeypatch):
    import sys
    import types

    fake = types.ModuleType("rnnkit.cells.contrib")
    fake.__all__ = ["FutureCell"]
    fake.FutureCell = object()
    monkeypatch.setitem(sys.modules, "rnnkit.cells.contrib", fake)
    assert (
        rk.contrib.rnn.FutureCell is fake.FutureCell
    )  # no edit of the facade when a contrib cell lands
    with pytest.raises(AttributeError, match="no 'TimeFreqLSTMCell'"):
        _ = rk.contrib.rnn.TimeFreqLSTMCell
