"""A core install (``pip install rnnkit``: torch + numpy, no extras): the ``rnnkit`` command starts, what needs
only torch + numpy works (help, ``presets``, ``bench``, ``inspect`` of a TF checkpoint, ``convert`` TF → TF is
refused as before), and every command that needs the ``tasks`` extra says so in one line, exit code 2.

The extras are made unimportable in a child Python by a ``sitecustomize`` that sets ``sys.modules[name] = None``
for each: ``import safetensors`` then raises ModuleNotFoundError and ``importlib.util.find_spec`` returns None,
as when the package is not installed. All command lines run in one child (torch is imported once), each through
``rnnkit.cli.main`` with its own stdout/stderr. ``scripts/check_wheel.sh`` repeats help and inspect with the built
wheel installed without extras. docs/errors.md carries the table (``tools/errors_table.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import rnnkit
from tests._errors import assert_in_doc
from tests.tf_checkpoint._fixtures import prefix as tf_fixture

EXTRAS = ("safetensors", "matplotlib", "tqdm", "tensorboard", "google_crc32c")
TASKS_HINT = "pip install 'rnnkit[tasks]'"
ALL_MISSING = (
    f"needs the tasks extra (missing safetensors, matplotlib, tqdm, tensorboard): {TASKS_HINT}"
)


@dataclass(frozen=True)
class CoreCase:
    id: str
    argv: list[str]  # "{d}" = a scratch directory, "{ckpt}" = a committed TF checkpoint prefix
    rc: int
    says: (
        str  # a part of stdout (rc 0) or of the one stderr line after "rnnkit CMD: error: " (rc 2)
    )
    condition: str = ""  # for the docs table (failing cases only)


CKPT = "{ckpt}"
# fmt: off
CASES = [
    CoreCase("help", ["--help"], 0, "usage: rnnkit"),
    CoreCase("presets", ["presets", "sine"], 0, "seed000"),
    CoreCase("inspect-tf", ["inspect", CKPT], 0, "rnn/basic_lstm_cell/kernel  [7, 16]"),
    CoreCase("bench", ["bench", "--shapes", "sine", "--threads", "1", "--repeats", "1", "--target", "0.001"], 0,
             "| sine | 1 |"),
    CoreCase("convert-tf-to-tf", ["convert", CKPT, "{d}/x", "--to", "tf"], 2, "is read as a TF checkpoint already"),
    CoreCase("core-train", ["train", "sine", "--out", "{d}/run"], 2, ALL_MISSING, "on a core install"),
    CoreCase("core-evaluate", ["evaluate", "{d}/run"], 2, ALL_MISSING, "on a core install"),
    CoreCase("core-predict", ["predict", "{d}/run"], 2, ALL_MISSING, "on a core install"),
    CoreCase("core-plot", ["plot", "{d}/run"], 2, ALL_MISSING, "on a core install"),
    CoreCase("core-export", ["export", "{d}/run", "--format", "onnx", "--out", "{d}/m.onnx"], 2, ALL_MISSING,
             "on a core install"),
    CoreCase("core-import-tf", ["import-tf", CKPT, "--task", "sine", "--out", "{d}/i"], 2, ALL_MISSING,
             "on a core install"),
    CoreCase("core-convert-safetensors", ["convert", CKPT, "{d}/out.safetensors"], 2,
             f"needs the tasks extra (missing safetensors): {TASKS_HINT}", "to a .safetensors file on a core install"),
    CoreCase("core-inspect-safetensors", ["inspect", "{d}/x.safetensors"], 2,
             f"needs the tasks extra (missing safetensors): {TASKS_HINT}", "of a .safetensors file on a core install"),
]
# fmt: on

DRIVER = r"""
import contextlib, io, json, sys
for name in sys.argv[2:]:  # not installed: import raises ModuleNotFoundError, find_spec returns None
    sys.modules[name] = None
from rnnkit.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:  # --help
            rc = e.code
    results.append({"rc": rc, "out": out.getvalue(), "err": err.getvalue()})
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[Path, list[dict]]:
    d = tmp_path_factory.mktemp("core")
    (d / "x.safetensors").write_bytes(
        b"\0" * 16
    )  # never read: the missing package is reported first
    argvs = [[a.format(d=d, ckpt=tf_fixture("basic_lstm")) for a in case.argv] for case in CASES]
    src = str(Path(rnnkit.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(argvs), *EXTRAS],
        capture_output=True,
        text=True,
        env=env,
        cwd=d,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return d, json.loads(proc.stdout)


def test_the_extras_are_really_missing_in_the_child():
    probe = (
        "import sys, importlib.util\n"
        f"for n in {EXTRAS!r}: sys.modules[n] = None\n"
        "assert all(importlib.util.find_spec(n) is None for n in sys.argv[1:])\n"
        "try:\n    import safetensors\nexcept ModuleNotFoundError:\n    print('missing')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *EXTRAS], capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "missing", proc.stderr


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.id for c in CASES])
def test_core_install_command(index, results):
    d, got = results
    case, result = CASES[index], got[index]
    says = case.says.format(d=d)
    assert result["rc"] == case.rc, result
    if case.rc == 0:
        assert says in result["out"], result
        assert "Traceback" not in result["err"], result
        return
    lines = result["err"].strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result["err"], result
    assert lines[0].startswith(f"rnnkit {case.argv[0]}: error: "), lines[0]
    assert says in lines[0], lines[0]


def core_install_table() -> str:
    """The table of the failing CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    rows = ["| command | bad input | the one line says (exit code 2) | test |", "|---|---|---|---|"]
    for c in CASES:
        if c.rc == 0 or not c.condition:
            continue
        rows.append(
            f"| `rnnkit {c.argv[0]}` | {c.condition} | `{c.says}` "
            f"| [`{c.id}`](../tests/cli/test_core_install.py) |"
        )
    return "\n".join(rows) + "\n"


def test_errors_doc_is_in_sync():
    assert_in_doc(core_install_table())
