"""Faults while training: nothing good is lost, every failure is one clear message naming the file.

* a training process SIGKILLed in the middle of writing a checkpoint leaves the previous checkpoint loadable, and
  ``rnnkit train --resume`` finishes with exactly the numbers of an uninterrupted run;
* a full disk or a permission error while saving says which file could not be written and keeps the old one;
* a truncated or corrupted checkpoint or config gives an error naming the file (the CLI: exit 2, one line);
* loading never unpickles.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.cli import main
from rnnkit.cli.train import train_run
from rnnkit.tasks import TASKS
from rnnkit.train import Checkpoint, save_checkpoint
from rnnkit.train import checkpoint as ckpt_module
from rnnkit.train import rundir as rd

SRC = Path(rnnkit.__file__).resolve().parents[1]
TINY = {  # a sine run of 8 steps, a checkpoint every 2: seconds on CPU
    "max_steps": 8,
    "batch_size": 4,
    "cell_size": 4,
    "test_windows": 2,
    "log_every": 1,
    "eval_every": 4,
    "checkpoint_every": 2,
    "tensorboard": False,
}
TIMING = {"examples_per_s", "elapsed_s", "train_seconds", "cpu_seconds"}  # clock readings differ run to run


def _config(**changes):
    return TASKS["sine"].resolve_config("seed000", {**TINY, **changes})


def _records(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock fields (everything else must repeat bit for bit)."""
    return [
        {k: v for k, v in r.items() if k not in TIMING}
        for r in rd.read_jsonl(run_dir / rd.METRICS_LOG)
    ]


def _final(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / rd.METRICS).read_text())
    return {k: v for k, v in metrics.items() if k not in TIMING}


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return Checkpoint(run_dir / rd.CHECKPOINT).model_state()


def _assert_same_run(a: Path, b: Path) -> None:
    assert _records(a) == _records(b)
    assert _final(a) == _final(b)
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    assert train_run(_config(), run_dir, plots=False) == 0
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
    import rnnkit.train.loop as loop
    loop.save_checkpoint = save
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
        [sys.executable, "-c", CHILD, str(run_dir), str(marker), "6", json.dumps(_config())],
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
    _assert_same_run(uninterrupted, run_dir)
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
    assert train_run(_config(), tmp_path / "run", plots=False) == 130
    monkeypatch.setattr(cls, "train_loss", original)
    assert main(["train", "--resume", str(tmp_path / "run"), "--no-plots"]) == 0
    _assert_same_run(uninterrupted, tmp_path / "run")


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path, uninterrupted):
    assert train_run(_config(), tmp_path / "again", plots=False) == 0
    _assert_same_run(uninterrupted, tmp_path / "again")
    assert train_run(_config(seed=1), tmp_path / "other", plots=False) == 0
    assert _records(tmp_path / "other") != _records(uninterrupted)


# --- a full disk or no permission while saving ---------------------------------------------------------------


def _tiny_model():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.Adam(model.parameters())


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
    model, opt = _tiny_model()
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


# --- truncated or corrupted files ---------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path) -> Path:
    path = tmp_path / "checkpoint.safetensors"
    model, opt = _tiny_model()
    save_checkpoint(path, model, opt, step=3, meta={"x": 1})
    return path


@pytest.mark.parametrize("keep", [0, 4, 8, 20, -200, -1])
def test_truncated_checkpoint_names_the_file(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: keep if keep >= 0 else len(data) + keep])
    with pytest.raises(ValueError, match=f"^Checkpoint: cannot read {saved}"):
        Checkpoint(saved)


@pytest.mark.parametrize("where", ["header", "tensor data", "last byte"])
def test_corrupted_checkpoint_bytes_are_detected(saved, where):
    """safetensors has no checksum of its own: rnnkit's checkpoints carry a SHA-256 of the tensor bytes."""
    data = bytearray(saved.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    index = {
        "header": 8 + header_len // 2,
        "tensor data": 8 + header_len + 5,
        "last byte": len(data) - 1,
    }[where]
    data[index] ^= 0x40
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"^Checkpoint: cannot read {saved}"):
        Checkpoint(saved)


def test_checkpoint_with_a_broken_header_document_names_the_file(saved):
    from safetensors.torch import load_file, save_file

    tensors = load_file(saved)
    save_file(
        tensors, saved, metadata={"format": ckpt_module.FORMAT, "step": "3", "json": "{broken"}
    )
    with pytest.raises(ValueError, match=f"^Checkpoint: cannot read {saved}"):
        Checkpoint(saved)
    save_file(tensors, saved, metadata={"format": ckpt_module.FORMAT})
    with pytest.raises(ValueError, match=f"^Checkpoint: cannot read {saved}"):
        Checkpoint(saved)


def _damaged(text: str, damage: str) -> str:
    cfg = json.loads(text)
    if damage == "missing setting":
        del cfg["max_steps"]
    elif damage == "bad value":
        cfg["lr"] = "fast"
    elif damage == "does not fit the checkpoint":
        cfg["cell_size"] = 7
    else:
        return {
            "truncated": text[: len(text) // 2],
            "not json": "\x00\x01",
            "not an object": "[1]",
            "no task": "{}",
        }[damage]
    return json.dumps(cfg)


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "not json",
        "not an object",
        "no task",
        "missing setting",
        "bad value",
        "does not fit the checkpoint",
    ],
)
def test_cli_with_a_damaged_config_names_the_file(tmp_path, capsys, damage):
    run_dir = tmp_path / "run"
    assert train_run(_config(max_steps=2), run_dir, plots=False) == 0
    config = run_dir / rd.CONFIG
    config.write_text(_damaged(config.read_text(), damage))
    if (
        damage == "does not fit the checkpoint"
    ):  # then it is the checkpoint that is named, with the model
        config = run_dir / rd.CHECKPOINT
    capsys.readouterr()
    for argv in (
        ["evaluate", str(run_dir)],
        ["train", "--resume", str(run_dir)],
        ["plot", str(run_dir)],
    ):
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert str(config) in err, err


def test_cli_with_a_damaged_checkpoint_names_the_file(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train_run(_config(max_steps=2), run_dir, plots=False) == 0
    ckpt = run_dir / rd.CHECKPOINT
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    capsys.readouterr()
    for argv in (
        ["evaluate", str(run_dir)],
        ["train", "--resume", str(run_dir)],
        ["predict", str(run_dir)],
    ):
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert str(ckpt) in err, err


# --- never unpickle ----------------------------------------------------------------------------------------


def test_loading_never_unpickles(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    assert train_run(_config(max_steps=2), run_dir, plots=False) == 0

    def refuse(*args, **kwargs):
        raise AssertionError("something unpickled while loading")

    class Refuse:
        def __init__(self, *args, **kwargs):
            refuse()

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", Refuse)
    monkeypatch.setattr(torch, "load", refuse)
    Checkpoint(run_dir / rd.CHECKPOINT).restore(TASKS["sine"](_config(max_steps=2)).model)
    assert main(["evaluate", str(run_dir)]) == 0
    assert main(["train", "--resume", str(run_dir), "--no-plots"]) == 0


def test_no_source_file_can_unpickle():
    """A static check of the whole package: no pickle, no torch.load, no np.load with allow_pickle."""
    import ast

    offenders = []
    for path in sorted((SRC / "rnnkit").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib") for n in names):
                    offenders.append(f"{path.name}:{node.lineno} imports {names}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                call = ast.unparse(node.func)
                kwargs = {k.arg: ast.unparse(k.value) for k in node.keywords}
                if (
                    call in ("torch.load", "torch.jit.load")
                    and kwargs.get("weights_only") != "True"
                ):
                    offenders.append(f"{path.name}:{node.lineno} {call} without weights_only=True")
                if call in ("np.load", "numpy.load") and kwargs.get("allow_pickle") not in (
                    None,
                    "False",
                ):
                    offenders.append(f"{path.name}:{node.lineno} {call} with allow_pickle")
    assert not offenders, offenders
