"""contrib's cells with native sequence kernels, and LayerNormBasicLSTMCell, against a naive per-step loop of the
same math in plain torch (issue 19, item 2): the row cells of ``rnnkit bench --cells`` (``rnnkit/bench/cells.py``,
where the shapes, the method and the check that both sides compute the same numbers are described).

    PYTHONPATH=src python benchmarks/bench_contrib_cells.py [--rounds 15] [--threads 1] [--only NAME ...]
"""

from __future__ import annotations

import argparse

from rnnkit.bench.cells import CASES, cells_table, run_cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, nargs="*", default=[1])
    parser.add_argument("--only", nargs="*", help="the rows to run (their labels), default all")
    args = parser.parse_args()
    rows = [name for name, case in CASES.items() if not case.conv]
    print(cells_table(run_cells(args.threads, args.rounds, "cpu", args.only or rows)))


if __name__ == "__main__":
    main()
