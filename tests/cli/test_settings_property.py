"""Random ``--set`` values of every setting thrown at ``rnnkit train --max-steps 1`` (issue 15, "done when").

Whatever the values, the command ends with exit code 0 (a valid run: its metrics are the ones the task declares),
exit code 2 with one line on stderr and nothing written, or exit code 1 when the values make the loss diverge
(said on stdout); never a traceback. The same for random edits of a run's config.json
read back by ``rnnkit evaluate`` and ``rnnkit train --resume``. Derandomized and bounded: the same examples
every run, a few seconds each.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rnnkit.cli import main
from rnnkit.tasks import TASKS
from rnnkit.tasks.settings import COMMON
from rnnkit.train import rundir as rd
from tests.data.test_mnist import write_fake

# Values of every JSON type, on both sides of every range the settings declare, and the strings they accept.
# Sizes stay small so that a valid run takes a moment.
# fmt: off
POOL = (
    [None, True, False, 0, 1, 2, 3, -1, 27, 28, 100, 0.0, 0.5, 1.0, 1.5, -0.5, 1e-9, 0.01, 7.5, 2**32]
    + [math.nan, math.inf, "", "abc", "epoch", "cpu", "cuda", "cuda:0", "bf16", "32", "16-mixed"]
    + ["onecycle", "cosine", "constant", "lstm", "basic_rnn", "basic_lstm", "static", "seed004"]
    + ["seed000", "test_mse", "test_accuracy", "normal", "zeros", "glorot", "truncated_normal"]
    + [[], {}, [1, 2], [[0.0, 1.0]], [[6.0, 10.0]], [[2.0, 1.0]], {"std": 0.5}, {"cell": "lstm"}]
)
# fmt: on
VALUES = st.one_of(st.sampled_from(POOL), st.integers(-3, 30), st.floats(-2, 40, allow_nan=False))
QUICK = ["--max-steps", "1", "--batch-size", "2", "--set", "tensorboard=false"]
SMALL = {
    "sine": ["--set", "cell_size=3", "--set", "test_windows=2", "--set", "time_steps=4"],
    "series": ["--set", "num_units=3", "--set", "n_steps=6", "--set", "burn_in=1"],
    "mnist": ["--set", "model.num_units=3", "--set", "eval_examples=4", "--set", "eval_batch=2"],
    "dates": [
        "--set",
        "num_units=3",
        "--set",
        "embed=3",
        "--set",
        "test_examples=4",
        "--set",
        "beam_width=2",
    ],
}


def keys(task: str) -> list[str]:
    return sorted({s.name for s in (*COMMON, *TASKS[task].settings)} | {"typo", "model.typo"})


def valid_values(task: str, key: str) -> list:
    """The values of POOL (and small integers) the setting accepts on its own (the others test the refusals)."""
    setting = {s.name: s for s in (*COMMON, *TASKS[task].settings)}.get(key)
    pool = [*POOL, *range(-3, 31)]
    # no huge step counts: a valid run must take a moment
    return [] if setting is None else [v for v in pool if setting.check(v) and v != 2**32]


@st.composite
def commands(draw):
    task = draw(st.sampled_from(sorted(TASKS)))
    preset = draw(st.sampled_from(sorted(TASKS[task].presets)))
    sets = []
    for key in draw(st.lists(st.sampled_from(keys(task)), min_size=1, max_size=3)):
        valid = valid_values(task, key)
        value = draw(st.sampled_from(valid) if valid and draw(st.booleans()) else VALUES)
        sets += ["--set", f"{key}={json.dumps(value)}"]
    return task, preset, sets, draw(st.booleans())


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("mnist")
    write_fake(d, n_train=24, n_test=6)
    return d


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=commands())
def test_random_settings_never_raise_a_traceback(command, mnist_dir, capsys):
    task, preset, sets, plots = command
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        argv = ["train", task, "--preset", preset, "--out", str(out), *QUICK, *SMALL[task], *sets]
        argv += ["--data-dir", str(mnist_dir)] if task == "mnist" else []
        argv += [] if plots else ["--no-plots"]
        capsys.readouterr()
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse
            rc = e.code
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        event(f"exit {rc}")
        assert "Traceback" not in captured.err, (argv, captured.err)
        if rc == 2:
            assert len(lines) == 1 and lines[0].startswith("rnnkit train: error: "), (argv, lines)
            assert not out.exists(), argv  # nothing written before the settings are valid
        elif rc == 1:
            assert "the loss became" in captured.out, (argv, captured.out)
        else:
            assert rc == 0, (argv, rc, captured.err)
            cfg = json.loads((out / rd.CONFIG).read_text())
            metrics = json.loads((out / rd.METRICS).read_text())
            assert set(TASKS[task].metrics(cfg)) <= set(metrics), (argv, metrics)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, mnist_dir) -> dict[str, Path]:
    """A finished one-step run of every task."""
    from rnnkit.cli._common import parse_sets
    from rnnkit.cli.train import train_run

    root, runs = tmp_path_factory.mktemp("runs"), {}
    for task in sorted(TASKS):
        extra = {"data_dir": str(mnist_dir)} if task == "mnist" else {}
        overrides = {"max_steps": 1, "batch_size": 2, "tensorboard": False, **extra}
        parse_sets(SMALL[task][1::2], overrides)  # the "key=value" of each --set
        cfg = TASKS[task].resolve_config("default", overrides)
        assert train_run(cfg, root / task, plots=False) == 0
        runs[task] = root / task
    return runs


@st.composite
def config_edits(draw):
    task = draw(st.sampled_from(sorted(TASKS)))
    key = draw(st.sampled_from(keys(task)))
    valid = valid_values(task, key)
    value = draw(st.sampled_from(valid) if valid and draw(st.booleans()) else VALUES)
    command = draw(st.sampled_from(["evaluate", "resume"]))
    return task, key, value, command


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edit=config_edits())
def test_random_config_edits_never_raise_a_traceback(edit, tiny_runs, capsys):
    """An edited config.json: `rnnkit evaluate` and `rnnkit train --resume` (one step more) work (exit 0) or say
    what is wrong in one line (exit 2)."""
    import shutil

    task, key, value, command = edit
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(tiny_runs[task], run)
        cfg = json.loads((run / rd.CONFIG).read_text())
        *parents, leaf = key.split(".")
        d = cfg
        for p in parents:
            d = d.setdefault(p, {})
        d[leaf] = value
        (run / rd.CONFIG).write_text(json.dumps(cfg))
        capsys.readouterr()
        if command == "evaluate":
            rc = main(["evaluate", str(run)])
        else:
            rc = main(["train", "--resume", str(run), "--max-steps", "2", "--no-plots"])
        captured = capsys.readouterr()
        event(f"{command}: exit {rc}")
        assert "Traceback" not in captured.err, (key, value, captured.err)
        assert rc in (0, 1, 2), (key, value, rc)
        if rc == 1:
            assert "the loss became" in captured.out, (key, value, captured.out)
        if rc == 2:
            lines = captured.err.strip().splitlines()
            prog = "evaluate" if command == "evaluate" else "train"
            assert len(lines) == 1 and lines[0].startswith(f"rnnkit {prog}: error: "), lines
