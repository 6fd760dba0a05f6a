"""TF checkpoint <-> safetensors file (for ``rnnkit convert``). Needs the ``safetensors`` package
(``pip install rnnkit[tasks]``); tensor names are kept as they are (TF names, ``/``-separated)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .errors import CheckpointError
from .reader import CheckpointReader
from .writer import write

__all__ = ["checkpoint_to_safetensors", "safetensors_to_checkpoint"]


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy as st
    except (
        ModuleNotFoundError
    ) as e:  # safetensors is in the tasks extra; `name` lets the CLI say so
        raise ModuleNotFoundError(
            "converting to/from safetensors needs the 'safetensors' package: pip install 'rnnkit[tasks]'",
            name=e.name,
        ) from None
    return st


def checkpoint_to_safetensors(
    path: str | os.PathLike[str], out: str | os.PathLike[str]
) -> list[tuple[str, tuple[int, ...], str]]:
    """Write every (non-string) tensor of a TF checkpoint into the safetensors file ``out``.

    Partitioned variables are written whole, bfloat16 as float32. The file's metadata records the
    source (``{"format": "tf_checkpoint", "source": PREFIX}``). Returns ``[(name, shape, dtype)]``
    of what was written. The file is written under a temporary name and renamed into place.
    """
    st = _safetensors_numpy()
    reader = CheckpointReader(path)
    tensors = {
        name: np.ascontiguousarray(reader.tensor(name))
        for name, _, dtype in reader.variables()
        if dtype != "string"
    }
    out = os.fspath(out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    st.save_file(tensors, tmp, metadata={"format": "tf_checkpoint", "source": reader.prefix})
    os.replace(tmp, out)
    return [(name, value.shape, value.dtype.name) for name, value in tensors.items()]


# the safetensors dtypes NumPy (hence the TF checkpoint writer) holds
_NUMPY_ST_DTYPES = (
    "F64",
    "F32",
    "F16",
    "I64",
    "I32",
    "I16",
    "I8",
    "U64",
    "U32",
    "U16",
    "U8",
    "BOOL",
)


def _check_numpy_dtypes(path: str) -> None:
    """Refuse a file with a tensor NumPy cannot hold (bfloat16, float8) before reading any data."""
    from safetensors import SafetensorError as st_error
    from safetensors import safe_open

    try:
        with safe_open(path, framework="numpy") as f:
            dtypes = {name: f.get_slice(name).get_dtype() for name in f.keys()}
    except FileNotFoundError:
        raise CheckpointError("no such safetensors file", path) from None
    except (st_error, ValueError, TypeError, OSError) as exc:
        raise CheckpointError(f"cannot read as safetensors ({exc})", path) from None
    for name, dtype in sorted(dtypes.items()):
        if dtype not in _NUMPY_ST_DTYPES:
            raise CheckpointError(
                f"tensor {name!r} has dtype {dtype}, which the TF checkpoint writer cannot hold "
                f"(expected one of {', '.join(_NUMPY_ST_DTYPES)}); cast it to F32 first",
                path,
            )


def safetensors_to_checkpoint(
    path: str | os.PathLike[str],
    prefix: str | os.PathLike[str],
    rename: Mapping[str, str] | Callable[[str], str | None] | None = None,
) -> list[str]:
    """Write the tensors of a safetensors file as a TF checkpoint at ``prefix``.

    ``rename`` maps the file's names to TF names (a dict, or a function returning the new name, or
    None to drop the tensor); e.g. an rnnkit model's ``state_dict`` keys to the TF names of its
    ``tf_variables()``. Without it names are kept. Returns the TF names written.
    """
    st = _safetensors_numpy()
    from safetensors import SafetensorError as st_error

    path = os.fspath(path)
    _check_numpy_dtypes(path)
    try:
        tensors: dict[str, np.ndarray] = st.load_file(path)
    except FileNotFoundError:
        raise CheckpointError("no such safetensors file", path) from None
    except (st_error, ValueError, TypeError, OSError) as exc:
        raise CheckpointError(f"cannot read as safetensors ({exc})", path) from None
    if rename is not None:
        if isinstance(rename, Mapping):
            mapping = rename

            def rename_fn(name: str) -> str | None:
                return mapping.get(name, name)

        else:
            rename_fn = rename  # type: ignore[assignment]
        renamed: dict[str, np.ndarray] = {}
        for name, value in tensors.items():
            new = rename_fn(name)
            if new is None:
                continue
            if new in renamed:
                raise ValueError(f"safetensors_to_checkpoint: two tensors renamed to {new!r}")
            renamed[new] = value
        tensors = renamed
    write(prefix, tensors)
    return sorted(tensors)
