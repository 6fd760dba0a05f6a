"""The native loops of the sequence kernels (GRU, the LSTM family, contrib's cells): built once per machine, loaded
with ctypes.

``native/sequences.c`` and its per-type headers hold the loops (forward and backward, float32 and float64). On first use
``library()`` compiles it with the system C compiler (``$CC``, else ``cc``; about 12 s) into a cache folder
(``$RNNKIT_NATIVE_CACHE``, else ``$XDG_CACHE_HOME/rnnkit/native``, else ``~/.cache/rnnkit/native``) under a name
that hashes the sources, the flags and the CPU, so an edit or another machine gets its own build; the file is
written to a temporary name and renamed, so processes starting together (torchrun) never load half a file.

The products run in the BLAS torch itself links (its exported ``sgemm_`` / ``dgemm_``), which the loader checks
against ``torch.mm`` before use. When anything is missing (no compiler, no exported BLAS, ``RNNKIT_NATIVE=0``)
``library()`` returns None with the reason, the unrolls keep their step loop, and ``rk.fused.explain`` says why;
a compiler that is present but fails warns once (that is a bug to report, not a machine to accept).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sysconfig
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "library",
    "unavailable_reason",
    "sequence_dims",
    "check_shapes",
    "call",
    "ptr",
    "out_grad",
    "rows_view",
    "row_strides",
    "weight_grad_chunk",
    "state_grad",
    "NativeLibrary",
]

_SOURCE_DIR = Path(__file__).with_name("native")
# Every C file of the folder goes into the library's hash: a header edited or added means a new build.
_SOURCES = tuple(sorted(p.name for p in _SOURCE_DIR.iterdir() if p.suffix in (".c", ".h")))
_ABI = 22
_FLAGS = ["-O3", "-shared", "-fPIC", "-fno-math-errno", "-fno-trapping-math", "-std=c99"]
_lock = threading.Lock()
_state: dict[str, object] = {}


class NativeLibrary:
    """The loaded library: ``fn(name, dtype)`` is the ctypes function ``name_f32`` / ``name_f64``."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib

    def fn(self, name: str, dtype: torch.dtype) -> Any:
        return getattr(self._lib, f"{name}_{'f32' if dtype == torch.float32 else 'f64'}")


def _cpu_key() -> str:
    """What a ``-march=native`` build depends on: the machine and its CPU's feature flags."""
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = line
                break
    except OSError:
        pass
    return f"{platform.machine()}|{flags}"


def _cache_dir() -> Path:
    if os.environ.get("RNNKIT_NATIVE_CACHE"):
        return Path(os.environ["RNNKIT_NATIVE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rnnkit" / "native"


def _compiler() -> str | None:
    configured = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    for name in (configured, "cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _build(cc: str, flags: list[str]) -> Path:
    """The cached library for these flags, compiled when missing (atomic rename into the cache folder; a cache
    folder that cannot be written, such as a read-only home, falls back to the system's temporary folder)."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((_SOURCE_DIR / name).read_bytes())
    digest.update(" ".join([cc, *flags, _cpu_key(), str(_ABI)]).encode())
    name = f"rnnkit_sequences_{digest.hexdigest()[:16]}.so"
    fallback = (
        Path(tempfile.gettempdir()) / f"rnnkit-native-{os.getuid() if hasattr(os, 'getuid') else 0}"
    )
    for folder in (_cache_dir(), fallback):
        if (folder / name).exists():
            return folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".so.tmp")
        except OSError:
            continue
        os.close(fd)
        try:
            cmd = [cc, *flags, "-o", tmp, str(_SOURCE_DIR / "sequences.c"), "-lm"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
            os.replace(tmp, folder / name)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return folder / name
    raise OSError(f"neither {_cache_dir()} nor {fallback} can be written")


def _torch_blas() -> tuple[int, int] | str:
    """The addresses of torch's ``sgemm_`` and ``dgemm_``, or why there are none."""
    lib_dir = Path(torch.__file__).parent / "lib"
    candidates = sorted(lib_dir.glob("libtorch_cpu.*"))
    if not candidates:
        return f"torch's CPU library is not in {lib_dir}"
    try:
        torch_cpu = ctypes.CDLL(str(candidates[0]))
        return (
            ctypes.cast(torch_cpu.sgemm_, ctypes.c_void_p).value or 0,
            ctypes.cast(torch_cpu.dgemm_, ctypes.c_void_p).value or 0,
        )
    except (OSError, AttributeError) as exc:
        return f"torch exports no Fortran BLAS (sgemm_/dgemm_) here ({exc})"


def _torch_omp() -> tuple[int, int, int]:
    """The addresses of ``GOMP_parallel``, ``omp_get_thread_num`` and ``omp_get_num_threads`` among the process's
    global symbols: torch's own OpenMP runtime on its Linux wheels, which loads it globally (all 0 where there are
    none: the re-layout then runs on one thread; a pure copy computes the same on any runtime)."""
    try:
        process = ctypes.CDLL(None)
        names = ("GOMP_parallel", "omp_get_thread_num", "omp_get_num_threads")
        return tuple(ctypes.cast(getattr(process, n), ctypes.c_void_p).value or 0 for n in names)  # type: ignore[return-value]
    except (OSError, AttributeError, TypeError):
        return 0, 0, 0


def _declare(lib: ctypes.CDLL) -> None:
    i, i64, p = ctypes.c_int, ctypes.c_int64, ctypes.c_void_p
    r32, r64 = ctypes.c_float, ctypes.c_double
    for suffix, real in (("f32", r32), ("f64", r64)):
        signatures = {
            "rnnkit_mm": [i, i, i, p, p, p],
            "gru_forward": [i, i, i, i, i, p, i64, i64, *[p] * 10],
            "gru_backward": [i, i, i, i, i, *[p] * 7, i64, i64, *[p] * 7, i, p, p],
            "lstm_forward": [i, i, i, i, i, p, i64, i64, p, p, p, p, real, *[p] * 6],
            "lstm_backward": [i, i, i, i, i, p, p, real, *[p] * 6, i64, i64, *[p] * 6, i, p, p],
            "indrnn_forward": [i, i, i, p, p, p, i, p, p, p],
            "indrnn_backward": [i, i, i, p, i, *[p] * 7],
            "indy_gru_forward": [i, i, i, *[p] * 11],
            "indy_gru_backward": [i, i, i, *[p] * 14],
            "indy_lstm_forward": [i, i, i, p, p, p, real, *[p] * 6],
            "indy_lstm_backward": [i, i, i, *[p] * 12],
            "sru_forward": [i, i, i, *[p] * 6],
            "sru_backward": [i, i, i, *[p] * 8],
            "ugrnn_forward": [i, i, i, i, i, p, p, p, real, p, p, p],
            "ugrnn_backward": [i, i, i, i, i, *[p] * 9],
            "nas_forward": [i, i, i, i, *[p] * 10],
            "nas_backward": [i, i, i, i, *[p] * 16],
            "inter_forward": [i, i, i, p, p, p, real, i, p, p, p, p],
            "inter_backward": [i, i, i, p, p, p, p, p, i, p, p, p, p, p],
            "phased_forward": [i, i, i, i, i, *[p] * 7, real, *[p] * 6],
            "phased_backward": [i, i, i, i, i, *[p] * 5, real, *[p] * 18],
            "glstm_forward": [*[i] * 8, real, *[p] * 11],
            "glstm_backward": [*[i] * 7, *[p] * 12],
            "cifg_forward": [i, i, i, i, i, i, *[p] * 5, real, real, *[p] * 7],
            "cifg_backward": [i, i, i, i, p, p, p, real, *[p] * 13],
            "lnlstm_forward": [i, i, i, *[p] * 7, real, real, real, *[p] * 11],
            "lnlstm_backward": [i, i, i, p, p, p, p, real, *[p] * 19],
            "conv_lstm_step": [i, i, i, i, p, p, p, p, p, p, i, p, p, p],
            "conv_lstm_step_backward": [i, i, i, i, *[p] * 7],
            "lstm_to_torch": [i64, i64, i64, *[p] * 6, i],
            "lstm_grad_to_tf": [i64, i64, i64, *[p] * 5, i],
        }
        for name, argtypes in signatures.items():
            fn = getattr(lib, f"{name}_{suffix}")
            fn.argtypes, fn.restype = argtypes, None


def _check_blas(native: NativeLibrary) -> str | None:
    """None when the library's products equal ``torch.mm`` (right symbol, right integer width), else why not."""
    gen = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        a = torch.randn(5, 7, generator=gen, dtype=dtype)
        b = torch.randn(7, 3, generator=gen, dtype=dtype)
        out = torch.empty(5, 3, dtype=dtype)
        native.fn("rnnkit_mm", dtype)(5, 3, 7, a.data_ptr(), b.data_ptr(), out.data_ptr())
        if not torch.allclose(out, a @ b, rtol=1e-5, atol=1e-5):
            return f"torch's exported BLAS does not answer as torch.mm ({dtype})"
    return None


def _load() -> tuple[NativeLibrary | None, str]:
    if os.environ.get("RNNKIT_NATIVE", "1").strip() in ("0", "false", "no", "off"):
        return None, "RNNKIT_NATIVE=0 turns the native loops off"
    cc = _compiler()
    if cc is None:
        return None, "no C compiler found ($CC, cc, gcc, clang) to build the native loops"
    blas = _torch_blas()
    if isinstance(blas, str):
        return None, blas
    errors = []
    for flags in (_FLAGS + ["-march=native"], _FLAGS):  # -march=native where the compiler takes it
        try:
            lib = ctypes.CDLL(str(_build(cc, flags)))
            break
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            errors.append(str(exc))
    else:
        warnings.warn(
            f"rnnkit.kernels.native: building the native loops failed, the step loop runs instead:\n"
            f"{errors[-1]}",
            RuntimeWarning,
            stacklevel=3,
        )
        return None, f"building the native loops with {cc} failed (see the warning)"
    if lib.rnnkit_native_abi() != _ABI:
        return None, "the cached native library is stale (ABI mismatch); delete the cache folder"
    _declare(lib)
    lib.rnnkit_set_blas(ctypes.c_void_p(blas[0]), ctypes.c_void_p(blas[1]))
    lib.rnnkit_set_omp(*(ctypes.c_void_p(a) for a in _torch_omp()))
    native = NativeLibrary(lib)
    problem = _check_blas(native)
    return (None, problem) if problem else (native, "")


def library() -> NativeLibrary | None:
    """The native library, built and loaded on the first call (None when it cannot be; see ``unavailable_reason``)."""
    with _lock:
        if "lib" not in _state:
            _state["lib"], _state["reason"] = _load()
    lib = _state["lib"]
    return lib if isinstance(lib, NativeLibrary) else None


def unavailable_reason() -> str:
    """Why ``library()`` is None ("" when it is loaded)."""
    library()
    return str(_state["reason"])


def sequence_dims(
    where: str, x: torch.Tensor, state: torch.Tensor, state_name: str
) -> tuple[int, int, int, int]:
    """``(T, B, D, H)`` of a native kernel's call on ``x [T, B, D]`` and an initial ``state [B, H]``; raises when
    the library is not available or the ranks are wrong."""
    if library() is None:
        raise RuntimeError(f"{where}: the native loops are not available here")
    if x.dim() != 3 or state.dim() != 2:
        raise ValueError(
            f"{where}: expected x [T, B, D] and {state_name} [B, H], got {list(x.shape)}, {list(state.shape)}"
        )
    steps, batch, depth = x.shape
    return steps, batch, depth, state.shape[1]


def check_shapes(
    where: str, expected: dict[str, tuple[int, ...]], **tensors: torch.Tensor | None
) -> None:
    """Raise a clear error unless every given tensor is on the CPU, float32 or float64 like the first, and of its
    ``expected`` shape: the native loops trust the pointers they are handed (a wrong shape reads out of bounds)."""
    first = next(t for t in tensors.values() if t is not None)
    for name, t in tensors.items():
        if t is None:
            continue
        if (
            not t.is_cpu  # (not t.device: this runs on every kernel call, and a device object is not free)
            or t.dtype not in (torch.float32, torch.float64)
            or t.dtype != first.dtype
        ):
            raise TypeError(
                f"{where}: expected {name} as a CPU float32 or float64 tensor like the inputs "
                f"({first.dtype}), got {t.dtype} on {t.device}"
            )
        if tuple(t.shape) != expected[name]:
            raise ValueError(
                f"{where}: expected {name} of shape {list(expected[name])}, got {list(t.shape)}"
            )


def ptr(t: torch.Tensor | None) -> int | None:
    """A tensor's data address for a native call (None: a NULL pointer)."""
    return None if t is None else t.data_ptr()


def call(name: str, like: torch.Tensor, *args: Any) -> None:
    """Run native function ``name`` in ``like``'s dtype (the library is loaded: the kernels checked)."""
    native = library()
    assert native is not None  # sequence_dims raised otherwise
    native.fn(name, like.dtype)(*args)


def rows_view(t: torch.Tensor) -> torch.Tensor:
    """``t [T, B, n]`` as the loops that read it in place take it: any strides over ``T`` and ``B`` (time- or
    batch-major, a view), its last dimension contiguous (copied only when it is not)."""
    return t if t.stride(-1) == 1 else t.contiguous()


def row_strides(t: torch.Tensor | None) -> tuple[int, int]:
    """``(stride over T, stride over B)`` in elements of ``t [T, B, n]`` from ``rows_view`` ((0, 0) for None)."""
    return (0, 0) if t is None else (t.stride(0), t.stride(1))


def weight_grad_chunk(batch: int) -> int:
    """Steps per partial weight-gradient product in the reverse loops: about 128 rows, so that a chunk's rows
    and gate gradients are still in cache when its product runs. At the mnist GRU shape (B = 128, T = 28) the
    backward took 10.63 ms with a product every step against 10.94 ms with one product over all ``T * B`` rows at
    the end (medians of 100 alternating passes, 1 thread)."""
    return max(1, 128 // max(batch, 1))


def out_grad(d: torch.Tensor | None, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """The outputs' incoming gradient as the native backward reads it: contiguous, zeros for None."""
    return like.new_zeros(shape) if d is None else d.contiguous()


def state_grad(d: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """A state's incoming gradient as a fresh contiguous tensor the native backward writes into (it ends as the
    initial state's gradient); zeros shaped like ``like`` for None."""
    return (
        like.new_zeros(like.shape) if d is None else d.clone(memory_format=torch.contiguous_format)
    )
