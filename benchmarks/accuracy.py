"""Train presets to completion and tabulate what they reach against the TF anchors of issue 6.

    OMP_NUM_THREADS=1 python benchmarks/accuracy.py --out runs/accuracy [RUN ...]

RUN is TASK:PRESET (default: every preset below). Each run is ``rnnkit train TASK --preset PRESET``
in its own process, into ``OUT/TASK-PRESET``; a run whose ``metrics.json`` exists is not repeated.
The table (Markdown) is printed and written to ``OUT/accuracy.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# (task, preset, metric, TF anchor from the seed programs run in TF's compat API, anchor's budget)
RUNS = [
    ("mnist", "default", "test_accuracy", None, "target >= 0.99 in 10 min"),
    ("mnist", "seed000", "test_accuracy", 0.9527, "782 steps"),
    ("mnist", "seed001", "test_accuracy", 0.9807, "2,000 steps"),
    ("mnist", "seed003-static", "test_accuracy", 0.9164, "stop at >= 0.90 (blog: step 190)"),
    ("mnist", "seed003-dynamic", "test_accuracy", 0.9103, "6 epochs (blog)"),
    ("mnist", "seed004", "test_accuracy", None, "100 epochs"),
    ("sine", "default", "test_mse", None, "target <= 0.001"),
    ("sine", "seed000", "test_mse", 0.0022, "1,000 steps"),
    ("series", "default", "test_mse", None, "target <= 0.01 held-out"),
    ("series", "seed004", "test_mse", 0.054, "10,000 steps (shifted window)"),
]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("runs", nargs="*", help="TASK:PRESET to run (default: all)")
    ap.add_argument(
        "--out", default="runs/accuracy", help="parent directory of the run directories"
    )
    ap.add_argument("--table-only", action="store_true", help="only tabulate the finished runs")
    args = ap.parse_args()
    out = Path(args.out)
    wanted = {tuple(r.split(":", 1)) for r in args.runs}
    rows = []
    for task, preset, metric, anchor, budget in RUNS:
        run_dir = out / f"{task}-{preset}"
        todo = (not wanted or (task, preset) in wanted) and not args.table_only
        if todo and not (run_dir / "metrics.json").is_file():
            cmd = [
                sys.executable,
                "-m",
                "rnnkit",
                "train",
                task,
                "--preset",
                preset,
                "--out",
                str(run_dir),
            ]
            if (run_dir / "checkpoint.safetensors").is_file():
                cmd = [sys.executable, "-m", "rnnkit", "train", "--resume", str(run_dir)]
            print("+", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=False, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if (run_dir / "metrics.json").is_file():
            m = json.loads((run_dir / "metrics.json").read_text())
            extra = ", ".join(
                f"{k} {m[k]:.4g}" for k in ("train_mse", "heldout_mse", "test_loss") if k in m
            )
            rows.append(
                f"| {task} | {preset} | {metric} {m[metric]:.4g} | {anchor if anchor is not None else '-'} "
                f"| {budget} | {m['steps']} | {m['train_seconds']:.0f} | {extra} |"
            )
    table = "\n".join(
        [
            "| task | preset | reached | TF anchor | budget | steps | train s | other |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    out.mkdir(parents=True, exist_ok=True)
    (out / "accuracy.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
