"""contrib's convolutional LSTMs (kernels.conv_lstm_sequence) against a naive per-step loop of the same math in
plain torch (issue 19, item 2): the image cells of ``rnnkit bench --cells`` (``rnnkit/bench/cells.py``, where the
shapes, the two naive loops and the check that every side computes the same numbers are described).

    PYTHONPATH=src python benchmarks/bench_conv_lstm.py [--rounds 15] [--threads 1]
"""

from __future__ import annotations

import argparse

from rnnkit.bench.cells import CASES, cells_table, run_cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, nargs="*", default=[1])
    args = parser.parse_args()
    images = [name for name, case in CASES.items() if case.conv]
    print(cells_table(run_cells(args.threads, args.rounds, "cpu", images)))


if __name__ == "__main__":
    main()
