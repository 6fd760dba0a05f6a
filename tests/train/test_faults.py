"""Faults while training: nothing good is lost, and a resumed run repeats the uninterrupted one bit for bit.

* a training process SIGKILLed in the middle of writing a checkpoint leaves the previous checkpoint loadable, and
  ``rnnkit train --resume`` finishes with exactly the numbers of an uninterrupted run;
* Ctrl-C at several steps, a log line torn by a kill: the resumed run is the uninterrupted one;
* a full disk or a permission error while saving says which file could not be written and keeps the old one.

Damaged files (truncated, bit flips, bad config) and unpickling: ``test_damaged_files.py``.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.cli.train import train_run
from rnnkit.tasks import TASKS
from rnnkit.train import Checkpoint, save_checkpoint
from rnnkit.train import checkpoint as ckpt_module
from rnnkit.train import rundir as rd
from tests.train._runs import SRC, assert_same_run, config, records, tiny_model


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    assert train_run(config(), run_dir, plots=False) == 0
    return run_dir


# --- SIGKILL while a checkpoint is being written -------------------------------------------------------------

# Runs `rnnkit train` with os.fsync patched: the fsync of the temp file of the checkpoint written at step
# KILL_STEP (the file is complete but not yet renamed into place) announces itself and waits to be killed.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from rnnkit.cli.train import train_run
    from rnnkit.tasks import TASKS
    from rnnkit.train import checkpoint

    run_dir, marker, kill_step, config = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    real_fsync, real_save = os.fsync, checkpoint.save_checkpoint
    armed = []

    def save(path, model, optimizer, step, *args, **kwargs):
        if step == kill_step:
            armed.append(True)
        return real_save(path, model, optimizer, step, *args, **kwargs)

    def fsync(fd):
        real_fsync(fd)
        target = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else ""
        if armed and ".checkpoint.safetensors." in target:
            marker.write_text(target)
            time.sleep(600)

    os.fsync = fsync
    checkpoint.save_checkpoint = save
    import rnnkit.train.run_state as run_state
    run_state.save_checkpoint = save
    import json
    sys.exit(train_run(json.loads(config), run_dir, plots=False))
    """
)


@pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="needs /proc to find the file being written"
)
def test_sigkill_while_writing_a_checkpoint_keeps_the_previous_one_and_resume_finishes_the_run(
    tmp_path, uninterrupted, capsys
):
    run_dir, marker = tmp_path / "run", tmp_path / "writing"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(run_dir), str(marker), "6", json.dumps(config())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached the checkpoint write"
            time.sleep(0.05)
        temp = Path(marker.read_text())
        assert (
            temp.parent == run_dir and temp.exists()
        )  # killed with the new checkpoint half-way in place
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    previous = Checkpoint(run_dir / rd.CHECKPOINT)
    assert previous.step == 4  # the last complete checkpoint, untouched
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "--no-plots"]) == 0
    assert_same_run(uninterrupted, run_dir)
    assert not list(run_dir.glob(".checkpoint.safetensors.*")), (
        "the dead writer's temp file was left behind"
    )


# --- resume at several points: bit-identical to the uninterrupted run -------------------------------------


@pytest.mark.parametrize("stop_at", [1, 3, 4, 7])
def test_resume_at_any_step_repeats_the_uninterrupted_run_exactly(
    tmp_path, uninterrupted, monkeypatch, capsys, stop_at
):
    """Ctrl-C at step ``stop_at`` (between two checkpoints or right at one), then ``--resume``."""
    cls = TASKS["sine"]
    original = cls.train_loss

    def interrupt(self, step):
        if step == stop_at:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, step)

    monkeypatch.setattr(cls, "train_loss", interrupt)
    assert train_run(config(), tmp_path / "run", plots=False) == 130
    monkeypatch.setattr(cls, "train_loss", original)
    assert main(["train", "--resume", str(tmp_path / "run"), "--no-plots"]) == 0
    assert_same_run(uninterrupted, tmp_path / "run")


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path, uninterrupted):
    assert train_run(config(), tmp_path / "again", plots=False) == 0
    assert_same_run(uninterrupted, tmp_path / "again")
    assert train_run(config(seed=1), tmp_path / "other", plots=False) == 0
    assert records(tmp_path / "other") != records(uninterrupted)


# --- a log line torn by a kill --------------------------------------------------------------------------------


def test_resume_after_a_torn_metrics_line_repeats_the_run(
    tmp_path, uninterrupted, monkeypatch, capsys
):
    """A kill in the middle of appending to metrics.jsonl leaves half a line; resume drops it and goes on."""
    cls = TASKS["sine"]
    original = cls.train_loss

    def interrupt(self, step):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, step)

    monkeypatch.setattr(cls, "train_loss", interrupt)
    assert train_run(config(), tmp_path / "run", plots=False) == 130
    monkeypatch.setattr(cls, "train_loss", original)
    with open(tmp_path / "run" / rd.METRICS_LOG, "a") as f:
        f.write('{"kind": "train", "step": 6, "lo')  # what SIGKILL during append_jsonl leaves
    assert main(["train", "--resume", str(tmp_path / "run"), "--no-plots"]) == 0
    assert_same_run(uninterrupted, tmp_path / "run")


def test_a_damaged_line_inside_metrics_log_names_the_file(tmp_path):
    log = tmp_path / rd.METRICS_LOG
    log.write_text('{"step": 1}\n{"step": 2, oops}\n{"step": 3}\n')
    with pytest.raises(ValueError, match=f"^{log}: line 2 is not JSON"):
        rd.read_jsonl(log)
    log.write_text('{"step": 1}\n{"step": 2, "lo')
    assert rd.read_jsonl(log) == [{"step": 1}]  # only a torn *last* line is dropped


# --- a full disk or no permission while saving ---------------------------------------------------------------


@pytest.mark.parametrize(
    "fault, message",
    [
        ("disk_full", "No space left on device"),
        ("permission", "Permission denied"),
    ],
)
def test_failed_save_names_the_file_and_keeps_the_old_checkpoint(
    tmp_path, monkeypatch, fault, message
):
    path = tmp_path / "checkpoint.safetensors"
    model, opt = tiny_model()
    save_checkpoint(path, model, opt, step=1)
    before = path.read_bytes()
    if fault == "disk_full":
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                self.f.write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            def __getattr__(self, name):
                return getattr(self.f, name)

        monkeypatch.setattr(
            ckpt_module.os, "fdopen", lambda fd, *a, **k: Full(real_fdopen(fd, *a, **k))
        )
    else:

        def denied(*args, **kwargs):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path))

        monkeypatch.setattr(ckpt_module.tempfile, "mkstemp", denied)
    with torch.no_grad():
        model.weight.add_(1.0)
    with pytest.raises(OSError) as info:
        save_checkpoint(path, model, opt, step=2)
    text = str(info.value)
    assert str(path) in text and message in text, text
    assert "the previous version of the file, if any, is kept" in text, text
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old checkpoint, byte for byte
    assert Checkpoint(path).step == 1
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_cli_reports_a_failed_save_in_one_line(tmp_path, monkeypatch, capsys):
    real_mkstemp = ckpt_module.tempfile.mkstemp

    def full(*args, prefix="", **kwargs):
        if "checkpoint" in prefix:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_mkstemp(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(ckpt_module.tempfile, "mkstemp", full)
    argv = ["train", "sine", "--out", str(tmp_path / "run"), "--max-steps", "2", "--no-plots"]
    argv += ["--set", "tensorboard=false", "--set", "cell_size=4", "--batch-size", "4"]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("rnnkit train: error: ") and "checkpoint.safetensors" in lines[0]
    assert "No space left on device" in lines[0]
