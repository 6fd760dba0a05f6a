"""Decoding throughput, rnnkit next to TF (issue 19 item 4): greedy and beam search over an attention LSTM, and
greedy ``raw_rnn``. ``python benchmarks/bench_decode.py --help``; the code is ``rnnkit.bench.decode``.

    PYTHONPATH=src python benchmarks/bench_decode.py --repeats 7 --tf-python .tf-oracle/tf215/bin/python

Without ``--tf-python`` (or with a python lacking TF / tensorflow-addons) it prints the rnnkit rows and
"TF: not installed".
"""

import sys

from rnnkit.bench.decode import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
