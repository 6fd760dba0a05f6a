"""Nested structures of tensors (TF's ``nest``), for states and inputs.

A *structure* is a leaf (anything that is not a tuple, list or dict), or a tuple / namedtuple / list / dict of
structures. ``flatten`` lists the leaves depth-first (dict entries in sorted-key order, as TF does);
``pack_sequence_as`` rebuilds a structure from such a list. Cells use these to handle
``LSTMStateTuple(c, h)``, the tuple-of-states of ``MultiRNNCell`` and nested inputs alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["is_nested", "flatten", "pack_sequence_as", "map_structure", "assert_same_structure"]


def is_nested(x: Any) -> bool:
    """True for tuples (namedtuples included), lists and dicts; False for leaves (tensors, ints, None...)."""
    return isinstance(x, (tuple, list, Mapping))


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _children(x: Any) -> list[Any]:
    if isinstance(x, Mapping):
        return [x[k] for k in sorted(x)]
    return list(x)


def _iter_leaves(x: Any) -> Iterator[Any]:
    if is_nested(x):
        for child in _children(x):
            yield from _iter_leaves(child)
    else:
        yield x


def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure`` in depth-first order (a leaf gives ``[leaf]``)."""
    return list(_iter_leaves(structure))


def _rebuild(like: Any, values: list[Any]) -> Any:
    if isinstance(like, Mapping):
        by_key = dict(zip(sorted(like), values))
        mapping_type: Any = type(
            like
        )  # a concrete Mapping (dict, OrderedDict, ...) built from pairs
        return mapping_type((k, by_key[k]) for k in like)
    if _is_namedtuple(like):
        return type(like)(*values)
    return type(like)(values)


def _pack(like: Any, leaves: Iterator[Any]) -> Any:
    if not is_nested(like):
        return next(leaves)
    return _rebuild(like, [_pack(child, leaves) for child in _children(like)])


def pack_sequence_as(structure: Any, flat_sequence: list[Any]) -> Any:
    """Rebuild ``structure`` with its leaves replaced, in order, by ``flat_sequence``.

    Raises ValueError when the number of leaves differs.
    """
    flat_sequence = list(flat_sequence)
    n = len(flatten(structure))
    if n != len(flat_sequence):
        raise ValueError(
            f"pack_sequence_as: structure has {n} leaves, got a flat sequence of {len(flat_sequence)}"
        )
    return _pack(structure, iter(flat_sequence))


def map_structure(fn: Callable[..., Any], *structures: Any) -> Any:
    """Apply ``fn`` leaf-wise over structures of the same shape; the result has the first one's structure."""
    if not structures:
        raise ValueError("map_structure: expected at least one structure, got none")
    for other in structures[1:]:
        assert_same_structure(structures[0], other, where="map_structure")
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [fn(*leaves) for leaves in zip(*flats)])


def _describe(x: Any) -> str:
    if not is_nested(x):
        return "leaf"
    inner = ", ".join(_describe(c) for c in _children(x))
    return f"{type(x).__name__}({inner})"


def _same(a: Any, b: Any) -> bool:
    if is_nested(a) != is_nested(b):
        return False
    if not is_nested(a):
        return True
    if isinstance(a, Mapping) != isinstance(b, Mapping):
        return False
    if isinstance(a, Mapping) and sorted(a) != sorted(b):
        return False
    ca, cb = _children(a), _children(b)
    return len(ca) == len(cb) and all(_same(x, y) for x, y in zip(ca, cb))


def assert_same_structure(
    expected: Any, received: Any, where: str = "assert_same_structure"
) -> None:
    """Raise ValueError, prefixed with ``where``, unless both have the same nesting (types of sequence may differ:
    a plain tuple matches a namedtuple, as in TF with ``check_types=False``)."""
    if not _same(expected, received):
        raise ValueError(
            f"{where}: expected a structure like {_describe(expected)}, got {_describe(received)}"
        )
