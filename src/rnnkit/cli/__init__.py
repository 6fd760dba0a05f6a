"""The ``rnnkit`` command. Each subcommand lives in its own module with ``register(subparsers)``;
adding one (``inspect``, ``convert``, ``bench``) is a new module plus one entry in ``COMMANDS``."""

from __future__ import annotations

import importlib.util
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
    "export",
)

# A core install (`pip install rnnkit`: torch + numpy) runs help, `presets`, `bench`, and `inspect`/`convert` of
# TF checkpoints. Running a task (training, its checkpoints, logs and plots) needs the `tasks` extra
# (pyproject.toml): those commands check for it before they start, and any command that reaches for one of its
# packages later (inspect of a run directory, a .safetensors file) says the same in one line.
TASKS_EXTRA = ("safetensors", "matplotlib", "tqdm", "tensorboard")
NEEDS_TASKS_EXTRA = ("train", "evaluate", "predict", "plot", "import-tf", "export")
INSTALL_TASKS = "pip install 'rnnkit[tasks]'"


def _missing(modules: tuple[str, ...]) -> list[str]:
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or half-installed package is missing too
            found = False
        if not found:
            missing.append(name)
    return missing


def _extra_error(prog: str, missing: list[str]) -> int:
    print(
        f"{prog}: error: needs the tasks extra (missing {', '.join(missing)}): {INSTALL_TASKS}",
        file=sys.stderr,
    )
    return 2


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
    if args.command in NEEDS_TASKS_EXTRA and _missing(TASKS_EXTRA):
        return _extra_error(prog, _missing(TASKS_EXTRA))
    try:
        return int(args.func(args) or 0)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in TASKS_EXTRA:
            raise
        return _extra_error(prog, [(e.name or "").split(".")[0]])
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


__all__ = ["COMMANDS", "NEEDS_TASKS_EXTRA", "TASKS_EXTRA", "UsageError", "build_parser", "main"]
