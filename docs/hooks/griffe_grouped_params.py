"""Griffe extension (loaded by mkdocstrings, see mkdocs.yml): grouped entries in ``Args:`` sections.

rnnkit's docstrings document parameters that share a meaning on one line, as TF's did::

    Args:
        cell_fw, cell_bw: the forward and backward cells.

The Google-style parser knows one name per entry, so it would report a parameter ``"cell_fw, cell_bw"`` that is
not in the signature. This extension splits such an entry into one entry per name (each with the shared
description) before the docstring is parsed, so a name that really is not in the signature is still reported.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SECTION = re.compile(
    r"^(?P<indent>\s*)(Args|Arguments|Parameters|Keyword Args|Keyword Arguments|Other Parameters):\s*$"
)
_GROUPED = re.compile(
    r"^(?P<indent>\s+)(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)+)\s*:(?P<rest>.*)$"
)


def split_grouped_entries(text: str) -> str:
    """Return ``text`` with each ``a, b: description`` entry of a parameters section split into one per name."""
    lines = text.split("\n")
    out: list[str] = []
    section_indent: int | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        header = _SECTION.match(line)
        if header:
            section_indent = len(header["indent"])
            out.append(line)
            i += 1
            continue
        if (
            section_indent is not None
            and line.strip()
            and len(line) - len(line.lstrip()) <= section_indent
        ):
            section_indent = None  # the section ended
        entry = _GROUPED.match(line) if section_indent is not None else None
        if entry is None:
            out.append(line)
            i += 1
            continue
        indent = entry["indent"]
        body = [entry["rest"]]
        i += 1
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            if not lines[i].strip() and (
                i + 1 >= len(lines) or not lines[i + 1].startswith(indent + " ")
            ):
                break
            body.append(lines[i])
            i += 1
        for name in re.split(r"\s*,\s*", entry["names"]):
            out.append(f"{indent}{name}:{body[0]}")
            out.extend(body[1:])
    return "\n".join(out)


class GroupedParams(griffe.Extension):
    """Split grouped parameter entries in every docstring of the loaded package."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and "," in obj.docstring.value:
            obj.docstring.value = split_grouped_entries(obj.docstring.value)
