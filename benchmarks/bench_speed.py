"""Speed benchmark (issue 5): ``python benchmarks/bench_speed.py --help``; the code is ``rnnkit.bench.speed``."""

import sys

from rnnkit.bench.speed import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
