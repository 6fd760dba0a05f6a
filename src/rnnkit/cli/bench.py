"""``rnnkit bench``: the speed benchmark (``rnnkit.bench.speed``): steps/s and sequences/s per implementation."""

from __future__ import annotations

from typing import Any

from ._common import add_command

HELP = "measure training steps/s and inference sequences/s (rnnkit fused/loop, torch.nn, naive, TF)"


def register(sub: Any) -> None:
    from ..bench.speed import add_arguments, run_args

    p = add_command(sub, "bench", HELP)
    add_arguments(p)
    p.set_defaults(func=run_args)
