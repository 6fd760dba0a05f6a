"""The cell contract (test_cell_contract.py) and the way a per-cell file in tests/cells runs it over that cell's
registry cases: ``from tests.contract.test_cell_contract import *`` brings the checks (only the ``test_``
functions), ``case = cases_of(rk.SomeCell)`` narrows them to that cell; the checks are never copied."""

from __future__ import annotations

from typing import Any

import pytest

from tests.registry import CASES, CellCase


def cases_of(*cell_types: type) -> Any:
    """A ``case`` fixture over the registry cases whose cell is exactly one of ``cell_types`` (a subclass is a
    cell of its own, with its own file)."""
    cases: list[CellCase] = [c for c in CASES if type(c.make_cell()) in cell_types]
    names = ", ".join(t.__name__ for t in cell_types)
    assert cases, f"cases_of: expected registry cases for {names} in tests/registry.py, got none"

    @pytest.fixture(params=cases, ids=[c.id for c in cases])
    def case(request: pytest.FixtureRequest) -> CellCase:
        return request.param

    return case
