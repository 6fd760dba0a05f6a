"""Every public name of ``rnnkit`` has bad-input cases in one of the tables (tests/errors/test_errors_*.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import rnnkit as rk


def test_every_public_callable_has_bad_input_cases():
    """A new public function or class fails here until its bad inputs are in one of the tables: the CASES of
    every tests/errors/test_errors_*.py module."""
    tables = sorted(Path(__file__).parent.glob("test_errors_*.py"))
    cases = [c for t in tables for c in importlib.import_module(f"tests.errors.{t.stem}").CASES]
    covered = " ".join(c.function for c in cases)
    # not callables with arguments of their own, or covered under a family name ("every cell")
    exempt = {
        "__version__",
        "nest",
        "tf_checkpoint",
        "export",  # a module: its functions (rk.export.to_onnx, ...) have their cases
        "RNNCell",
        "LayerCell",  # the base of the cells (docs/design/0004-cell-contract.md): each cell has the cases
        "CellWrapper",
        "LSTMStateTuple",
        "BasicRNNCell",
        "GRUCell",
        "BasicLSTMCell",
        "Layout",  # a record of two functions; AS_IS and TRANSPOSE are its two instances
        "AS_IS",
        "TRANSPOSE",
        "StateOrderWarning",  # a warning class
        "nn",  # facades of TF's namespaces: re-exports only
        "contrib",
        "rnn",  # the same functions as static_rnn / static_bidirectional_rnn
        "bidirectional_rnn",
    }
    missing = [name for name in rk.__all__ if name not in exempt and name not in covered]
    assert not missing, (
        f"no bad-input case for {missing}: add them to tests/errors/test_errors_*.py"
    )
