"""Checkpoints as safetensors files, written atomically, never pickled.

One file holds everything needed to continue a run bit for bit:

=====================  ==========================================================================
tensor key             content
=====================  ==========================================================================
``model/<name>``       ``model.state_dict()``
``optim/<i>/<key>``    the optimizer's per-parameter tensor state (Adam: ``exp_avg``, ``step`` ...)
``rng/torch``          ``torch.get_rng_state()``; ``rng/cuda/<d>`` per CUDA device
``rng/numpy``          NumPy's legacy global MT19937 key (its position etc. are in the JSON)
``extra/<name>``       caller's tensors (e.g. the carried RNN state of a stateful task)
=====================  ==========================================================================

The safetensors metadata holds ``format``, ``step`` and ``json``: a JSON document with the optimizer's
``param_groups`` and non-tensor state, Python's ``random`` state, the NumPy position, and the
caller's JSON-able ``meta`` (loop counters, timers); and ``sha256``, a digest of all of the above and of every
tensor's name, dtype, shape and bytes. safetensors itself has no checksum, so without it a flipped bit in the
tensor data would load silently; ``Checkpoint`` refuses a file whose digest does not match (files written before
the digest existed load unchecked).

NOTE [checkpoint faults]: the file is replaced atomically (``atomic_write_bytes``), so a crash or SIGKILL while
writing leaves the previous checkpoint in place (a stale ``.checkpoint.safetensors.PID.*.tmp`` of a process that
no longer runs is removed by the next save; a live writer's temp file is left alone); a failed write (disk full, no permission) raises an ``OSError`` naming the file and keeps the previous
one; a damaged file raises :class:`CheckpointFileError` naming it. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

FORMAT = "rnnkit-checkpoint-1"


class CheckpointFileError(ValueError):
    """A checkpoint file that cannot be read or trusted (truncated, damaged, not a checkpoint); names the file."""


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (``os.umask`` sets while it reads)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _file_mode(path: Path) -> int:
    """The permissions a rewritten ``path`` gets: those it has, else what ``open`` would give (0666 & ~umask).

    ``mkstemp`` creates its files 0600; without this, config.json and checkpoints would be private while
    ``metrics.jsonl`` (plain ``open``) is not.
    """
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a torn one.

    Temp file in the same directory (same filesystem, so ``os.replace`` is atomic; its name carries this
    process's id, see :func:`save_checkpoint`), fsync, replace, then fsync the directory so that the rename itself
    survives a crash. The file keeps its permissions, or gets the umask's when new. A failed write (disk full, no
    permission) raises ``OSError`` naming ``path`` and leaves the previous file as it was.
    """
    path = Path(path)
    tmp = None
    try:
        mode = _file_mode(path)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
        )
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            reason = e.strerror or str(e)
            raise OSError(
                e.errno,
                f"cannot write {path}: {reason}; the previous version of the file, if any, is kept",
            ) from e
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # e.g. platforms without directory fds
        return
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu").contiguous().clone()


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every global RNG the training may draw from: torch (CPU, CUDA), NumPy, Python."""
    tensors = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    # The legacy tuple form (get_state's default); its stub is a union with the dict form.
    kind, key, pos, has_gauss, gauss = cast(
        "tuple[str, np.ndarray, int, int, float]", np.random.get_state()
    )
    tensors["rng/numpy"] = torch.from_numpy(key.astype(np.int64))
    version, pystate, pygauss = random.getstate()
    meta = {
        "numpy": [kind, int(pos), int(has_gauss), float(gauss)],
        "python": [version, list(pystate), pygauss],
    }
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng/torch"])
    cuda = sorted(k for k in tensors if k.startswith("rng/cuda/"))
    if cuda and torch.cuda.is_available():
        for k in cuda[: torch.cuda.device_count()]:
            torch.cuda.set_rng_state(tensors[k], int(k.rsplit("/", 1)[1]))
    kind, pos, has_gauss, gauss = meta["numpy"]
    np.random.set_state(  # noqa: NPY002
        (kind, tensors["rng/numpy"].numpy().astype(np.uint32), pos, has_gauss, gauss)
    )
    version, pystate, pygauss = meta["python"]
    random.setstate((version, tuple(pystate), pygauss))


def _optimizer_state(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for k, v in state.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim/{idx}/{k}"] = _cpu(v)
            else:
                scalars.setdefault(str(idx), {})[k] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _load_optimizer(opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        if key.startswith("optim/"):
            _, idx, k = key.split("/", 2)
            state.setdefault(int(idx), {})[k] = v
    for idx, kv in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(kv)
    # JSON turned tuples (Adam's betas) into lists; give them back their type.
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
        for g in meta["param_groups"]
    ]
    opt.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(
    path: str | os.PathLike,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    step: int,
    extra: dict[str, torch.Tensor] | None = None,
    meta: dict[str, Any] | None = None,
) -> None:
    """Write model + optimizer + RNG states + ``step`` (+ ``extra`` tensors, ``meta`` JSON) atomically."""
    tensors = {f"model/{k}": _cpu(v) for k, v in model.state_dict().items()}
    doc: dict[str, Any] = {"meta": meta or {}}
    if optimizer is not None:
        t, doc["optimizer"] = _optimizer_state(optimizer)
        tensors.update(t)
    t, doc["rng"] = rng_state()
    tensors.update({k: _cpu(v) for k, v in t.items()})
    tensors.update({f"extra/{k}": _cpu(v) for k, v in (extra or {}).items()})
    header = {"format": FORMAT, "step": str(int(step)), "json": json.dumps(doc)}
    header["sha256"] = _digest(tensors, header)
    path = Path(path)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        if not _writer_alive(stale.name[len(path.name) + 2 :]):  # left by a writer that was killed
            stale.unlink(missing_ok=True)
    atomic_write_bytes(path, _safetensors().torch.save(tensors, metadata=header))


def _safetensors() -> Any:
    """The safetensors package, imported when a checkpoint is written or read rather than with this module: a
    core install (torch + numpy) has no safetensors, and importing rnnkit.train (so the ``rnnkit`` command)
    must work there."""
    try:
        import safetensors.torch
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            f"rnnkit checkpoints need the safetensors package: pip install 'rnnkit[tasks]' ({e})",
            name=e.name,
        ) from None
    return safetensors


def _writer_alive(tail: str) -> bool:
    """Whether the process that named a temp file ``.NAME.<tail>`` (``<pid>.<random>.tmp``) still runs."""
    pid = tail.split(".", 1)[0]
    if not pid.isdigit():
        return False  # written before temp names carried the pid
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours to signal
        return True
    return True


def _digest(tensors: dict[str, torch.Tensor], header: dict[str, str]) -> str:
    """SHA-256 of the metadata (but the digest) and of every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    for key in sorted(k for k in header if k != "sha256"):
        h.update(f"{key}={header[key]}\0".encode())
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class Checkpoint:
    """A checkpoint read back: ``step``, ``meta``, ``extra`` tensors; ``restore`` puts the rest back."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        # Outside the try: a missing package is not a damaged file.
        safe_open = _safetensors().safe_open
        try:
            with safe_open(str(self.path), framework="pt") as f:
                header = f.metadata() or {}
                self.tensors = {k: f.get_tensor(k) for k in f.keys()}
        except FileNotFoundError:
            raise
        except Exception as e:
            raise CheckpointFileError(f"Checkpoint: cannot read {self.path} ({e})") from None
        if header.get("format") != FORMAT:
            raise CheckpointFileError(
                f"Checkpoint: expected format {FORMAT!r} in {self.path}, got {header.get('format')!r}"
            )
        if "sha256" in header and header["sha256"] != _digest(self.tensors, header):
            raise CheckpointFileError(
                f"Checkpoint: cannot read {self.path} (its contents do not match their SHA-256: the file is "
                "damaged)"
            )
        try:
            self.step = int(header["step"])
            self._doc = json.loads(header["json"])
            self.meta: dict[str, Any] = self._doc["meta"]
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointFileError(
                f"Checkpoint: cannot read {self.path} (bad header: {type(e).__name__} {e})"
            ) from None
        self.extra = _Extra(
            self.path, {k[6:]: v for k, v in self.tensors.items() if k.startswith("extra/")}
        )

    def model_state(self) -> dict[str, torch.Tensor]:
        return {k[6:]: v for k, v in self.tensors.items() if k.startswith("model/")}

    def restore(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        rng: bool = True,
    ) -> None:
        try:
            model.load_state_dict(self.model_state())
        except (
            RuntimeError
        ) as e:  # torch lists every missing/unexpected/mis-shaped key: keep the first
            first = next((line.strip() for line in str(e).splitlines()[1:] if line.strip()), str(e))
            raise CheckpointFileError(
                f"Checkpoint: {self.path} does not fit {type(model).__name__} (was the run's config.json "
                f"edited?): {first}"
            ) from None
        if optimizer is not None:
            self._check_optimizer(optimizer)
            try:
                _load_optimizer(optimizer, self.tensors, self._doc["optimizer"])
            except (KeyError, TypeError, ValueError) as e:
                raise CheckpointFileError(
                    f"Checkpoint: {self.path} has a damaged optimizer state ({type(e).__name__} {e})"
                ) from None
        if rng:
            missing = [k for k in ("rng/torch", "rng/numpy") if k not in self.tensors]
            if missing or not isinstance(self._doc.get("rng"), dict):
                raise CheckpointFileError(
                    f"Checkpoint: {self.path} has no random-number state ({missing[0] if missing else 'rng'} "
                    "missing); a run cannot continue exactly from it"
                )
            try:
                set_rng_state(self.tensors, self._doc["rng"])
            except (KeyError, TypeError, ValueError, RuntimeError) as e:
                raise CheckpointFileError(
                    f"Checkpoint: {self.path} has a damaged random-number state ({type(e).__name__} {e})"
                ) from None

    def _check_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """The saved optimizer state fits ``optimizer``'s parameters: one entry per parameter, and every
        non-scalar state tensor (Adam's moments) of its parameter's shape; checked before torch loads it."""
        doc = self._doc.get("optimizer")
        if not isinstance(doc, dict) or not isinstance(doc.get("param_groups"), list):
            raise CheckpointFileError(
                f"Checkpoint: {self.path} holds no optimizer state; a run cannot continue from it"
            )
        params = [p for g in optimizer.param_groups for p in g["params"]]
        saved = sum(len(g.get("params", ())) for g in doc["param_groups"] if isinstance(g, dict))
        if saved != len(params):
            raise CheckpointFileError(
                f"Checkpoint: {self.path} holds optimizer state for {saved} parameters, the model has "
                f"{len(params)} (was the run's config.json edited?)"
            )
        for key, v in self.tensors.items():
            if not key.startswith("optim/"):
                continue
            idx = key.split("/")[1]
            if not (idx.isascii() and idx.isdigit() and int(idx) < len(params)):
                raise CheckpointFileError(
                    f"Checkpoint: {self.path} has optimizer state {key} for no parameter of the model"
                )
            shape = tuple(params[int(idx)].shape)
            if v.dim() > 0 and tuple(v.shape) != shape:
                raise CheckpointFileError(
                    f"Checkpoint: {self.path} does not fit the optimizer: {key} has shape "
                    f"{list(v.shape)}, its parameter {list(shape)}"
                )


class _Extra(dict):
    """The caller's tensors of a checkpoint; a missing one raises :class:`CheckpointFileError` naming the file."""

    def __init__(self, path: Path, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__(tensors)
        self.path = path

    def __missing__(self, key: str) -> torch.Tensor:
        raise CheckpointFileError(
            f"Checkpoint: {self.path} has no tensor extra/{key}, which this run needs to continue"
        )
