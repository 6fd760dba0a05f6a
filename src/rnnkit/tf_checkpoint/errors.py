"""The one exception of the TF-checkpoint package."""

from __future__ import annotations

__all__ = ["CheckpointError"]


class CheckpointError(ValueError):
    """A TF checkpoint is missing, malformed, corrupted or uses a feature rnnkit cannot read.

    The message names the file and what is wrong with it, e.g.
    ``CheckpointError("model.ckpt.index: block checksum mismatch at offset 0")``.
    ``path`` holds the file (or prefix) concerned, ``None`` when there is none.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


class _Malformed(Exception):
    """Raised by the byte-level decoders; the reader turns it into a CheckpointError with a file name."""
