"""``rnnkit evaluate RUN_DIR``: the held-out metrics of a run's last checkpoint."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import add_command, load_run

HELP = "evaluate the last checkpoint of a run on its held-out data"


def register(sub: Any) -> None:
    p = add_command(sub, "evaluate", HELP, "; prints the metrics as JSON")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data-dir", metavar="DIR", help="MNIST directory (default: the search order)")
    p.add_argument("--device", metavar="cpu|cuda")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    task, ck = load_run(args.run_dir, args.data_dir, args.device)
    with torch.no_grad():
        metrics = task.evaluate()
    print(json.dumps({**metrics, "step": ck.step}, indent=2))
    return 0
