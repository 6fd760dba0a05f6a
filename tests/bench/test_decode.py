"""The decoding benchmark's plumbing (not its numbers): tiny sizes, rnnkit side only; the TF side is exercised
as far as a python without TensorFlow takes it (the CI has none)."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import torch

from rnnkit.bench import decode, raw_decode
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
        ("raw_rnn", 1, 4, 3),
    ]
    for r in records:
        assert set(r["rate"]) == set(decode.MODES)  # no TF rate without TF
        assert r["same_ids_as_tf"] is False  # nothing compared with TF
        assert all(math.isfinite(v) and v > 0 for v in r["rate"].values())


def test_rnnkit_rows_and_tf_not_installed_without_a_tf_python():
    records = decode.run_decode([1], 1, "cpu", log=lambda s: None, sizes=TINY)
    _check_rnnkit_rows(records)
    assert {r["tf"] for r in records} == {"not installed (no TF python given)"}
    text = decode.decode_table(records)
    assert "(B=3, exactly 4 steps;" in text
    assert "| inference_mode/grad | TF (tf.function) | inference_mode/TF |" in text
    assert text.count("| – | – |") == 3 and "TF: not installed (no TF python given)" in text
    assert "| raw_rnn | 1 |" in text and "Same weights" not in text


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
    assert "| raw_rnn | 1 |" in text
    saved = json.loads(out.read_text())
    _check_rnnkit_rows(saved["decode"])


def test_rnnkit_bench_checks_the_tf_decode_python(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli_main(["bench", "--decode", "--tf-decode-python", str(tmp_path / "nopython")])
    assert (
        f"argument --tf-decode-python: expected an executable python, got '{tmp_path}/nopython'"
        in capsys.readouterr().err
    )


def _reference_raw_greedy(z, w):
    """The raw_rnn row's model as a plain float64 step loop (no rnnkit): ids ``[B, steps]``."""
    w = {k: v.double() for k, v in w.items()}
    c, h = w["c0"], w["h0"]
    x = w["embedding"][torch.full((z.batch,), raw_decode.START)]
    ids = []
    for _ in range(z.steps):
        i, j, f, o = (torch.cat([x, h], 1) @ w["kernel"] + w["bias"]).chunk(4, 1)
        c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(
            j
        )  # forget_bias 1, TF's order
        h = torch.tanh(c) * torch.sigmoid(o)
        step = (h @ w["out_kernel"] + w["out_bias"]).argmax(1)
        ids.append(step)
        x = w["embedding"][step]
    return torch.stack(ids, 1)


@pytest.mark.parametrize("context", [torch.enable_grad, torch.no_grad, torch.inference_mode])
def test_raw_rnn_row_decodes_as_a_plain_loop_of_its_math(context):
    z = decode.Sizes(batch=5, vocab=40, embed=7, units=9, steps=12)
    weights = raw_decode.raw_weights(z, seed=3)
    with context():
        ids = raw_decode.raw_greedy(z, weights)()
    want = _reference_raw_greedy(z, weights)
    assert ids.dtype == torch.long and ids.shape == (5, 12)
    assert torch.equal(ids, want)
    assert len({tuple(r) for r in want.tolist()}) > 1  # the rows differ (their initial states do)
    assert all(len(set(r)) > 1 for r in want.tolist())  # ...and each row's argmax moves
    assert raw_decode.END not in want.tolist()  # the end token is never chosen


def test_raw_rnn_weights_are_saved_for_tf_as_float32_npz(tmp_path):
    weights = raw_decode.raw_weights(TINY)
    assert weights["out_bias"][raw_decode.END] == -1e4
    assert weights["kernel"].shape == (TINY.embed + TINY.units, 4 * TINY.units)
    path = tmp_path / "w"  # no suffix: saved under this exact name
    raw_decode.save_raw_weights(weights, path)
    with np.load(path) as f:
        assert sorted(f.files) == sorted(weights)
        for name, value in weights.items():
            assert f[name].dtype == np.float32 and np.array_equal(f[name], value.numpy())


def test_token_ids_are_compared_with_tf_only_where_tf_has_the_same_weights():
    same = {"grad": [3, 4], "no_grad": [3, 4], "inference_mode": [3, 4], "tf": [3, 5]}
    decode._check_same_ids("greedy", same)  # TF's greedy model has its own weights: not compared
    with pytest.raises(
        RuntimeError,
        match=r"expected tf raw_rnn to decode sample 0 to grad's ids \[3, 4\], got \[3, 5\]",
    ):
        decode._check_same_ids("raw_rnn", same)
    with pytest.raises(RuntimeError, match="expected no_grad greedy to decode sample 0"):
        decode._check_same_ids("greedy", {**same, "no_grad": [0, 4]})


def _fake_tf_python(tmp_path, first):
    """A "python" whose decode worker loads the raw_rnn weights it is given, then answers every decode with
    ``steps`` steps and ``first`` as sample 0's ids."""
    worker = tmp_path / "fake_worker.py"
    worker.write_text(
        "import json, sys\nimport numpy as np\n"
        "z = json.loads(sys.argv[2])\n"
        "with np.load(z['raw_weights']) as f: assert 'kernel' in f.files\n"
        "print(json.dumps({'ready': {'fake': '1'}}), flush=True)\n"
        "for line in sys.stdin:\n"
        f"    print(json.dumps({{'seconds': 0.01, 'steps': z['steps'], 'first': {first!r}}}), flush=True)\n"
    )
    script = tmp_path / "python"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{worker}" "$@"\n')
    script.chmod(0o755)
    return str(script)


def test_a_tf_raw_rnn_decoding_other_ids_is_refused(tmp_path):
    rnnkit_first = raw_decode.raw_greedy(TINY, raw_decode.raw_weights(TINY))()[0].tolist()
    assert rnnkit_first != [0, 0, 0, 0]
    python = _fake_tf_python(tmp_path, [0, 0, 0, 0])
    with pytest.raises(RuntimeError, match=r"expected tf raw_rnn to decode sample 0 to grad's ids"):
        decode.run_decode([1], 1, "cpu", lambda s: None, python, TINY)


def test_table_says_which_rows_have_the_same_weights_as_tf():
    rate = {"grad": 100.0, "no_grad": 120.0, "inference_mode": 150.0, "tf": 120.0}
    records = [{"decoder": d, "threads": 1, "steps": 30, "batch": 32, "rate": rate, "tf": "tensorflow 2.15.1",
                "same_ids_as_tf": d == "raw_rnn"} for d in ("greedy", "raw_rnn")]  # fmt: skip
    text = decode.decode_table(records)
    assert "| raw_rnn | 1 | 100 | 120 | 150 | 1.50 | 120 | 1.25 |" in text
    assert (
        "Same weights on both sides, sample 0 decoded to the same ids (checked): raw_rnn\n" in text
    )
