"""The shape of a bad-input case and the docs table made from a list of them (tests/errors/test_errors_*.py).

Each case is a call that differs from a correct baseline call in one thing, and the whole message it must raise.
``docs/errors.md`` carries one generated table per test file (``tools/errors_table.py`` writes them; each test
file's ``test_errors_doc_is_in_sync`` checks its table).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

DOC = Path(__file__).parents[1] / "docs" / "errors.md"


@dataclass(frozen=True)
class Case:
    id: str
    function: str  # the public function or class, as the docs table lists it
    argument: str
    condition: str
    call: Callable[[], object]
    error: type[Exception]
    message: str  # the whole message, matched literally


def check(case: Case) -> None:
    """Run the case: it must raise ``case.error`` with exactly ``case.message``."""
    with pytest.raises(case.error, match=f"^{re.escape(case.message)}$"):
        case.call()


def table(cases: list[Case], test_file: str) -> str:
    """The markdown table of ``cases`` (one row per case, linked to ``tests/errors/<test_file>``)."""
    rows = [
        "| function | argument | bad input | error | message | test |",
        "|---|---|---|---|---|---|",
    ]
    for c in cases:
        message = c.message.replace("|", "\\|")
        rows.append(
            f"| `{c.function}` | `{c.argument}` | {c.condition} | {c.error.__name__} | `{message}` "
            f"| [`{c.id}`](../tests/errors/{test_file}) |"
        )
    return "\n".join(rows) + "\n"


def assert_in_doc(text: str) -> None:
    assert text in DOC.read_text(), (
        "docs/errors.md is stale: run `PYTHONPATH=src python tools/errors_table.py`"
    )
