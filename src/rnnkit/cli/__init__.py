"""The ``rnnkit`` command. Each subcommand lives in its own module with ``register(subparsers)``;
adding one (``inspect``, ``convert``, ``bench``) is a new module plus one entry in ``COMMANDS``."""

from __future__ import annotations

import sys
from importlib import import_module

from .._version import __version__
from ._common import Parser, UsageError

COMMANDS = (
    "train",
    "evaluate",
    "predict",
    "plot",
    "presets",
    "inspect",
    "convert",
    "import-tf",
    "bench",
)


def build_parser() -> Parser:
    parser = Parser(
        prog="rnnkit",
        description="TF1 recurrent networks on PyTorch: train and inspect the "
        "classic RNN programs (MNIST by rows, sin->cos, a time series).",
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        import_module(f"{__name__}.{name.replace('-', '_')}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..data.mnist import MnistError
    from ..tf_checkpoint import CheckpointError
    from ..train import CheckpointFileError
    from ..train.rundir import RunDirError, RunFileError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    prog = f"rnnkit {args.command}"
    try:
        return int(args.func(args) or 0)
    except (
        UsageError,
        MnistError,
        CheckpointFileError,
        RunFileError,
        RunDirError,
        CheckpointError,
    ) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except (
        OSError
    ) as e:  # an unwritable or full output directory, a file that vanished: no traceback
        reason = e.strerror or str(e)
        detail = (
            f"{e.filename}: {reason}" if e.filename and str(e.filename) not in reason else reason
        )
        print(f"{prog}: error: {detail}", file=sys.stderr)
        return 2


__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]
