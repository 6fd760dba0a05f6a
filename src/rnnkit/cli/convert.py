"""``rnnkit convert PATH OUT``: TF checkpoint -> safetensors, and a run (or safetensors file) -> TF checkpoint."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ._common import UsageError, add_command
from ._sources import RUN, SAFETENSORS, TF, ensure_parent, kind_of, model_of_run, run_dir_of

HELP = "convert a TF checkpoint to safetensors, or a run directory / safetensors file to a TF checkpoint"


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "convert",
        HELP,
        ".",
        examples=(
            "rnnkit convert tf_run/model.ckpt-1000 weights.safetensors   # names kept (TF names)",
            "rnnkit convert runs/s0 export/model.ckpt --to tf           # the run's model under the seed",
            "                                                           # program's TF names; Saver.restore reads it",
            "rnnkit convert weights.safetensors back/model.ckpt --to tf  # names kept",
            "rnnkit convert runs/s0 s0.safetensors --to safetensors      # the run's weights by TF name",
        ),
        epilog="--to defaults to safetensors for a TF checkpoint (and for a run directory when OUT ends\n"
        "with .safetensors), else to tf. A TF output OUT is a prefix (OUT.index,\n"
        "OUT.data-00000-of-00001, and a 'checkpoint' state file next to them); an existing\n"
        "directory, or OUT ending in /, means OUT/model.ckpt.\n"
        "\nExisting files are not replaced unless --force (a TF 'checkpoint' state file is updated, as\n"
        "tf.train.Saver does); a run directory's own checkpoint.safetensors is never replaced.",
    )
    p.add_argument(
        "path", metavar="PATH", help="TF checkpoint, .safetensors file, or run directory"
    )
    p.add_argument(
        "out", metavar="OUT", help="OUT.safetensors, or a TF checkpoint prefix with --to tf"
    )
    p.add_argument("--to", choices=["safetensors", "tf"], help="output format (default: see below)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace existing output files (never a run's own checkpoint.safetensors)",
    )
    p.set_defaults(func=run)


def _tf_prefix(out: str) -> str:
    if out.endswith(".safetensors"):
        raise UsageError(f"--to tf writes a TF checkpoint prefix, got {out!r}; drop .safetensors")
    if os.path.isdir(out) or out.endswith(("/", os.sep)):
        return os.path.join(out, "model.ckpt")
    return out


def _check_safetensors_out(out: str) -> None:
    if not out.endswith(".safetensors"):
        raise UsageError(
            f"OUT must end with .safetensors for --to safetensors, got {out!r} (for a TF checkpoint use --to tf)"
        )


def _writable(targets: list[str], force: bool) -> None:
    """Refuse to write over an existing file unless ``force``, and over a run's ``checkpoint.safetensors`` ever.

    ``convert`` cannot tell a file it wrote from a user's, so any existing target counts. A TF ``checkpoint``
    state file is updated rather than replaced (the new prefix joins its list, as ``Saver.save`` does), so only a
    file of that name that is not a state file is refused.
    """
    from ..tf_checkpoint._paths import STATE_FILE, read_state_file
    from ..tf_checkpoint.errors import CheckpointError
    from ..train import rundir as rd

    for target in targets:
        p = Path(target)
        if p.name == rd.CHECKPOINT and (p.parent / rd.CONFIG).is_file():
            raise UsageError(
                f"{target} is the checkpoint of the run in {p.parent}; convert never replaces it (write "
                "another OUT)"
            )
        if force or not (p.exists() or p.is_symlink()):
            continue
        if p.name == STATE_FILE and p.is_file():
            try:
                if read_state_file(target) != (None, []):
                    continue  # a TF state file: the new prefix is added to it
            except CheckpointError:
                pass
        raise UsageError(f"{target} exists; not replaced (add --force to replace it)")


def _tf_targets(prefix: str) -> list[str]:
    from ..tf_checkpoint._paths import STATE_FILE, data_path

    state = os.path.join(os.path.dirname(os.path.abspath(prefix)), STATE_FILE)
    return [prefix + ".index", data_path(prefix, 0, 1), state]


def run(args: argparse.Namespace) -> int:
    from ..tf_checkpoint import convert
    from ..tf_checkpoint.loading import save_tf_checkpoint

    kind = kind_of(args.path)
    to = args.to or (
        "safetensors" if kind == TF or (kind == RUN and args.out.endswith(".safetensors")) else "tf"
    )
    if kind == TF:
        if to == "tf":
            raise UsageError(
                f"{args.path} is read as a TF checkpoint already; --to tf converts a run directory or a "
                ".safetensors file"
            )
        _check_safetensors_out(args.out)
        _writable([args.out], args.force)
        written = convert.checkpoint_to_safetensors(args.path, args.out)
        print(f"wrote {args.out}: {len(written)} tensors (TF names)")
    elif kind == SAFETENSORS:
        if to == "safetensors":
            raise UsageError(f"{args.path} is a safetensors file already; use --to tf")
        prefix = _tf_prefix(args.out)
        _writable(_tf_targets(prefix), args.force)
        names = convert.safetensors_to_checkpoint(args.path, prefix)
        print(f"wrote TF checkpoint {prefix}: {len(names)} tensors")
    else:
        assert kind == RUN
        model, cfg, step = model_of_run(run_dir_of(args.path))
        what = f"{cfg['task']} run (preset {cfg['preset']}, step {step})"
        if to == "tf":
            prefix = _tf_prefix(args.out)
            _writable(_tf_targets(prefix), args.force)
            save_tf_checkpoint(model, prefix, scope=None)
            n = len(model.tf_variables())
            print(f"wrote TF checkpoint {prefix}: {n} tensors of the {what} under their TF names")
        else:
            _check_safetensors_out(args.out)
            _writable([args.out], args.force)
            from safetensors.numpy import save_file

            values = {name: p.detach().cpu().numpy() for name, p in model.tf_variables().items()}
            ensure_parent(args.out)
            save_file(values, args.out, metadata={"format": "rnnkit_tf_names"})
            print(f"wrote {args.out}: {len(values)} tensors of the {what} by TF name")
    return 0
