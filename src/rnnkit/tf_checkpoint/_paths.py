"""Where a checkpoint is: a prefix, its ``.index`` file, a data shard, or a directory with a state file.

The state file (``DIR/checkpoint``, written by ``tf.train.Saver``) is a text protobuf::

    model_checkpoint_path: "model.ckpt-100"
    all_model_checkpoint_paths: "model.ckpt-50"
    all_model_checkpoint_paths: "model.ckpt-100"

Relative paths in it are relative to DIR.
"""

from __future__ import annotations

import codecs
import os
import re

from .errors import CheckpointError

STATE_FILE = "checkpoint"
_FIELD = r'^\s*{}\s*:\s*"((?:[^"\\]|\\.)*)"\s*$'
_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}$")


def data_path(prefix: str, shard: int, num_shards: int) -> str:
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def _unescape(text: str, state: str) -> str:
    try:
        return codecs.escape_decode(text.encode("utf-8"))[0].decode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise CheckpointError(f"bad escape in a path ({exc})", state) from None


def read_state_file(state: str) -> tuple[str | None, list[str]]:
    """``(model_checkpoint_path, all_model_checkpoint_paths)`` of a state file, as written."""
    try:
        with open(state, "rb") as fh:
            text = fh.read().decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError("state file is not UTF-8 text", state) from None
    except OSError as exc:
        raise CheckpointError(f"cannot read state file ({exc.strerror})", state) from None
    latest = re.findall(_FIELD.format("model_checkpoint_path"), text, flags=re.MULTILINE)
    every = re.findall(_FIELD.format("all_model_checkpoint_paths"), text, flags=re.MULTILINE)
    return (
        _unescape(latest[-1], state) if latest else None,
        [_unescape(p, state) for p in every],
    )


def write_state_file(prefix: str) -> None:
    """Point the state file next to ``prefix`` at it (by base name, as ``tf.train.Saver`` does)."""
    directory, rel = os.path.split(os.path.abspath(prefix))
    state = os.path.join(directory, STATE_FILE)
    paths: list[str] = []
    if os.path.isfile(state):
        try:
            paths = read_state_file(state)[1]
        except CheckpointError:
            paths = []  # an unreadable old state file is replaced, as Saver does
    paths = [p for p in paths if p != rel] + [rel]

    def quote(p: str) -> str:
        return '"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"model_checkpoint_path: {quote(rel)}"]
    lines += [f"all_model_checkpoint_paths: {quote(p)}" for p in paths]
    tmp = state + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, state)


def resolve_prefix(path: str | os.PathLike[str]) -> str:
    """The checkpoint prefix ``path`` designates; raises CheckpointError when there is none."""
    path = os.fspath(path)
    if os.path.isdir(path):
        state = os.path.join(path, STATE_FILE)
        if not os.path.isfile(state):
            raise CheckpointError(
                "directory has no 'checkpoint' state file; pass the checkpoint prefix "
                "(PREFIX of PREFIX.index) instead",
                path,
            )
        latest, _ = read_state_file(state)
        if not latest:
            raise CheckpointError("state file names no model_checkpoint_path", state)
        prefix = latest if os.path.isabs(latest) else os.path.join(path, latest)
        if not os.path.isfile(prefix + ".index"):
            raise CheckpointError(
                f"state file points to {latest!r}, but {prefix}.index does not exist", state
            )
        return prefix
    if path.endswith(".index"):
        prefix = path[: -len(".index")]
    elif _DATA_SUFFIX.search(path):
        prefix = _DATA_SUFFIX.sub("", path)
    else:
        prefix = path
    if not os.path.isfile(prefix + ".index"):
        if os.path.isfile(prefix):
            raise CheckpointError(
                "not a V2 checkpoint (no .index file next to it); V1 checkpoints are not supported",
                prefix,
            )
        raise CheckpointError(f"no checkpoint found (missing {prefix}.index)", path)
    return prefix
