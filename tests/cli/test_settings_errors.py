"""Bad settings and damaged run files through the real ``rnnkit`` entry point (issue 15, items 4 and 7-14).

Every case: exit code 2, one line on stderr naming the setting or the file, no traceback, and nothing written:
the scratch directory (a copy of a tiny finished sine run, a fake MNIST directory, ...) is byte for byte the same
after the command, and a fresh ``--out`` does not exist. docs/errors.md carries the table
(``tools/errors_table.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save as st_save
from safetensors.torch import save_file

from rnnkit.cli import main
from rnnkit.cli.train import train_run
from rnnkit.data import mnist as M
from rnnkit.tasks import TASKS
from rnnkit.train import checkpoint as ck
from rnnkit.train import rundir as rd
from tests._errors import assert_in_doc
from tests.cli.test_cli_errors import CliCase
from tests.data.test_mnist import write_fake
from tests.tf_checkpoint._fixtures import prefix as tf_fixture

C = CliCase
QUICK = ["--max-steps", "1", "--set", "tensorboard=false", "--no-plots"]
BASE: dict[str, Callable[[Path], list[str]]] = {
    "sine": lambda d: [
        *QUICK,
        "--batch-size",
        "4",
        "--set",
        "cell_size=4",
        "--set",
        "test_windows=2",
    ],
    "series": lambda d: [*QUICK, "--batch-size", "4", "--set", "num_units=4"],
    "mnist": lambda d: [
        *QUICK,
        "--batch-size",
        "4",
        "--data-dir",
        str(d / "mnist"),
        "--set",
        "model.num_units=4",
        "--set",
        "eval_examples=4",
    ],
}


def new(task: str, *settings: str, preset: str | None = None) -> Callable[[Path], list[str]]:
    """``rnnkit train TASK --out SCRATCH/new`` (tiny) with ``--set S`` for each setting."""
    sets = [a for s in settings for a in ("--set", s)]
    more = ["--preset", preset] if preset else []
    return lambda d: ["train", task, "--out", str(d / "new"), *more, *BASE[task](d), *sets]


def on_run(*argv: str) -> Callable[[Path], list[str]]:
    """A command on SCRATCH/run (``RUN`` in ``argv`` is replaced by that path)."""
    return lambda d: [str(d / "run") if a == "RUN" else a for a in argv]


def edit_config(**changes) -> Callable[[Path], None]:
    def prepare(d: Path) -> None:
        shutil.copytree(d / "good", d / "run")
        cfg = json.loads((d / "run" / rd.CONFIG).read_text())
        (d / "run" / rd.CONFIG).write_text(json.dumps({**cfg, **changes}))

    return prepare


def prepend(name: str, line: bytes) -> Callable[[Path], None]:
    """A copy of the good run whose ``name`` (a JSON-lines file) starts with ``line``."""

    def prepare(d: Path) -> None:
        shutil.copytree(d / "good", d / "run")
        f = d / "run" / name
        f.write_bytes(line + b"\n" + f.read_bytes())

    return prepare


def edit_checkpoint(change: Callable[[dict, dict], None]) -> Callable[[Path], None]:
    """A copy of the good run whose checkpoint is rewritten by ``change(tensors, json_doc)`` with a valid digest
    (what a buggy writer or a hand edit makes: the SHA-256 check cannot catch it)."""

    def prepare(d: Path) -> None:
        shutil.copytree(d / "good", d / "run")
        path = d / "run" / rd.CHECKPOINT
        with safe_open(str(path), framework="pt") as f:
            header = dict(f.metadata())
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        doc = json.loads(header["json"])
        change(tensors, doc)
        header["json"] = json.dumps(doc)
        header["sha256"] = ck._digest(tensors, header)
        path.write_bytes(st_save(tensors, metadata=header))

    return prepare


def _no_optimizer(t: dict, doc: dict) -> None:
    del doc["optimizer"]
    for k in [k for k in t if k.startswith("optim/")]:
        del t[k]


def _adam_shape(t: dict, doc: dict) -> None:
    t["optim/0/exp_avg"] = torch.zeros(3)


def mnist_data(change: Callable[[Path], None] | None = None, **sizes) -> Callable[[Path], None]:
    """A fake MNIST directory SCRATCH/mnist (``sizes``: n_train, n_test), then ``change(dir)``."""

    def prepare(d: Path) -> None:
        write_fake(d / "mnist", **{"n_train": 20, "n_test": 6, **sizes})
        if change is not None:
            change(d / "mnist")

    return prepare


def _rank0_labels(m: Path) -> None:
    (m / M.FILES["train_labels"]).write_bytes(gzip.compress(bytes([0, 0, 8, 0])))


def _float8(d: Path) -> None:
    save_file({"w": torch.ones(2, 3).to(torch.float8_e4m3fn)}, str(d / "f8.safetensors"))


MN = mnist_data()
# the good run is finished: a plain --resume would say so and change nothing; --max-steps trains it on
RESUME = on_run("train", "--resume", "RUN", "--max-steps", "4")
IMG = M.FILES["train_images"]
# fmt: off
CASES = [
    # --- item 4/7: `--set` values, checked before the run directory exists ----------------------------------
    C("set-log-every-0", "train", "`--set log_every=0`", new("sine", "log_every=0"),
      "log_every: expected an integer >= 1, got 0"),
    C("set-schedule", "train", "`--set schedule=bogus`", new("sine", "schedule=bogus"),
      "schedule: expected one of 'constant', 'onecycle', 'cosine', got 'bogus'"),
    C("set-seed-text", "train", "`--set seed='\"abc\"'`", new("sine", 'seed="abc"'),
      "seed: expected an integer in [0, 4294967295], got 'abc'"),
    C("set-seed-negative", "train", "`--set seed=-1`", new("sine", "seed=-1"),
      "seed: expected an integer in [0, 4294967295], got -1"),
    C("set-device", "train", "`--set device=tpu`", new("sine", "device=tpu"),
      "device: expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'"),
    C("set-cell-size-0", "train", "`--set cell_size=0`", new("sine", "cell_size=0"),
      "cell_size: expected an integer >= 1, got 0"),
    C("set-time-steps-0", "train", "`--set time_steps=0`", new("sine", "time_steps=0"),
      "time_steps: expected an integer >= 1, got 0"),
    C("set-test-windows-0", "train", "`--set test_windows=0`", new("sine", "test_windows=0"),
      "test_windows: expected an integer >= 1, got 0"),
    C("set-grad-clip-text", "train", "`--set grad_clip=abc`", new("sine", "grad_clip=abc"),
      "grad_clip: expected null or a finite number > 0, got 'abc'"),
    C("set-grad-clip-negative", "train", "`--set grad_clip=-5` (gradient ascent)", new("series", "grad_clip=-5"),
      "grad_clip: expected null or a finite number > 0, got -5"),
    C("set-unknown-key", "train", "`--set typo_key=1`", new("sine", "typo_key=1"),
      "unknown setting 'typo_key' for task sine; known: batch_size, cell_size, checkpoint_every, data_dir,"),
    C("set-misspelt-key", "train", "`--set cel_size=4`", new("sine", "cel_size=4"),
      "unknown setting 'cel_size' for task sine (did you mean cell_size?); known: "),
    C("set-task-key", "train", "`--set task=series`", new("sine", "task=series"),
      "unknown setting 'task' for task sine"),
    C("set-stop-metric", "train", "`--set stop_metric=test_acc` (no such metric)",
      new("sine", "stop_metric=test_acc", "stop_at_least=0"),
      "stop_metric: expected a metric task sine reports (test_mse), got 'test_acc'"),
    C("set-stop-at-least-alone", "train", "`--set stop_at_least=1` without stop_metric", new("series", "stop_at_least=1"),
      "stop_metric and stop_at_least: expected both or neither, got stop_metric=None, stop_at_least=1"),
    C("set-stop-at-least-text", "train", "`--set stop_at_least='\"x\"'`", new("series", 'stop_at_least="x"'),
      "stop_at_least: expected null or a finite number, got 'x'"),
    C("set-lr-bool", "train", "`--set lr=true`", new("sine", "lr=true"),
      "lr: expected a finite number > 0, got true"),
    C("set-lr-nan", "train", "`--set lr=NaN`", new("sine", "lr=NaN"), "lr: expected a finite number > 0, got nan"),
    C("set-lr-huge-int", "train", "`--set lr=1` followed by 400 zeros (no float holds it)",
      new("sine", "lr=1" + "0" * 400), "lr: expected a finite number > 0, got 1000"),
    C("set-max-steps-bool", "train", "`--set max_steps=true`", new("sine", "max_steps=true"),
      "max_steps: expected null or an integer >= 1, got true"),
    C("set-max-steps-float", "train", "`--set max_steps=2.5`", new("sine", "max_steps=2.5"),
      "max_steps: expected null or an integer >= 1, got 2.5"),
    C("set-warmup", "train", "`--set warmup=2`", new("sine", "warmup=2"),
      "warmup: expected a finite number >= 0 and <= 1, got 2"),
    C("set-eval-every", "train", "`--set eval_every=-1`", new("sine", "eval_every=-1"),
      "eval_every: expected an integer >= 0 or one of 'epoch', got -1"),
    C("set-tensorboard", "train", "`--set tensorboard=1`", new("sine", "tensorboard=1"),
      "tensorboard: expected true or false, got 1"),
    C("set-precision", "train", "`--set precision=8`", new("sine", "precision=8"),
      "precision: expected one of '32', 'bf16', '16-mixed', got 8"),
    C("set-init-std", "train", "`--set init.std=0`", new("sine", "init.std=0"),
      "init.std: expected a finite number > 0, got 0"),
    C("set-init-unknown", "train", "`--set init.mean=0`", new("sine", "init.mean=0"),
      "unknown setting 'init.mean' for task sine (did you mean init.init?); known: init.bias_init, init.bias_std, init.init, init.std"),
    C("set-model-cell", "train", "`--set model.cell=gru`", new("mnist", "model.cell=gru"),
      "model.cell: expected one of 'basic_lstm', 'basic_rnn', 'lstm', got 'gru'", MN),
    C("set-rows-per-step", "train", "`--set model.rows_per_step=3`", new("mnist", "model.rows_per_step=3"),
      "model.rows_per_step: expected one of 1, 2, 4, 7, 14, 28, got 3", MN),
    C("set-keep-prob-0", "train", "`--set model.keep_prob=0`", new("mnist", "model.keep_prob=0"),
      "model.keep_prob: expected null or a finite number > 0 and <= 1, got 0", MN),
    C("set-model-text", "train", "`--set model=abc`", new("mnist", "model=abc"),
      "model: expected an object of settings, got 'abc'", MN),
    C("set-model-unknown", "train", "`--set model.num_unit=4`", new("mnist", "model.num_unit=4"),
      "unknown setting 'model.num_unit' for task mnist (did you mean model.num_units?)", MN),
    C("set-layout-bidirectional", "train", "a seed program's TF layout with `model.bidirectional=true`",
      new("mnist", "model.bidirectional=true", preset="seed001"),
      "model.bidirectional: expected false with model.tf_layout 'seed001' (a one-direction seed program), "
      "got true", MN),
    C("set-validation-negative", "train", "`--set validation_size=-100`", new("mnist", "validation_size=-100"),
      "validation_size: expected an integer >= 0, got -100", MN),
    C("set-validation-too-big", "train", "`--set validation_size=100000`", new("mnist", "validation_size=100000"),
      "validation_size: expected fewer than the 20 training images, got 100000", MN),
    C("set-batch-too-big", "train", "a batch larger than the training images left",
      new("mnist", "validation_size=18", "batch_size=4"),
      "batch_size: expected at most the 2 training images left after validation_size 18, got 4", MN),
    C("set-eval-batch-0", "train", "`--set eval_batch=0`", new("mnist", "eval_batch=0"),
      "eval_batch: expected an integer >= 1, got 0", MN),
    C("set-eval-examples", "train", "`--set eval_examples=-5`", new("mnist", "eval_examples=-5"),
      "eval_examples: expected null or an integer >= 1, got -5", MN),
    C("set-eval-examples-big", "train", "more eval_examples than test images", new("mnist", "eval_examples=7"),
      "eval_examples: expected at most the 6 test images, got 7", MN),
    C("set-augment-shift", "train", "`--set augment_shift=-1`", new("mnist", "augment_shift=-1"),
      "augment_shift: expected an integer in [0, 27], got -1", MN),
    C("set-augment-shift-big", "train", "`--set augment_shift=100`", new("mnist", "augment_shift=100"),
      "augment_shift: expected an integer in [0, 27], got 100", MN),
    C("set-heldout", "train", "`--set heldout=5`", new("series", "heldout=5"),
      "heldout: expected a non-empty list of [lo, hi] intervals, lo < hi, got 5"),
    C("set-heldout-everything", "train", "held-out intervals leaving no training window",
      new("series", "heldout=[[0,30]]"),
      "heldout: expected room for 2-long training windows outside the held-out intervals within [0, 30]"),
    C("set-t-max", "train", "`--set t_max=-1`", new("series", "t_max=-1"),
      "t_max: expected more than t_min=0.0, got -1"),
    C("set-mode", "train", "`--set mode=x`", new("series", "mode=x"),
      "mode: expected one of 'next_step', 'seed004', got 'x'"),
    # --- item 14 ------------------------------------------------------------------------------------------------
    C("set-burn-in", "train", "series `burn_in` >= `n_steps`", new("series", "burn_in=25"),
      "burn_in: expected fewer steps than a window has (20), got 25: the loss would have no step left"),
    C("import-tf-set", "import-tf", "`--set cell_size=0`",
      lambda d: ["import-tf", str(tf_fixture("sine_seed000")), "--task", "sine", "--set", "cell_size=0",
                 "--out", str(d / "new")], "cell_size: expected an integer >= 1, got 0"),
    C("import-tf-unknown", "import-tf", "`--set typo=1`",
      lambda d: ["import-tf", str(tf_fixture("sine_seed000")), "--task", "sine", "--set", "typo=1",
                 "--out", str(d / "new")], "unknown setting 'typo' for task sine"),
    # --- item 8: an edited config.json -----------------------------------------------------------------------
    C("config-seed", "train", "`--resume` of a config.json with `\"seed\": \"abc\"`", RESUME,
      "{d}/run/config.json is damaged: seed: expected an integer in [0, 4294967295], got 'abc'",
      edit_config(seed="abc")),
    C("config-device", "evaluate", "config.json with `\"device\": \"tpu\"`", on_run("evaluate", "RUN"),
      "{d}/run/config.json is damaged: device: expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'",
      edit_config(device="tpu")),
    C("config-device-number", "plot", "config.json with `\"device\": 5`", on_run("plot", "RUN"),
      "{d}/run/config.json is damaged: device: expected 'cpu', 'cuda' or 'cuda:N', got 5", edit_config(device=5)),
    C("config-cell-size", "train", "`--resume` of a config.json with `\"cell_size\": 0`",
      RESUME,
      "{d}/run/config.json is damaged: cell_size: expected an integer >= 1, got 0", edit_config(cell_size=0)),
    C("config-init", "evaluate", "config.json with `\"init\": \"x\"`", on_run("evaluate", "RUN"),
      "{d}/run/config.json is damaged: init: expected an object of settings, got 'x'", edit_config(init="x")),
    C("config-test-windows", "plot", "config.json with `\"test_windows\": 0`", on_run("plot", "RUN"),
      "{d}/run/config.json is damaged: test_windows: expected an integer >= 1, got 0",
      edit_config(test_windows=0)),
    C("config-unknown", "predict", "config.json with an unknown key", on_run("predict", "RUN"),
      "{d}/run/config.json is damaged: unknown setting 'lr_decay' for task sine", edit_config(lr_decay=0.5)),
    C("config-batch-size", "train", "`--resume` of a config.json with another `batch_size`",
      RESUME,
      "sine: the checkpoint carries a state of shape [4, 4] (rows, units), this run has batch_size 7 and "
      "cell_size 4; resume with the batch_size, cell_size and number of processes the run was trained with",
      edit_config(batch_size=7)),
    # --- item 9: metrics.jsonl / snapshots.jsonl ---------------------------------------------------------------
    C("log-not-utf8", "plot", "a non-UTF-8 byte in metrics.jsonl", on_run("plot", "RUN"),
      "{d}/run/metrics.jsonl: line 1 is not UTF-8 text", prepend(rd.METRICS_LOG, b'{"step": 0, "x": "\xff"}')),
    C("log-not-utf8-resume", "train", "`--resume` with a non-UTF-8 byte in metrics.jsonl",
      RESUME, "{d}/run/metrics.jsonl: line 1 is not UTF-8 text",
      prepend(rd.METRICS_LOG, b"\xff")),
    C("log-list", "plot", "a line `[1,2]` in metrics.jsonl", on_run("plot", "RUN"),
      "{d}/run/metrics.jsonl: line 1: expected a JSON object, got [1, 2]", prepend(rd.METRICS_LOG, b"[1,2]")),
    C("log-number", "train", "`--resume` with a line `5` in metrics.jsonl", RESUME,
      "{d}/run/metrics.jsonl: line 1: expected a JSON object, got 5", prepend(rd.METRICS_LOG, b"5")),
    C("log-step-text", "train", "`--resume` with `\"step\": \"x\"` in metrics.jsonl",
      RESUME, "{d}/run/metrics.jsonl: line 1: expected an integer step >= 0, got \"x\"",
      prepend(rd.METRICS_LOG, b'{"kind": "train", "step": "x", "loss": 1, "lr": 1}')),
    C("log-no-loss", "plot", "a train record without `loss`", on_run("plot", "RUN"),
      "{d}/run/metrics.jsonl: line 1: expected a number loss in a train record, got null",
      prepend(rd.METRICS_LOG, b'{"kind": "train", "step": 1, "lr": 0.1}')),
    C("snapshot-no-xs", "plot", "a snapshot without `xs`", on_run("plot", "RUN"),
      "{d}/run/snapshots.jsonl: line 1: expected a non-empty list of numbers xs, got null",
      prepend(rd.SNAPSHOTS, b'{"step": 0, "true": [1], "pred": [1]}')),
    # --- item 10: checkpoints with a valid digest but missing or misshapen state ------------------------------
    C("ckpt-no-carry", "train", "`--resume` of a checkpoint without `extra/carry`",
      RESUME,
      "Checkpoint: {d}/run/checkpoint.safetensors has no tensor extra/carry/0, which this run needs to continue",
      edit_checkpoint(lambda t, doc: t.pop("extra/carry/0"))),
    C("ckpt-no-carry-evaluate", "evaluate", "a checkpoint without `extra/carry`", on_run("evaluate", "RUN"),
      "Checkpoint: {d}/run/checkpoint.safetensors has no tensor extra/carry/1",
      edit_checkpoint(lambda t, doc: t.pop("extra/carry/1"))),
    C("ckpt-no-optimizer", "train", "`--resume` of a checkpoint without optimizer state",
      RESUME,
      "Checkpoint: {d}/run/checkpoint.safetensors holds no optimizer state; a run cannot continue from it",
      edit_checkpoint(_no_optimizer)),
    C("ckpt-no-rng", "train", "`--resume` of a checkpoint without `rng/torch`", RESUME,
      "Checkpoint: {d}/run/checkpoint.safetensors has no random-number state (rng/torch missing)",
      edit_checkpoint(lambda t, doc: t.pop("rng/torch"))),
    C("ckpt-adam-shape", "train", "`--resume` with a wrongly shaped Adam moment", RESUME,
      "Checkpoint: {d}/run/checkpoint.safetensors does not fit the optimizer: optim/0/exp_avg has shape [3], its "
      "parameter [1, 4]", edit_checkpoint(_adam_shape)),
    # --- item 11: MNIST files ----------------------------------------------------------------------------------
    C("mnist-sums-not-utf8", "train", "a non-UTF-8 `SHA256SUMS.raw`", new("mnist"),
      "{d}/mnist/SHA256SUMS.raw: expected UTF-8 text ('<sha256>  <file name>' per line), got a byte 0xff",
      mnist_data(lambda m: (m / "SHA256SUMS.raw").write_bytes(b"\xff\xfe"))),
    C("mnist-rank-0", "train", "an IDX file of rank 0", new("mnist"),
      "{d}/mnist/train-labels-idx1-ubyte.gz: expected an IDX array of rank >= 1, got rank 0",
      mnist_data(_rank0_labels)),
    C("mnist-no-test", "train", "0 test images", new("mnist"),
      "{d}/mnist/t10k-images-idx3-ubyte.gz: expected at least one image, got 0", mnist_data(n_test=0)),
    C("mnist-no-train", "train", "0 training images", new("mnist"),
      f"{{d}}/mnist/{IMG}: expected at least one image, got 0", mnist_data(n_train=0)),
    C("mnist-validation", "train", "fewer training images than the preset's validation_size",
      new("mnist", preset="seed000"), "validation_size: expected fewer than the 20 training images, got 5000", MN),
    # --- item 12 -------------------------------------------------------------------------------------------------
    C("convert-float8", "convert", "a float8 `.safetensors` to `--to tf`",
      lambda d: ["convert", str(d / "f8.safetensors"), str(d / "out"), "--to", "tf"],
      "{d}/f8.safetensors: tensor 'w' has dtype F8_E4M3, which the TF checkpoint writer cannot hold", _float8),
]
# fmt: on


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("settings") / "good"
    cfg = TASKS["sine"].resolve_config(
        "seed000",
        {"max_steps": 2, "batch_size": 4, "cell_size": 4, "test_windows": 2, "tensorboard": False},
    )
    assert train_run(cfg, run_dir, plots=False) == 0
    return run_dir


def tree(d: Path) -> dict[str, str]:
    """Every file under ``d`` by relative path -> SHA-256 of its bytes (not the run-directory lock, which
    ``--resume`` holds while it reads the run: it records the holder's pid, no data)."""
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.name != rd.LOCK
    }


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_setting_or_file_is_one_line_exit_2_nothing_written(case, tmp_path, good_run, capsys):
    shutil.copytree(good_run, tmp_path / "good")
    if case.prepare is not None:
        case.prepare(tmp_path)
    before = tree(tmp_path)
    rc, err = run_cli(case.argv(tmp_path), capsys)
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"rnnkit {case.command}: error: "), lines[0]
    assert case.message.format(d=tmp_path) in lines[0], lines[0]
    assert not (tmp_path / "new").exists()
    assert tree(tmp_path) == before  # nothing written, nothing changed


def settings_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    rows = ["| command | bad input | the one line says (exit code 2) | test |", "|---|---|---|---|"]
    for c in CASES:
        message = c.message.replace("{d}/", "…/").replace("|", "\\|")
        rows.append(
            f"| `rnnkit {c.command}` | {c.condition} | `{message}` "
            f"| [`{c.id}`](../tests/cli/test_settings_errors.py) |"
        )
    return "\n".join(rows) + "\n"


def test_errors_doc_is_in_sync():
    assert_in_doc(settings_table())
