"""The decoding benchmark's plumbing (not its numbers): tiny sizes, rnnkit side only; the TF side is exercised
as far as a python without TensorFlow takes it (the CI has none)."""

from __future__ import annotations

import json
import math
import sys

import pytest

from rnnkit.bench import decode
from rnnkit.cli import main as cli_main

TINY = decode.Sizes(batch=3, source=4, vocab=11, embed=5, units=6, beam=2, steps=4)


def _no_tf_python(tmp_path):
    """A python in which ``import tensorflow`` fails, whatever is installed."""
    script = tmp_path / "python"
    boot = (
        "import sys, runpy; sys.modules['tensorflow'] = None; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "{boot}" "$@"\n')
    script.chmod(0o755)
    return str(script)


def _check_rnnkit_rows(records):
    assert [(r["decoder"], r["threads"], r["steps"], r["batch"]) for r in records] == [
        ("greedy", 1, 4, 3),
        ("beam2", 1, 4, 3),
    ]
    for r in records:
        assert set(r["rate"]) == set(decode.MODES)  # no TF rate without TF
        assert all(math.isfinite(v) and v > 0 for v in r["rate"].values())


def test_rnnkit_rows_and_tf_not_installed_without_a_tf_python():
    records = decode.run_decode([1], 1, "cpu", log=lambda s: None, sizes=TINY)
    _check_rnnkit_rows(records)
    assert {r["tf"] for r in records} == {"not installed (no TF python given)"}
    text = decode.decode_table(records)
    assert "(B=3, exactly 4 steps;" in text
    assert "| inference_mode/grad | TF (tf.function) | inference_mode/TF |" in text
    assert text.count("| – | – |") == 2 and "TF: not installed (no TF python given)" in text


def test_a_python_without_tensorflow_gives_the_rnnkit_rows_and_says_why(tmp_path):
    records = decode.run_decode([1], 1, "cpu", lambda s: None, _no_tf_python(tmp_path), TINY)
    _check_rnnkit_rows(records)
    assert records[0]["tf"].startswith("not installed (ModuleNotFoundError: import of tensorflow")
    assert "TF: not installed (ModuleNotFoundError" in decode.decode_table(records)


def test_table_shows_the_tf_rate_and_ratio():
    rate = {"grad": 100.0, "no_grad": 120.0, "inference_mode": 150.0, "tf": 300.0}
    records = [{"decoder": "greedy", "threads": 1, "steps": 30, "batch": 32, "rate": rate,
                "tf": "tensorflow 2.15.1, tensorflow_addons 0.23.0"}]  # fmt: skip
    text = decode.decode_table(records)
    assert "| greedy | 1 | 100 | 120 | 150 | 1.50 | 300 | 0.50 |" in text
    assert "TF: tensorflow 2.15.1, tensorflow_addons 0.23.0" in text


def test_a_short_decode_is_refused():
    with pytest.raises(RuntimeError, match="expected tf greedy to decode 30 steps, got 7"):
        decode._check_steps("tf greedy", 7, 30)


def test_bench_decode_script_prints_the_table_and_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(decode, "Sizes", lambda: TINY)
    out = tmp_path / "decode.json"
    assert decode.main(["--repeats", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "load average" in text and "| greedy | 1 |" in text and "| beam2 | 1 |" in text
    saved = json.loads(out.read_text())
    _check_rnnkit_rows(saved["decode"])


def test_rnnkit_bench_checks_the_tf_decode_python(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli_main(["bench", "--decode", "--tf-decode-python", str(tmp_path / "nopython")])
    assert (
        f"argument --tf-decode-python: expected an executable python, got '{tmp_path}/nopython'"
        in capsys.readouterr().err
    )
