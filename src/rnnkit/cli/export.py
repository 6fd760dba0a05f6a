"""``rnnkit export RUN_DIR --format onnx|torchscript --out FILE``: a trained run as a file that runs outside rnnkit."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._common import UsageError, add_command, load_run

HELP = "export a trained run's model to ONNX or TorchScript (checked against PyTorch)"


def register(sub: Any) -> None:
    p = add_command(sub, "export", HELP)
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", required=True, choices=("onnx", "torchscript"))
    p.add_argument(
        "--out", required=True, metavar="FILE", help="the file to write (refused if it exists)"
    )
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.add_argument("--data-dir", metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..export import ExportError, export

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UsageError(f"--out {out} exists; choose another file or pass --force to replace it")
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; expected a file name")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: no such directory {out.parent}")
    task, _ = load_run(args.run_dir, args.data_dir, "cpu")
    spec = task.export_spec()
    try:
        result = export(spec, out, args.format)
    except ExportError as e:
        raise UsageError(str(e)) from None
    summary = {
        "file": str(result.path),
        "format": result.format,
        "inputs": spec.input_names,
        "outputs": spec.output_names,
        "dynamic": {n: {str(a): s for a, s in axes.items()} for n, axes in result.dynamic.items()},
        "max_abs_diff": result.max_abs_diff,
    }
    print(json.dumps(summary))
    return 0
