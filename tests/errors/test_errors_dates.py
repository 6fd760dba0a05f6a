"""Bad input → one clear error, for the dates data (``rnnkit.data.dates``) and the ``dates`` task's settings. As in
``test_errors_core.py``: each case changes one thing in a correct call and is matched on its whole message;
docs/errors.md carries the generated table (the CLI's own rows are in tests/cli/test_cli_errors.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from rnnkit.data import dates as D
from rnnkit.tasks import TASKS, ConfigError
from tests._errors import Case, assert_in_doc, check, table

DAY = dt.date(1987, 3, 3)


def task(**overrides):
    return TASKS["dates"](TASKS["dates"].resolve_config("small", overrides))


# fmt: off
CASES = [
    Case("write-fmt", "data.dates.write_date", "fmt", "an unknown format", lambda: D.write_date(DAY, "roman"),
         ValueError, f"write_date: expected fmt in {list(D.FORMATS)}, got 'roman'"),
    Case("write-case", "data.dates.write_date", "case", "an unknown letter case",
         lambda: D.write_date(DAY, "iso", "title"), ValueError,
         "write_date: expected case in ['as_written', 'lower', 'upper'], got 'title'"),
    Case("split-years", "data.dates.DateSplit", "first_year, last_year", "first after last",
         lambda: D.DateSplit(0, 2000, 1990, 0.1), ValueError,
         "DateSplit: expected 1 <= first_year <= last_year <= 9999, got 2000, 1990"),
    Case("split-fraction", "data.dates.DateSplit", "heldout_fraction", "outside (0, 1)",
         lambda: D.DateSplit(0, 1990, 2000, 1.0), ValueError,
         "DateSplit: expected heldout_fraction in (0, 1), got 1.0"),
    Case("split-empty", "data.dates.DateSplit", "heldout_fraction", "so small no date is held out",
         lambda: D.DateSplit(0, 2000, 2000, 1e-9), ValueError,
         "DateSplit: 2000..2000 with heldout_fraction 1e-09 leaves 366 training and 0 held-out dates; both must "
         "be > 0"),
    Case("encode-char", "data.dates.encode", "texts", "a character outside the alphabet",
         lambda: D.encode(["3 März 1987"], D.SOURCE_CHARS), ValueError,
         f"encode: expected characters from {D.SOURCE_CHARS!r} (any case), got 'ä' in '3 März 1987'"),
    Case("encode-empty", "data.dates.encode", "texts", "an empty text", lambda: D.encode([""], D.SOURCE_CHARS),
         ValueError, "encode: expected non-empty texts, got ['']"),
    Case("task-beam", "tasks.DatesTask", "beam_width", "0", lambda: task(beam_width=0), ConfigError,
         "beam_width: expected an integer >= 1, got 0"),
    Case("task-units", "tasks.DatesTask", "num_units", "not an int", lambda: task(num_units=8.5), ConfigError,
         "num_units: expected an integer >= 1, got 8.5"),
    Case("task-fraction", "tasks.DatesTask", "heldout_fraction", "over 0.5", lambda: task(heldout_fraction=0.9),
         ConfigError, "heldout_fraction: expected a finite number > 0 and <= 0.5, got 0.9"),
    Case("task-years", "tasks.DatesTask", "first_year, last_year", "first after last",
         lambda: task(first_year=2000, last_year=1999), ConfigError,
         "first_year and last_year: expected first_year <= last_year, got 2000 and 1999"),
    Case("task-no-heldout", "tasks.DatesTask", "heldout_fraction", "so small no date of the range is held out",
         lambda: task(first_year=2000, last_year=2000, heldout_fraction=1e-9), ConfigError,
         "dates: DateSplit: 2000..2000 with heldout_fraction 1e-09 leaves 366 training and 0 held-out dates; "
         "both must be > 0"),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


def dates_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_dates.py")


def test_errors_doc_is_in_sync():
    assert_in_doc(dates_table())
