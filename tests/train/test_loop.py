"""The generic loop on a toy task: files, progress lines, exact resume after Ctrl-C, NaN stop."""

import json
import os
import signal

import pytest
import torch

from rnnkit.train import Checkpoint, LoopConfig, Trainable, TrainingDiverged, fit
from rnnkit.train import rundir as rd


class Toy(Trainable):
    """Noisy linear regression with dropout, so that resuming must restore the RNG too."""

    def __init__(self, sigint_at=None, nan_at=None):
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Dropout(0.3), torch.nn.Linear(8, 1)
        )
        self.sigint_at, self.nan_at = sigint_at, nan_at
        self.w = torch.arange(4.0)

    def train_loss(self, step):
        if step == self.sigint_at:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does
        g = torch.Generator().manual_seed(step)
        x = torch.randn(16, 4, generator=g)
        loss = (self.model(x)[:, 0] - x @ self.w).pow(2).mean()
        return (loss * float("nan") if step == self.nan_at else loss), 16

    def evaluate(self):
        x = torch.randn(64, 4, generator=torch.Generator().manual_seed(-1))
        return {"test_mse": (self.model(x)[:, 0] - x @ self.w).pow(2).mean().item()}


def _run(task, d, resume=False, **kw):
    cfg = LoopConfig(
        max_steps=20,
        lr=0.05,
        schedule="onecycle",
        warmup=0.2,
        log_every=4,
        eval_every=5,
        checkpoint_every=5,
        tensorboard=False,
        tty=False,
        **kw,
    )
    return fit(task, torch.optim.Adam(task.model.parameters(), lr=0.05), cfg, d, resume=resume)


def test_run_files_and_progress_lines(tmp_path, capsys):
    m = _run(Toy(), tmp_path)
    assert set(m) == {"test_mse", "steps", "train_seconds", "cpu_seconds", "stopped_early"}
    assert m["steps"] == 20 and 0 < m["cpu_seconds"]
    assert json.loads((tmp_path / rd.METRICS).read_text())["test_mse"] == m["test_mse"]
    recs = rd.read_jsonl(tmp_path / rd.METRICS_LOG)
    assert [r["step"] for r in recs if r["kind"] == "train"] == [4, 8, 12, 16, 20]
    assert [r["step"] for r in recs if r["kind"] == "eval"] == [5, 10, 15, 20]
    assert Checkpoint(tmp_path / rd.CHECKPOINT).step == 20
    err = capsys.readouterr().err
    assert "step 4/20  loss" in err and "ex/s" in err


def test_sigint_saves_and_resume_is_bit_exact(tmp_path):
    full = _run(Toy(), tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        _run(Toy(sigint_at=12), tmp_path / "b")
    assert Checkpoint(tmp_path / "b" / rd.CHECKPOINT).step == 13  # the step in flight finished
    task = Toy()
    resumed = _run(task, tmp_path / "b", resume=True)
    assert resumed["test_mse"] == full["test_mse"]
    for t_full, t_res in zip(Toy().model.parameters(), task.model.parameters()):
        assert not torch.equal(t_full, t_res)  # the resumed model really trained

    def untimed(d):
        return [
            {k: v for k, v in r.items() if k not in ("examples_per_s", "elapsed_s")}
            for r in rd.read_jsonl(d / rd.METRICS_LOG)
        ]

    assert untimed(tmp_path / "b") == untimed(tmp_path / "a")


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
    with pytest.raises(
        TrainingDiverged, match=r"loss became nan at step 8; .*last good checkpoint"
    ):
        _run(Toy(nan_at=7), tmp_path)
    ck = Checkpoint(tmp_path / rd.CHECKPOINT)
    assert ck.step == 5
    assert all(torch.isfinite(v).all() for v in ck.model_state().values())


def test_early_stop_on_metric(tmp_path):
    m = _run(Toy(), tmp_path, stop_metric="test_mse", stop_at_least=-1.0)
    assert m["stopped_early"] and m["steps"] == 5


def test_progress_bar_on_a_terminal_shows_loss_and_throughput():
    import io

    from rnnkit.train.progress import Progress

    buf = io.StringIO()
    p = Progress(total=20, initial=0, every=5, stream=buf, tty=True)
    for s in range(1, 21):
        p.update(s, 0.5, 123.0, 1e-3)
    p.close()
    out = buf.getvalue()
    assert "20/20" in out and "loss=0.5" in out and "ex_s=123" in out
    assert "step 5/20" not in out  # no plain lines when a bar is shown
