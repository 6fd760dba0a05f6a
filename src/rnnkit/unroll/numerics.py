"""``check_numerics``: find the first time step and batch row where a NaN or inf appears.

TF 1.x propagates NaN/inf silently through an RNN (``tf.debugging.check_numerics`` only says *that* a tensor
holds one). rnnkit does the same by default (no hidden checks, no cost) and offers this opt-in check, which says
*where*: ``check_numerics(outputs)`` after an unroll names the first time step (then the first row at that step)
whose output is not finite, i.e. where the problem first showed; ``check_numerics(inputs)`` before it tells bad
data from a bad model.

>>> import torch, rnnkit as rk
>>> x = torch.zeros(2, 4, 3); x[1, 2, 0] = float("nan")
>>> rk.unroll.check_numerics(x, "inputs")
Traceback (most recent call last):
...
ValueError: check_numerics: expected finite values in inputs, got nan at time step 2, batch row 1, feature 0 (1 (step, row) positions non-finite in all)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

import torch

from .._checks import describe

__all__ = ["check_numerics"]

_WHERE = "check_numerics"


def _leaves_with_paths(x: Any, path: str) -> list[tuple[str, Any]]:
    """Leaves with a readable path (``outputs.h``, ``state[1].c``, ``inputs['a']``) in depth-first order."""
    if isinstance(x, Mapping):
        return [leaf for k in sorted(x) for leaf in _leaves_with_paths(x[k], f"{path}[{k!r}]")]
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return [
            leaf
            for f in cast(Any, x)._fields  # a namedtuple (checked above)
            for leaf in _leaves_with_paths(getattr(x, f), f"{path}.{f}")
        ]
    if isinstance(x, (list, tuple)):
        return [leaf for i, v in enumerate(x) for leaf in _leaves_with_paths(v, f"{path}[{i}]")]
    return [(path, x)]


def _kind(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _first_in_sequence(
    x: torch.Tensor, time_major: bool, lengths: torch.Tensor | None
) -> tuple[tuple[int, int], str, int] | None:
    """For ``x [B, T, ...]`` (``[T, B, ...]``): ``((t, b), detail, bad positions)`` of the first non-finite
    value by time step then row, ignoring positions past ``lengths``; None when all are finite."""
    bad = ~torch.isfinite(x)
    if x.dim() > 2:
        bad = bad.flatten(2).any(2)
    bad_tb = bad if time_major else bad.transpose(0, 1)  # [T, B]
    if lengths is not None:
        steps = torch.arange(bad_tb.shape[0], device=bad_tb.device)
        bad_tb = bad_tb & (steps[:, None] < lengths.to(bad_tb.device)[None, :])
    hits = bad_tb.nonzero()
    if hits.shape[0] == 0:
        return None
    t, b = (int(v) for v in hits[0])
    row = (x[t, b] if time_major else x[b, t]).flatten()
    feature = int((~torch.isfinite(row)).nonzero()[0])
    detail = f"{_kind(float(row[feature]))} at time step {t}, batch row {b}, feature {feature}"
    return (t, b), detail, hits.shape[0]


def _first_in_tensor(x: torch.Tensor) -> str | None:
    """For a state ``[B, H]``, a vector or a scalar: where its first non-finite value is; None if finite."""
    flat = x.flatten()
    hits = (~torch.isfinite(flat)).nonzero()
    if hits.shape[0] == 0:
        return None
    index = int(hits[0])
    kind = _kind(float(flat[index]))
    if x.dim() == 0:
        return kind
    if x.dim() == 2:
        return f"{kind} at batch row {index // x.shape[1]}, unit {index % x.shape[1]}"
    return f"{kind} at index {tuple(int(i) for i in torch.unravel_index(hits[0], x.shape))}"


def check_numerics(
    values: Any,
    name: str = "values",
    *,
    time_major: bool = False,
    sequence_length: Any = None,
) -> Any:
    """Raise ValueError saying where the first NaN/inf is; return ``values`` unchanged when all are finite.

    Args:
        values: a tensor or a nested structure of tensors. Leaves of rank >= 3 are sequences ``[B, T, ...]``
            (``[T, B, ...]`` with ``time_major``) and are searched by time step first, then row; a Python list
            of rank-2 tensors (``static_rnn``'s inputs or outputs) is read as T steps ``[B, D]``. Other leaves
            (a state ``[B, H]``, a loss ``[]``) are searched in order.
        name: what ``values`` are, for the message (``"inputs"``, ``"outputs"``, ``"loss"``).
        time_major: the layout of sequence leaves.
        sequence_length: optional ``[B]`` lengths; sequence positions past a row's length are padding and are
            not checked (the unrolls never let padding reach a result; see NOTE [padding never reaches the
            gradient] in ``unroll/_loop.py``).

    Across several sequence leaves the earliest time step wins. Integer tensors are always finite.
    """
    seq_values, seq_time_major = values, time_major
    if (
        isinstance(values, list)
        and values
        and all(isinstance(v, torch.Tensor) and v.dim() == 2 for v in values)
    ):
        seq_values, seq_time_major = torch.stack(values, 0), True  # static_rnn's list: [T, B, D]
    lengths = None if sequence_length is None else torch.as_tensor(sequence_length)
    leaves = _leaves_with_paths(seq_values, name)
    for path, leaf in leaves:
        if not isinstance(leaf, torch.Tensor):
            raise TypeError(f"{_WHERE}: expected tensors in {name}, got {describe(leaf)} at {path}")
    leaves = [(p, x.detach()) for p, x in leaves if x.is_floating_point() or x.is_complex()]
    # Sequences first: the earliest time step over all of them is where the problem showed first.
    best: tuple[tuple[int, int], str, str, int] | None = None
    for path, leaf in leaves:
        if leaf.dim() >= 3:
            found = _first_in_sequence(leaf, seq_time_major, lengths)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], path, found[1], found[2])
    if best is not None:
        _, path, detail, count = best
        at = "" if path == name else f" in {path}"
        raise ValueError(
            f"{_WHERE}: expected finite values in {name}, got {detail}{at} "
            f"({count} (step, row) positions non-finite in all)"
        )
    for path, leaf in leaves:
        if leaf.dim() < 3:
            first = _first_in_tensor(leaf)
            if first is not None:
                at = "" if path == name else f" in {path}"
                raise ValueError(f"{_WHERE}: expected finite values in {name}, got {first}{at}")
    return values
