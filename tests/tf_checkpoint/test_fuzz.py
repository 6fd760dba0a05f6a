"""Fuzz: random damage to real TF checkpoints never escapes as anything but CheckpointError, never hangs.

Three kinds of damage, seeded, a few hundred cases over every fixture:
- raw byte flips and truncations of the ``.index`` file (mostly stopped by the footer magic and the
  block checksums),
- the same on data shards (every flipped data byte must be detected: CRC-32C),
- flips and truncations *inside* index entries, re-encoded with valid block checksums, so that the
  protobuf and table parsers behind the checksums see the garbage.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import numpy as np
import pytest

import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint import CheckpointError

from ._corrupt import copy_fixture, rewrite_index
from ._fixtures import NAMES

CASES_PER_KIND = int(os.environ.get("RNNKIT_FUZZ_CASES", "120"))


def _damage_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    if rng.random() < 0.3:
        return bytes(buf[: rng.randrange(len(buf))])
    for _ in range(rng.randint(1, 4)):
        buf[rng.randrange(len(buf))] ^= rng.randint(1, 255)
    return bytes(buf)


def _attempt(prefix: Path) -> bool:
    """Read everything; True if it succeeded, False on CheckpointError; anything else propagates."""
    start = time.perf_counter()
    try:
        tc.list_variables(prefix)
        tc.read(prefix, strings=True)
        ok = True
    except CheckpointError as exc:
        assert str(exc).startswith(str(prefix.parent)) or "model.ckpt" in str(exc), str(exc)
        ok = False
    assert time.perf_counter() - start < 2.0, "a damaged checkpoint took too long"
    return ok


@pytest.mark.parametrize("kind", ["index_bytes", "data_bytes", "index_entries"])
def test_fuzz(tmp_path, kind):
    rng = random.Random(f"rnnkit-fuzz-{kind}")
    outcomes = {True: 0, False: 0}
    for case in range(CASES_PER_KIND):
        name = rng.choice(NAMES)
        prefix = copy_fixture(name, tmp_path / str(case))
        if kind == "index_bytes":
            index = Path(f"{prefix}.index")
            index.write_bytes(_damage_bytes(index.read_bytes(), rng))
        elif kind == "data_bytes":
            shards = sorted(prefix.parent.glob("model.ckpt.data-*"))
            shard = rng.choice([s for s in shards if s.stat().st_size > 0])
            shard.write_bytes(_damage_bytes(shard.read_bytes(), rng))
        else:

            def mutate(entries, rng=rng):
                i = rng.randrange(len(entries))
                key, value = entries[i]
                if rng.random() < 0.2 and i > 0:  # damage a key, keeping the table sorted
                    key = _damage_bytes(key, rng) if key else key
                    entries = entries[:i] + entries[i + 1 :]
                    entries = sorted(dict(entries + [(key, value)]).items())
                    return entries
                entries[i] = (key, _damage_bytes(value, rng) if value else b"\x00")
                return entries

            rewrite_index(prefix, mutate)
        ok = _attempt(prefix)
        if kind == "data_bytes":
            assert not ok, f"case {case}: damaged data in {name} was not detected"
        outcomes[ok] += 1
    assert outcomes[False] > CASES_PER_KIND // 2  # the damage is mostly detected
    if kind == "index_entries":
        print(outcomes)


def test_fuzz_on_checkpoints_rnnkit_wrote(tmp_path):
    """Same for the writer's output, with larger tensors (numpy CRC path) and many entries."""
    rng = random.Random(7)
    values = {f"v{i:03d}": np.random.default_rng(i).standard_normal(i % 7 + 1) for i in range(200)}
    values["big"] = np.random.default_rng(0).standard_normal((100, 100)).astype(np.float32)
    src = tmp_path / "src" / "m"
    tc.write(src, values, write_state=False)
    for case in range(60):
        prefix = tmp_path / str(case) / "m"
        prefix.parent.mkdir()
        for suffix in (".index", ".data-00000-of-00001"):
            data = Path(f"{src}{suffix}").read_bytes()
            if (suffix == ".index") == (case % 2 == 0):
                data = _damage_bytes(data, rng)
            Path(f"{prefix}{suffix}").write_bytes(data)
        ok = _attempt(prefix)
        if case % 2:
            assert not ok, f"case {case}: damaged data not detected"
