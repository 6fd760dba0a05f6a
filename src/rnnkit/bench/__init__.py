"""Benchmarks shipped with the package (so ``rnnkit bench`` works from an install): ``speed.main(argv)``."""
