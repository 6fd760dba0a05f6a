"""The dates generator: every format parses back (by a small parser written here, not the generator's tables) to
the date it was made from, weekdays are right (Zeller's congruence), held-out dates never reach training, and
everything is a pure function of the seed."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from rnnkit.data import dates as D

MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()


def zeller_weekday(y: int, m: int, d: int) -> str:
    """Gregorian weekday by Zeller's congruence (h = 0 is Saturday)."""
    if m < 3:
        m, y = m + 12, y - 1
    k, j = y % 100, y // 100
    h = (d + (13 * (m + 1)) // 5 + k + k // 4 + j // 4 + 5 * j) % 7
    return ["saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday"][h]


def month_number(word: str) -> int:
    assert word[:3] in MONTHS, word
    full = {
        "jan": "january",
        "feb": "february",
        "mar": "march",
        "apr": "april",
        "jun": "june",
        "jul": "july",
        "aug": "august",
        "sep": "september",
        "oct": "october",
        "nov": "november",
        "dec": "december",
    }
    assert word in (word[:3], full.get(word[:3], "may")), (
        word
    )  # a 3-letter abbreviation or the full name
    return MONTHS.index(word[:3]) + 1


def parse(text: str) -> tuple[int, int, int]:
    """(year, month, day) of one of the ten written forms (any case); checks a weekday when one is given."""
    t = text.lower()
    patterns = [
        (r"(\d{4})-(\d{2})-(\d{2})", "ymd"),
        (r"(\d{4})/(\d{2})/(\d{2})", "ymd"),
        (r"(\d{2})/(\d{2})/(\d{4})", "mdy"),
        (r"(\d{1,2})\.(\d{1,2})\.(\d{4})", "dmy"),
        (r"(?:([a-z]+),? )?(\d{1,2}) ([a-z]+) (\d{4})", "w d M y"),
        (r"(?:([a-z]+), )?([a-z]+) (\d{1,2}), (\d{4})", "w M d y"),
    ]
    for pat, kind in patterns:
        m = re.fullmatch(pat, t)
        if not m:
            continue
        g = m.groups()
        if kind == "ymd":
            y, mo, d = int(g[0]), int(g[1]), int(g[2])
        elif kind == "mdy":
            mo, d, y = int(g[0]), int(g[1]), int(g[2])
        elif kind == "dmy":
            d, mo, y = int(g[0]), int(g[1]), int(g[2])
        elif kind == "w d M y":
            d, mo, y = int(g[1]), month_number(g[2]), int(g[3])
        else:
            mo, d, y = month_number(g[1]), int(g[2]), int(g[3])
        if kind.startswith("w") and g[0] is not None:
            assert g[0] == zeller_weekday(y, mo, d), text
        return y, mo, d
    raise AssertionError(f"no pattern reads {text!r}")


def test_every_format_parses_back_with_its_weekday():
    days = [dt.date(1987, 3, 3), dt.date(1900, 1, 1), dt.date(2000, 2, 29), dt.date(2099, 12, 31)]
    rng = np.random.default_rng(5)
    days += [dt.date.fromordinal(int(o)) for o in rng.integers(693596, 766644, 200)]
    seen = set()
    for d in days:
        for fmt in D.FORMAT_NAMES:
            for case in D.CASES:
                text = D.write_date(d, fmt, case)
                assert parse(text) == (d.year, d.month, d.day), (fmt, text)
                seen.add(re.sub(r"\d", "9", text.lower()))
    # the forms the task promises, as written for 1987-03-03
    forms = {D.write_date(dt.date(1987, 3, 3), f) for f in D.FORMAT_NAMES}
    assert {
        "1987-03-03",
        "3 March 1987",
        "March 3, 1987",
        "Mar 3, 1987",
        "3 Mar 1987",
        "Tuesday, March 3, 1987",
        "03/03/1987",
        "3.3.1987",
        "1987/03/03",
    } <= forms
    assert "tuesday 3 march 1987" in {
        D.write_date(dt.date(1987, 3, 3), f, "lower") for f in D.FORMAT_NAMES
    }


def test_weekdays_over_a_whole_range():
    for o in range(dt.date(1899, 12, 25).toordinal(), dt.date(1901, 1, 8).toordinal()):
        d = dt.date.fromordinal(o)
        word = D.write_date(d, "wd_month_d_y", "lower").split(",")[0]
        assert word == zeller_weekday(d.year, d.month, d.day) and word in DAYS


def test_heldout_dates_never_reach_training():
    split = D.DateSplit(3, 1990, 2009, 0.1)
    assert not set(split.train_days) & set(split.test_days)
    assert (
        len(split.train_days) + len(split.test_days)
        == (dt.date(2009, 12, 31) - dt.date(1990, 1, 1)).days + 1
    )
    assert 0.07 < len(split.test_days) / (len(split.train_days) + len(split.test_days)) < 0.13
    held = {dt.date.fromordinal(int(o)).isoformat() for o in split.test_days}
    trained = {iso for step in range(200) for _, iso in split.train_batch(step, 64)}
    assert not trained & held and len(trained) > 5000
    test = split.test_set(500)
    assert {iso for _, iso in test} <= held
    for text, iso in test[:100] + split.train_batch(7, 100):
        assert "%04d-%02d-%02d" % parse(text) == iso
    # every format and case occurs
    assert len({re.sub(r"\d", "9", t) for t, _ in test}) > 20


def test_deterministic_from_the_seed():
    a, b, c = (
        D.DateSplit(1, 1950, 2000, 0.2),
        D.DateSplit(1, 1950, 2000, 0.2),
        D.DateSplit(2, 1950, 2000, 0.2),
    )
    assert np.array_equal(a.test_days, b.test_days) and not np.array_equal(a.test_days, c.test_days)
    assert a.train_batch(11, 32) == b.train_batch(11, 32) != a.train_batch(12, 32)
    assert a.test_set(50) == b.test_set(50) != c.test_set(50)


def test_encode_decode_round_trip_and_unknown_characters():
    ids, lengths = D.encode(["Mar 3, 1987", "1987-03-03"], D.SOURCE_CHARS)
    assert ids.shape == (2, 11) and lengths.tolist() == [11, 10] and ids[1, 10] == D.PAD
    tgt, _ = D.encode(["1987-03-03"], D.TARGET_CHARS, add_eos=True)
    assert tgt[0, -1] == D.EOS and D.decode(tgt[0], D.TARGET_CHARS) == "1987-03-03"
    with pytest.raises(
        ValueError, match=r"encode: expected characters from .* got '#' in 'Mar #3'"
    ):
        D.encode(["Mar #3"], D.SOURCE_CHARS)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            (0, 2000, 1990, 0.1),
            "DateSplit: expected 1 <= first_year <= last_year <= 9999, got 2000, 1990",
        ),
        ((0, 1990, 2000, 1.5), "DateSplit: expected heldout_fraction in (0, 1), got 1.5"),
        ((0, 2000, 2000, 1e-9), "leaves 366 training and 0 held-out dates"),
    ],
)
def test_split_errors(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        D.DateSplit(*args)
