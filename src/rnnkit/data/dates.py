"""Human-written dates and their ISO 8601 form, for the ``dates`` translation task.

Every function here is a pure function of its arguments (no global random state), so a run's data is fixed by
its seed: the batch of step ``k`` is the same whether the run is fresh or resumed, and the held-out dates are the
same in every process.

* The dates are the days of ``[first_year-01-01, last_year-12-31]``. A date is *held out* when a hash of
  ``(seed, ISO string)`` falls below ``heldout_fraction``: training never draws a held-out date in any form,
  so the test measures dates, not strings, the model has not seen.
* Each example writes one date in one of :data:`FORMATS`, in one of three letter cases (as written, lower,
  upper): the task is case-insensitive and the model reads the text lower-cased.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _month(d: dt.date) -> str:
    return MONTHS[d.month - 1]


def _weekday(d: dt.date) -> str:
    return WEEKDAYS[d.weekday()]  # date.weekday(): Monday is 0 (proleptic Gregorian calendar)


# name -> how one date is written (1987-03-03 shown); month names are English, abbreviations their first 3 letters.
FORMATS: dict[str, Callable[[dt.date], str]] = {
    "iso": lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}",  # 1987-03-03
    "d_month_y": lambda d: f"{d.day} {_month(d)} {d.year}",  # 3 March 1987
    "month_d_y": lambda d: f"{_month(d)} {d.day}, {d.year}",  # March 3, 1987
    "mon_d_y": lambda d: f"{_month(d)[:3]} {d.day}, {d.year}",  # Mar 3, 1987
    "d_mon_y": lambda d: f"{d.day} {_month(d)[:3]} {d.year}",  # 3 Mar 1987
    "wd_month_d_y": lambda d: (
        f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}"
    ),  # Tuesday, March 3, 1987
    "wd_d_month_y": lambda d: f"{_weekday(d)} {d.day} {_month(d)} {d.year}",  # Tuesday 3 March 1987
    "mm_dd_yyyy": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year:04d}",  # 03/03/1987 (month first)
    "d_m_y_dots": lambda d: f"{d.day}.{d.month}.{d.year}",  # 3.3.1987 (day first)
    "yyyy_mm_dd": lambda d: f"{d.year:04d}/{d.month:02d}/{d.day:02d}",  # 1987/03/03
}
FORMAT_NAMES = tuple(FORMATS)
CASES = ("as_written", "lower", "upper")

# Character vocabularies: 0 PAD (fills short rows), 1 GO (the decoder's first input), 2 EOS (ends a sequence).
PAD, GO, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<go>", "<eos>")
SOURCE_CHARS = " ,-./0123456789abcdefghijklmnopqrstuvwxyz"  # the lower-cased input alphabet
TARGET_CHARS = "-0123456789"
ISO_LENGTH = 10  # YYYY-MM-DD


def write_date(d: dt.date, fmt: str, case: str = "as_written") -> str:
    """``d`` written in format ``fmt`` (a key of :data:`FORMATS`) and letter case ``case`` (:data:`CASES`)."""
    if fmt not in FORMATS:
        raise ValueError(f"write_date: expected fmt in {list(FORMATS)}, got {fmt!r}")
    if case not in CASES:
        raise ValueError(f"write_date: expected case in {list(CASES)}, got {case!r}")
    text = FORMATS[fmt](d)
    return text.lower() if case == "lower" else text.upper() if case == "upper" else text


def is_heldout(iso: str, seed: int, fraction: float) -> bool:
    """Whether the date ``iso`` is held out of training for ``seed``: a stable hash (not Python's salted
    ``hash``) of ``"seed:iso"`` mapped to ``[0, 1)`` and compared with ``fraction``."""
    digest = hashlib.blake2b(f"{seed}:{iso}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 < fraction


class DateSplit:
    """The days of ``[first_year, last_year]`` split into training and held-out dates by :func:`is_heldout`.

    ``train_days`` / ``test_days``: sorted ``int64`` arrays of proleptic ordinals (``date.toordinal()``).
    """

    def __init__(self, seed: int, first_year: int, last_year: int, heldout_fraction: float) -> None:
        if not 1 <= first_year <= last_year <= 9999:
            raise ValueError(
                f"DateSplit: expected 1 <= first_year <= last_year <= 9999, got {first_year}, {last_year}"
            )
        if not 0.0 < heldout_fraction < 1.0:
            raise ValueError(
                f"DateSplit: expected heldout_fraction in (0, 1), got {heldout_fraction!r}"
            )
        self.seed = seed
        lo, hi = dt.date(first_year, 1, 1).toordinal(), dt.date(last_year, 12, 31).toordinal()
        days = np.arange(lo, hi + 1, dtype=np.int64)
        held = np.array(
            [
                is_heldout(dt.date.fromordinal(int(o)).isoformat(), seed, heldout_fraction)
                for o in days
            ]
        )
        self.train_days, self.test_days = days[~held], days[held]
        if len(self.train_days) == 0 or len(self.test_days) == 0:
            raise ValueError(
                f"DateSplit: {first_year}..{last_year} with heldout_fraction {heldout_fraction} leaves "
                f"{len(self.train_days)} training and {len(self.test_days)} held-out dates; both must be > 0"
            )

    def _pairs(self, days: np.ndarray, rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
        picks = rng.integers(0, len(days), n)
        fmts = rng.integers(0, len(FORMAT_NAMES), n)
        cases = rng.integers(0, len(CASES), n)
        out = []
        for p, f, c in zip(picks, fmts, cases):
            d = dt.date.fromordinal(int(days[p]))
            out.append((write_date(d, FORMAT_NAMES[f], CASES[c]), d.isoformat()))
        return out

    def train_batch(self, step: int, batch_size: int) -> list[tuple[str, str]]:
        """Training step ``step``'s ``batch_size`` (text, iso) pairs: training dates only, a pure function of
        ``(seed, step)``."""
        rng = np.random.default_rng([self.seed, 1, step])
        return self._pairs(self.train_days, rng, batch_size)

    def test_set(self, n: int) -> list[tuple[str, str]]:
        """``n`` (text, iso) pairs of held-out dates, fixed by the seed (formats and cases drawn uniformly)."""
        rng = np.random.default_rng([self.seed, 2])
        return self._pairs(self.test_days, rng, n)


def encode(
    texts: Sequence[str], chars: str, add_eos: bool = False, where: str = "encode"
) -> tuple[np.ndarray, np.ndarray]:
    """Character ids of lower-cased ``texts`` padded with PAD: ``ids [N, L]`` (int64) and ``lengths [N]``.

    Each character ``c`` of ``chars`` has id ``3 + chars.index(c)``; ``add_eos`` appends EOS to every row.
    A character outside ``chars`` raises ``ValueError`` naming it.
    """
    index = {c: i + len(SPECIALS) for i, c in enumerate(chars)}
    rows = []
    for t in texts:
        low = t.lower()
        bad = sorted({c for c in low if c not in index})
        if bad:
            raise ValueError(
                f"{where}: expected characters from {chars!r} (any case), got {''.join(bad)!r} in {t!r}"
            )
        rows.append([index[c] for c in low] + ([EOS] if add_eos else []))
    if not rows or min(len(r) for r in rows) == 0:
        raise ValueError(f"{where}: expected non-empty texts, got {list(texts)!r}")
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    ids = np.full((len(rows), int(lengths.max())), PAD, dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    return ids, lengths


def decode(ids: Iterable[int] | np.ndarray, chars: str) -> str:
    """The text of target ids up to the first EOS (PAD/GO dropped)."""
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i >= len(SPECIALS):
            out.append(chars[i - len(SPECIALS)])
    return "".join(out)
