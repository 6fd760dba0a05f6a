"""Every C source the native library is built from ships in the wheel: scripts/check_wheel.sh checks the files
of scripts/wheel_files.txt, so each header sequences.c includes must be listed there (a missing one would build
in a checkout and fail to compile for a user who installed the wheel)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "src" / "rnnkit" / "kernels" / "native"


def test_every_included_header_and_the_source_are_in_the_wheel_list():
    listed = set((ROOT / "scripts" / "wheel_files.txt").read_text().split())
    included = set(re.findall(r'#include "([^"]+)"', (NATIVE / "sequences.c").read_text()))
    assert included, "sequences.c includes no local header"
    needed = {f"rnnkit/kernels/native/{name}" for name in included | {"sequences.c"}}
    assert needed <= listed, sorted(needed - listed)
    on_disk = {f"rnnkit/kernels/native/{p.name}" for p in NATIVE.glob("*.[ch]")}
    assert on_disk <= listed, sorted(on_disk - listed)


def test_the_build_hash_covers_every_included_header():
    from rnnkit.kernels import native

    included = set(re.findall(r'#include "([^"]+)"', (NATIVE / "sequences.c").read_text()))
    assert included | {"sequences.c"} <= set(native._SOURCES)
