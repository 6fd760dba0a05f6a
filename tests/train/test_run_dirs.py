"""Run directories are never destroyed: a user's folder, a finished run, a live run, a run killed early.

The data-loss cases go through the real ``rnnkit`` command in a child process (exit code, one line on stderr, no
traceback, every file byte for byte as it was); the resume cases compare bit for bit with an uninterrupted run
(tests/train/_runs.py). See NOTE [run directory lock] in train/rundir.py and NOTE [finished runs] in
train/run_state.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.cli.train import train_run
from rnnkit.train import Checkpoint, save_checkpoint
from rnnkit.train import rundir as rd
from tests.train._runs import SRC, TINY, assert_same_run, config, records

# the early-stopping sine run, small: stops at its first evaluation (step 2 of 6)
STOPPING = {"max_steps": 6, "eval_every": 2, "stop_metric": "test_mse", "stop_at_least": 0}
TINY_ARGS = [
    "--batch-size",
    "4",
    *(
        f"--set={k}={json.dumps(v)}"
        for k, v in TINY.items()
        if k not in ("max_steps", "batch_size")
    ),
]


def rnnkit(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m rnnkit ARGV`` in a child process (the installed ``rnnkit`` script runs the same main)."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rnnkit", *map(str, argv)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(proc: subprocess.CompletedProcess, message: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("rnnkit ") and message in lines[0], lines[0]


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative name -> bytes): to check that nothing was touched."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


class Killed(BaseException):
    """What a SIGKILL does to the code after it: nothing more runs (no except Exception, no cleanup writes)."""


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    assert train_run(config(), run_dir, plots=False) == 0
    return run_dir


@pytest.fixture(scope="module")
def stopped(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("stopped") / "run"
    assert train_run(config(**STOPPING), run_dir, plots=False) == 0
    return run_dir


# --- item 1: --out that is a user's folder --------------------------------------------------------------------


def test_out_that_is_a_users_folder_is_refused_untouched(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "metrics.json").write_text('{"xs": "mine"}\n')
    (mine / "metrics.jsonl").write_text('{"step": "mine"}\n')
    (mine / "loss.png").write_bytes(b"\x89PNG mine")
    before = tree(mine)
    proc = rnnkit("train", "sine", "--max-steps", "2", *TINY_ARGS, "--out", mine)
    one_error_line(proc, f"{mine} is not empty and holds no rnnkit run")
    assert tree(mine) == before and sorted(p.name for p in mine.iterdir()) == sorted(before)


def test_out_that_is_empty_is_used_and_a_failed_start_leaves_nothing(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(["train", "sine", "--max-steps", "2", *TINY_ARGS, "--out", str(empty), "--no-plots"])
        == 0
    )
    assert (empty / rd.CONFIG).is_file() and (empty / rd.METRICS).is_file()
    # a new directory whose run fails before config.json is written is removed again
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="no data"):
        with rd.new_run_dir(fresh):
            raise RuntimeError("no data")
    assert not fresh.exists()


# --- item 5: two processes on one run directory ---------------------------------------------------------------


def test_a_second_process_on_a_live_run_is_refused(tmp_path, uninterrupted):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(uninterrupted, run_dir)
    with rd.locked(run_dir):  # this process trains it; the child is the second one
        before = tree(run_dir)
        proc = rnnkit("train", "--resume", run_dir, "--max-steps", "10")
        one_error_line(proc, f"{run_dir} is in use by another rnnkit process (pid {os.getpid()})")
        assert tree(run_dir) == before
        new = tmp_path / "new"
        with rd.locked(new):
            proc = rnnkit("train", "sine", "--max-steps", "2", *TINY_ARGS, "--out", new)
            one_error_line(proc, f"{new} is in use by another rnnkit process")
    # once the first process is done, the run can be continued
    assert main(["train", "--resume", str(run_dir), "--max-steps", "10", "--no-plots"]) == 0
    assert Checkpoint(run_dir / rd.CHECKPOINT).step == 10


def test_a_save_leaves_a_live_writers_temp_file_alone(tmp_path):
    import torch

    model = torch.nn.Linear(2, 2)
    path = tmp_path / rd.CHECKPOINT
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    dead_tmp = tmp_path / f".{rd.CHECKPOINT}.{int(dead.stdout)}.abc.tmp"
    live_tmp = (
        tmp_path / f".{rd.CHECKPOINT}.{os.getppid()}.abc.tmp"
    )  # a process that runs (our parent)
    for p in (dead_tmp, live_tmp):
        p.write_bytes(b"half a checkpoint")
    save_checkpoint(path, model, None, 1)
    assert not dead_tmp.exists() and live_tmp.exists()
    assert Checkpoint(path).step == 1


# --- item 2: resuming a finished run --------------------------------------------------------------------------


def test_resume_of_an_early_stopped_run_changes_nothing(tmp_path, stopped):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(stopped, run_dir)
    assert json.loads((run_dir / rd.METRICS).read_text())["steps"] == 2
    before = tree(run_dir)
    proc = rnnkit("train", "--resume", run_dir)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{run_dir} already stopped early at step 2; nothing changed" in proc.stdout
    assert tree(run_dir) == before
    evals = [r["step"] for r in records(run_dir) if r["kind"] == "eval"]
    assert evals == [0, 2]  # the stopping evaluation is the final one: logged once


def test_resume_of_a_finished_run_twice_adds_no_record(tmp_path, uninterrupted, capsys):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(uninterrupted, run_dir)
    before = tree(run_dir)
    for _ in range(2):
        assert main(["train", "--resume", str(run_dir)]) == 0
        assert "already finished at step 8; nothing changed" in capsys.readouterr().out
    assert tree(run_dir) == before


def test_a_finished_run_trains_on_when_asked_for_more_steps(tmp_path, capsys):
    short, full = tmp_path / "short", tmp_path / "full"
    assert train_run(config(max_steps=4), short, plots=False) == 0
    assert main(["train", "--resume", str(short), "--max-steps", "8", "--no-plots"]) == 0
    assert json.loads((short / rd.CONFIG).read_text())["max_steps"] == 8  # recorded
    assert json.loads((short / rd.METRICS).read_text())["steps"] == 8
    steps = [r["step"] for r in records(short) if r["kind"] == "train"]
    assert steps == list(range(1, 9))  # the first part's records are kept, then the new ones
    assert train_run(config(max_steps=8), full, plots=False) == 0
    assert Checkpoint(short / rd.CHECKPOINT).step == Checkpoint(full / rd.CHECKPOINT).step == 8


def _kill_final(monkeypatch, where: str) -> None:
    """Kill the run after its final checkpoint: during the final evaluation, or before metrics.json."""
    from rnnkit.train import loop

    if where == "evaluation":
        real_evaluate, real_mark = loop.evaluate, loop.RunState.mark_finished
        final = []

        def mark_finished(self, *args):
            final.append(True)
            real_mark(self, *args)

        def evaluate(*args):
            if final:
                raise Killed
            return real_evaluate(*args)

        monkeypatch.setattr(loop.RunState, "mark_finished", mark_finished)
        monkeypatch.setattr(loop, "evaluate", evaluate)
    else:
        real_write = rd.write_json

        def write_json(path, obj):
            if Path(path).name == rd.METRICS:
                raise Killed
            real_write(path, obj)

        monkeypatch.setattr(rd, "write_json", write_json)


@pytest.mark.parametrize(
    "kind, where",
    # an early stop's final metrics are those of its stopping evaluation: only metrics.json is left to write
    [("finished", "evaluation"), ("finished", "metrics.json"), ("stopped early", "metrics.json")],
)
def test_a_kill_after_the_final_checkpoint_resumes_to_the_uninterrupted_result(
    tmp_path, monkeypatch, uninterrupted, stopped, kind, where
):
    reference, settings = (uninterrupted, {}) if kind == "finished" else (stopped, STOPPING)
    run_dir = tmp_path / "run"
    with monkeypatch.context() as m:
        _kill_final(m, where)
        with pytest.raises(Killed):
            train_run(config(**settings), run_dir, plots=False)
    assert (
        Checkpoint(run_dir / rd.CHECKPOINT).meta["finished"] and not (run_dir / rd.METRICS).exists()
    )
    assert main(["train", "--resume", str(run_dir), "--no-plots"]) == 0
    assert_same_run(reference, run_dir)
    assert rd.read_jsonl(run_dir / rd.SNAPSHOTS) == rd.read_jsonl(reference / rd.SNAPSHOTS)
    assert (
        main(["train", "--resume", str(run_dir), "--no-plots"]) == 0
    )  # now: finished, nothing added
    assert_same_run(reference, run_dir)


# --- item 13: killed between config.json and the first checkpoint ---------------------------------------------


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(
    tmp_path, monkeypatch, uninterrupted
):
    from rnnkit.train import run_state

    run_dir = tmp_path / "run"

    def killed(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(run_state, "save_checkpoint", killed)
        with pytest.raises(Killed):
            train_run(config(), run_dir, plots=False)
    assert (run_dir / rd.CONFIG).is_file() and not (run_dir / rd.CHECKPOINT).exists()
    assert main(["train", "--resume", str(run_dir), "--no-plots"]) == 0
    assert_same_run(uninterrupted, run_dir)


# --- item 6, 15, 16: what config.json records, file permissions ---------------------------------------------


def test_resume_records_the_precision_it_trains_with(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train_run(config(max_steps=2), run_dir, plots=False) == 0
    assert json.loads((run_dir / rd.CONFIG).read_text())["precision"] == "32"
    argv = [
        "train",
        "--resume",
        str(run_dir),
        "--max-steps",
        "3",
        "--precision",
        "bf16",
        "--no-plots",
    ]
    assert main(argv) == 0
    assert json.loads((run_dir / rd.CONFIG).read_text())["precision"] == "bf16"
    assert main(["evaluate", str(run_dir)]) == 0  # the recorded config still describes the run


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_get_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        run_dir = tmp_path / "run"
        assert train_run(config(max_steps=2), run_dir, plots=False) == 0
    finally:
        os.umask(old)
    for name in (rd.CONFIG, rd.CHECKPOINT, rd.METRICS, rd.METRICS_LOG):
        mode = stat.S_IMODE((run_dir / name).stat().st_mode)
        assert mode == 0o666 & ~umask, (name, oct(mode))


def test_a_relative_data_dir_is_stored_resolved(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    argv = [
        "train",
        "sine",
        "--max-steps",
        "2",
        *TINY_ARGS,
        "--data-dir",
        "data",
        "--out",
        "run",
        "--no-plots",
    ]
    assert main(argv) == 0
    stored = json.loads((tmp_path / "run" / rd.CONFIG).read_text())["data_dir"]
    assert stored == str(tmp_path / "data")
    assert (
        main(
            ["train", "--resume", "run", "--max-steps", "3", "--data-dir", "./data/", "--no-plots"]
        )
        == 0
    )
    assert json.loads((tmp_path / "run" / rd.CONFIG).read_text())["data_dir"] == str(
        tmp_path / "data"
    )


# --- item 3: convert never overwrites what it did not create -------------------------------------------------


def test_convert_leaves_the_runs_checkpoint_and_a_users_files_alone(tmp_path, uninterrupted):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(uninterrupted, run_dir)
    before = tree(run_dir)
    proc = rnnkit("convert", run_dir, run_dir / rd.CHECKPOINT)
    one_error_line(proc, "is the checkpoint of the run in")
    assert tree(run_dir) == before
    export = tmp_path / "export"
    export.mkdir()
    (export / "checkpoint").write_text("my own file\n")
    proc = rnnkit("convert", run_dir, f"{export}/", "--to", "tf")
    one_error_line(proc, f"{export}/checkpoint exists; not replaced (add --force to replace it)")
    assert sorted(p.name for p in export.iterdir()) == ["checkpoint"]
    assert (export / "checkpoint").read_text() == "my own file\n"
    # --force replaces it; converting again into a directory with TF's own state file just adds the prefix
    assert main(["convert", str(run_dir), f"{export}/", "--to", "tf", "--force"]) == 0
    assert main(["convert", str(run_dir), f"{export}/other.ckpt", "--to", "tf"]) == 0
    assert 'model_checkpoint_path: "other.ckpt"' in (export / "checkpoint").read_text()
    assert main(["evaluate", str(run_dir)]) == 0
