"""MNIST in its original IDX format: reader, search order, SHA-256 checks and download.

Search order (docs/tasks.md), first hit wins:

1. ``data_dir`` given by the caller (``--data-dir``): used alone, any IDX dataset with 28x28 images
   and labels 0..9 is accepted;
2. ``$RNNKIT_DATA`` (the directory itself, or its ``mnist/`` sub-directory);
3. the checkout's ``data/mnist/`` (a fresh clone trains offline);
4. the user cache ``$XDG_CACHE_HOME/rnnkit/mnist`` (default ``~/.cache/rnnkit/mnist``);
5. else the four files are downloaded into the user cache, and the SHA-256 of each file's
   *decompressed* content is checked (gzip headers differ between mirrors, the content does not).

A directory holding ``SHA256SUMS.raw`` has its files checked against it; the checkout and the cache
are always checked against the canonical sums below.

Shapes: images ``uint8 [N, 28, 28]``, labels ``int64 [N]``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# SHA-256 of the decompressed files (see data/mnist/README.md for provenance).
SHA256_RAW = {
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

_HINT = (
    "pass --data-dir DIR (a directory holding the four IDX .gz files), set $RNNKIT_DATA, "
    "or delete the file so that it is downloaded again"
)


class MnistError(Exception):
    """Base class of the data errors; the message names the file and what to do."""


class MnistNotFoundError(MnistError, FileNotFoundError):
    """A required IDX file is missing and could not be downloaded."""


class MnistCorruptError(MnistError, ValueError):
    """An IDX file is unreadable, malformed, or fails its SHA-256 check."""


@dataclass(frozen=True)
class Mnist:
    """The four arrays plus the directory they were read from."""

    train_images: np.ndarray  # uint8 [N, 28, 28]
    train_labels: np.ndarray  # int64 [N]
    test_images: np.ndarray  # uint8 [M, 28, 28]
    test_labels: np.ndarray  # int64 [M]
    source: Path


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse decompressed IDX bytes (unsigned-byte data only) into a uint8 array.

    Layout: two zero bytes, a type code (0x08 = ubyte), the rank r, r big-endian int32 dims, data.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise MnistCorruptError(
            f"load_mnist: {name} is not an IDX file (bad magic number); {_HINT}"
        )
    if raw[2] != 0x08:
        raise MnistCorruptError(
            f"load_mnist: {name}: expected IDX type 0x08 (unsigned byte), got 0x{raw[2]:02x}"
        )
    rank = raw[3]
    if rank == 0:  # a scalar: no array of examples
        raise MnistCorruptError(
            f"load_mnist: {name}: expected an IDX array of rank >= 1, got rank 0"
        )
    header = 4 + 4 * rank
    if len(raw) < header:
        raise MnistCorruptError(f"load_mnist: {name} is truncated (header); {_HINT}")
    dims = struct.unpack(f">{rank}I", raw[4:header])
    expected = int(np.prod(dims, dtype=np.int64)) if rank else 0
    if len(raw) - header != expected:
        raise MnistCorruptError(
            f"load_mnist: {name}: expected {expected} data bytes for shape {tuple(dims)}, "
            f"got {len(raw) - header}; {_HINT}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_idx_gz(path: Path, sha256: str | None = None) -> np.ndarray:
    """Read one gzipped IDX file, optionally checking the SHA-256 of its decompressed bytes."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise MnistNotFoundError(f"load_mnist: missing file {path}; {_HINT}") from None
    except (OSError, EOFError) as e:
        raise MnistCorruptError(f"load_mnist: cannot decompress {path} ({e}); {_HINT}") from None
    if sha256 is not None:
        got = hashlib.sha256(raw).hexdigest()
        if got != sha256:
            raise MnistCorruptError(
                f"load_mnist: {path} fails its SHA-256 check (expected {sha256[:12]}..., "
                f"got {got[:12]}...); {_HINT}"
            )
    return parse_idx(raw, str(path))


def _read_sums(directory: Path) -> dict[str, str] | None:
    sums = directory / "SHA256SUMS.raw"
    if not sums.is_file():
        return None
    try:
        text = sums.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise MnistCorruptError(
            f"load_mnist: {sums}: expected UTF-8 text ('<sha256>  <file name>' per line), got a byte "
            f"0x{e.object[e.start]:02x} at offset {e.start}; fix or delete it"
        ) from None
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[1]] = parts[0]
    return out


def checkout_dir() -> Path:
    """The ``data/mnist`` directory of the source checkout this module lives in."""
    return Path(__file__).resolve().parents[3] / "data" / "mnist"


def cache_dir() -> Path:
    """The per-user cache: ``$XDG_CACHE_HOME/rnnkit/mnist`` (default ``~/.cache/rnnkit/mnist``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rnnkit" / "mnist"


def _complete(directory: Path) -> bool:
    return all((directory / f).is_file() for f in FILES.values())


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The directories searched, in order, with the reason each is on the list."""
    if data_dir is not None:
        return [("--data-dir", Path(data_dir))]
    out = []
    env = os.environ.get("RNNKIT_DATA")
    if env:
        out += [("$RNNKIT_DATA", Path(env)), ("$RNNKIT_DATA", Path(env) / "mnist")]
    out += [("checkout", checkout_dir()), ("cache", cache_dir())]
    return out


def find_mnist(data_dir: str | os.PathLike | None = None) -> tuple[str, Path] | None:
    """The first directory of the search order that holds all four files, or None."""
    for why, d in candidate_dirs(data_dir):
        if _complete(d):
            return why, d
    return None


def download_mnist(target: Path, mirrors: tuple[str, ...] = MIRRORS) -> Path:
    """Download the four files into ``target``, each checked before it is moved into place."""
    target.mkdir(parents=True, exist_ok=True)
    for fname in FILES.values():
        dest = target / fname
        if dest.is_file():
            continue
        errors = []
        for mirror in mirrors:
            fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{fname}.", suffix=".part")
            try:
                with (
                    os.fdopen(fd, "wb") as out,
                    urllib.request.urlopen(mirror + fname, timeout=60) as r,
                ):
                    shutil.copyfileobj(r, out)
                read_idx_gz(Path(tmp), SHA256_RAW[fname[:-3]])
                os.replace(tmp, dest)
                break
            except (OSError, MnistError) as e:
                errors.append(f"{mirror}: {e}")
                Path(tmp).unlink(missing_ok=True)
        else:
            raise MnistNotFoundError(
                f"load_mnist: could not download {fname} ({'; '.join(errors)}); "
                f"copy the four MNIST IDX .gz files into {target} or pass --data-dir DIR"
            )
    return target


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    mirrors: tuple[str, ...] = MIRRORS,
) -> Mnist:
    """Find (or download) MNIST and read it; see the module docstring for the search order."""
    found = find_mnist(data_dir)
    if found is None:
        if data_dir is not None:
            missing = [f for f in FILES.values() if not (Path(data_dir) / f).is_file()]
            raise MnistNotFoundError(
                f"load_mnist: missing file {Path(data_dir) / missing[0]} in --data-dir; the directory "
                f"must hold {', '.join(FILES.values())}"
            )
        if not download:
            searched = ", ".join(str(d) for _, d in candidate_dirs(None))
            raise MnistNotFoundError(f"load_mnist: MNIST not found in {searched}; {_HINT}")
        found = ("download", download_mnist(cache_dir(), mirrors))
    why, d = found
    sums = _read_sums(d)
    if sums is None and why in ("checkout", "cache", "download"):
        sums = SHA256_RAW
    arrays = {}
    for key, fname in FILES.items():
        sha = None if sums is None else sums.get(fname[:-3])
        arrays[key] = read_idx_gz(d / fname, sha)
    return _validate(arrays, d)


def _validate(a: dict[str, np.ndarray], d: Path) -> Mnist:
    for split in ("train", "test"):
        img, lab = a[f"{split}_images"], a[f"{split}_labels"]
        name = d / FILES[f"{split}_images"]
        if img.ndim != 3 or img.shape[1:] != (28, 28):
            raise MnistCorruptError(
                f"load_mnist: {name}: expected images of shape [N, 28, 28], got {img.shape}"
            )
        if img.shape[0] == 0:
            raise MnistCorruptError(f"load_mnist: {name}: expected at least one image, got 0")
        if lab.ndim != 1 or lab.shape[0] != img.shape[0]:
            raise MnistCorruptError(
                f"load_mnist: {d / FILES[f'{split}_labels']}: expected {img.shape[0]} labels, "
                f"got shape {lab.shape}"
            )
        if lab.size and lab.max() > 9:
            raise MnistCorruptError(
                f"load_mnist: {d / FILES[f'{split}_labels']}: expected labels 0..9, got {lab.max()}"
            )
    return Mnist(
        a["train_images"],
        a["train_labels"].astype(np.int64),
        a["test_images"],
        a["test_labels"].astype(np.int64),
        d,
    )
