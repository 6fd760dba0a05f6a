"""Every subcommand's bad input: exit code 2, one line on stderr (``rnnkit CMD: error: ...``), no traceback.

Each case is a command line (built from a good tiny sine run, a damaged copy of it, or nothing) and a part of the
one line it must print; docs/errors.md carries the generated table (``tools/errors_table.py``).
"""

from __future__ import annotations

import errno
import os
import pathlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rnnkit.bench import speed
from rnnkit.cli import main
from rnnkit.cli.train import train_run
from rnnkit.tasks import TASKS
from rnnkit.train import rundir as rd
from tests._errors import assert_in_doc
from tests.tf_checkpoint._fixtures import prefix as tf_fixture

TINY = [
    "--max-steps",
    "2",
    "--batch-size",
    "4",
    "--set",
    "cell_size=4",
    "--set",
    "tensorboard=false",
]


@dataclass(frozen=True)
class CliCase:
    id: str
    command: str
    condition: str
    argv: Callable[
        [Path], list[str]
    ]  # from a scratch directory holding "good" (a finished tiny sine run) and "dates" (a tiny dates run)
    message: str  # a part of the one line, after "rnnkit COMMAND: error: " ("{d}" = the scratch directory)
    prepare: Callable[[Path], None] | None = None


def _damage_config(d: Path) -> None:
    shutil.copytree(d / "good", d / "run")
    (d / "run" / rd.CONFIG).write_text("{not json")


def _damage_checkpoint(d: Path) -> None:
    shutil.copytree(d / "good", d / "run")
    ckpt = d / "run" / rd.CHECKPOINT
    data = bytearray(ckpt.read_bytes())
    data[-1] ^= 0x01
    ckpt.write_bytes(bytes(data))


def _damage_log(d: Path) -> None:
    shutil.copytree(d / "good", d / "run")
    log = d / "run" / rd.METRICS_LOG
    log.write_text("{oops}\n" + log.read_text())


def _bad_safetensors(d: Path) -> None:
    (d / "bad.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")


def _no_checkpoint(d: Path) -> None:
    shutil.copytree(d / "good", d / "run")
    (d / "run" / rd.CHECKPOINT).unlink()


def _user_folder(d: Path) -> None:
    """A user's folder that happens to hold files a run would write."""
    (d / "mine").mkdir()
    (d / "mine" / "metrics.json").write_text('{"mine": 1}\n')
    (d / "mine" / "loss.png").write_bytes(b"not a png")


_HELD_LOCKS: list[int] = []  # open lock files (closed by the `scratch` fixture)


def _busy(d: Path) -> None:
    """The run directory `good` and an empty `new` held by "another process" (its own open file: flock conflicts)."""
    import fcntl

    (d / "new").mkdir()
    for run_dir in (d / "good", d / "new"):
        (run_dir / rd.LOCK).write_text("4242\n")
        fd = os.open(run_dir / rd.LOCK, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _HELD_LOCKS.append(fd)


def _foreign_tf_state(d: Path) -> None:
    (d / "export").mkdir()
    (d / "export" / "checkpoint").write_text("my notes, not a TF state file\n")


def _existing_out(d: Path) -> None:
    (d / "w.safetensors").write_bytes(b"someone's file")


C = CliCase
# fmt: off
CASES = [
    C("no-command-option", "rnnkit", "an unknown subcommand", lambda d: ["frobnicate"], "invalid choice: 'frobnicate'"),
    C("train-no-task", "train", "no task and no --resume", lambda d: ["train"], "give a task"),
    C("train-unknown-task", "train", "an unknown task", lambda d: ["train", "chess"], "invalid choice: 'chess'"),
    C("train-unknown-preset", "train", "an unknown preset", lambda d: ["train", "sine", "--preset", "nope"],
      "unknown preset 'nope' for task sine"),
    # argparse reports unknown options of a subcommand from the top parser, hence "rnnkit: error:"
    C("train-unknown-option", "rnnkit", "`train` with an unknown option", lambda d: ["train", "sine", "--frob"],
      "unrecognized arguments: --frob"),
    C("train-max-steps-zero", "train", "--max-steps 0", lambda d: ["train", "sine", "--max-steps", "0"],
      "max_steps: expected null or an integer >= 1, got 0"),
    C("train-max-steps-text", "train", "--max-steps abc", lambda d: ["train", "sine", "--max-steps", "abc"],
      "invalid int value: 'abc'"),
    C("train-lr-negative", "train", "--lr -1", lambda d: ["train", "sine", "--lr", "-1"], "lr: expected a finite number > 0, got -1.0"),
    C("train-batch-size-zero", "train", "--batch-size 0", lambda d: ["train", "sine", "--batch-size", "0"],
      "batch_size: expected an integer >= 1, got 0"),
    C("train-epochs-endless", "train", "--epochs for endless data", lambda d: ["train", "sine", "--epochs", "1"],
      "has no epochs"),
    C("train-device", "train", "--device tpu", lambda d: ["train", "sine", "--device", "tpu"],
      "--device must be cpu or cuda"),
    C("train-set", "train", "--set without =", lambda d: ["train", "sine", "--set", "oops"],
      "--set expects KEY=VALUE"),
    C("train-out-taken", "train", "--out holding a run", lambda d: ["train", "sine", "--out", str(d / "good")],
      "already holds a run"),
    C("train-out-not-a-run", "train", "--out: a non-empty directory that is not a run (left untouched)",
      lambda d: ["train", "sine", "--out", str(d / "mine"), *TINY], "{d}/mine is not empty and holds no rnnkit run",
      _user_folder),
    C("train-out-file", "train", "--out: a file", lambda d: ["train", "sine", "--out", str(d / "good" / rd.CONFIG)],
      "{d}/good/config.json is a file, not a directory"),
    C("train-out-in-use", "train", "--out: an empty directory another process is claiming",
      lambda d: ["train", "sine", "--out", str(d / "new"), *TINY],
      "{d}/new is in use by another rnnkit process (pid 4242)", _busy),
    C("train-resume-in-use", "train", "--resume of a run another process is training",
      lambda d: ["train", "--resume", str(d / "good"), "--max-steps", "3"],
      "{d}/good is in use by another rnnkit process (pid 4242)", _busy),
    C("train-resume-fewer-steps", "train", "--resume with --max-steps not above the run's",
      lambda d: ["train", "--resume", str(d / "good"), "--max-steps", "2"],
      "--max-steps with --resume trains a run longer: expected more than its 2 steps, got 2"),
    C("train-out-unwritable", "train", "--out not writable (no permission)",
      lambda d: ["train", "sine", "--out", str(d / "locked" / "run"), *TINY], "Permission denied"),
    C("train-resume-missing", "train", "--resume of a directory without a run",
      lambda d: ["train", "--resume", str(d / "nothing")], "is not a run directory"),
    C("train-resume-with-settings", "train", "--resume with --lr",
      lambda d: ["train", "--resume", str(d / "good"), "--lr", "0.1"], "--resume takes every setting"),
    C("train-resume-other-task", "train", "--resume with another task",
      lambda d: ["train", "series", "--resume", str(d / "good")], "is a sine run, not series"),
    C("train-resume-damaged-config", "train", "--resume with a damaged config.json",
      lambda d: ["train", "--resume", str(d / "run")], "{d}/run/config.json is damaged", _damage_config),
    C("train-resume-damaged-checkpoint", "train", "--resume with a damaged checkpoint",
      lambda d: ["train", "--resume", str(d / "run")], "Checkpoint: cannot read {d}/run/checkpoint.safetensors",
      _damage_checkpoint),
    C("train-resume-no-checkpoint", "train", "--resume of a run without a checkpoint",
      lambda d: ["train", "--resume", str(d / "run")], "has no checkpoint to resume from", _no_checkpoint),
    C("evaluate-no-run", "evaluate", "RUN_DIR missing", lambda d: ["evaluate"],
      "the following arguments are required: RUN_DIR"),
    C("evaluate-not-a-run", "evaluate", "RUN_DIR without a run", lambda d: ["evaluate", str(d)],
      "is not a run directory"),
    C("evaluate-damaged-config", "evaluate", "a damaged config.json", lambda d: ["evaluate", str(d / "run")],
      "{d}/run/config.json is damaged", _damage_config),
    C("evaluate-damaged-checkpoint", "evaluate", "a damaged checkpoint", lambda d: ["evaluate", str(d / "run")],
      "Checkpoint: cannot read {d}/run/checkpoint.safetensors", _damage_checkpoint),
    C("evaluate-no-checkpoint", "evaluate", "a run without a checkpoint", lambda d: ["evaluate", str(d / "run")],
      "has no checkpoint", _no_checkpoint),
    C("evaluate-device", "evaluate", "--device tpu", lambda d: ["evaluate", str(d / "good"), "--device", "tpu"],
      "--device must be cpu or cuda"),
    C("predict-no-run", "predict", "RUN_DIR missing", lambda d: ["predict"],
      "the following arguments are required: RUN_DIR"),
    C("predict-not-mnist", "predict", "a run of another task", lambda d: ["predict", str(d / "good")],
      "predict works on mnist and dates runs"),
    C("predict-dates-unknown-char", "predict", "a dates run, --text with a character outside the alphabet",
      lambda d: ["predict", str(d / "dates"), "--text", "March 3rd, 1987!"],
      "--text: expected characters from"),
    C("predict-dates-no-text", "predict", "a dates run without --text", lambda d: ["predict", str(d / "dates")],
      'a dates run takes --text "DATE" (e.g. "March 3, 1987"), got none'),
    C("predict-text-not-dates", "predict", "--text on a run of another task",
      lambda d: ["predict", str(d / "good"), "--text", "March 3, 1987"], "--text and --beam are for dates runs"),
    C("predict-damaged-checkpoint", "predict", "a damaged checkpoint", lambda d: ["predict", str(d / "run")],
      "Checkpoint: cannot read {d}/run/checkpoint.safetensors", _damage_checkpoint),
    C("plot-no-run", "plot", "RUN_DIR missing", lambda d: ["plot"], "the following arguments are required: RUN_DIR"),
    C("plot-not-a-run", "plot", "RUN_DIR without a run", lambda d: ["plot", str(d)], "is not a run directory"),
    C("plot-damaged-config", "plot", "a damaged config.json", lambda d: ["plot", str(d / "run")],
      "{d}/run/config.json is damaged", _damage_config),
    C("plot-damaged-log", "plot", "a damaged line in metrics.jsonl", lambda d: ["plot", str(d / "run")],
      "{d}/run/metrics.jsonl: line 1 is not JSON", _damage_log),
    C("train-resume-damaged-log", "train", "--resume (to train on) with a damaged line in metrics.jsonl",
      lambda d: ["train", "--resume", str(d / "run"), "--max-steps", "3"], "{d}/run/metrics.jsonl: line 1 is not JSON",
      _damage_log),
    C("bench-shapes", "bench", "an unknown --shapes name", lambda d: ["bench", "--shapes", "nope"],
      "argument --shapes: expected some of"),
    C("bench-cells", "bench", "an unknown --cells name", lambda d: ["bench", "--cells", "nope"],
      "argument --cells: expected all or some of IndRNNCell, "),
    C("bench-threads", "bench", "--threads not a list of ints", lambda d: ["bench", "--threads", "x"],
      "argument --threads: expected a comma list of positive ints, got 'x'"),
    C("bench-target", "bench", "--target not a number", lambda d: ["bench", "--target", "abc"],
      "argument --target: expected a positive number of seconds, got 'abc'"),
    C("bench-clock", "bench", "an unknown --clock", lambda d: ["bench", "--clock", "moon"],
      "argument --clock: invalid choice: 'moon'"),
    C("bench-target-negative", "bench", "--target <= 0", lambda d: ["bench", "--target", "-1"],
      "argument --target: expected a positive number of seconds, got '-1'"),
    C("bench-repeats-zero", "bench", "--repeats < 1", lambda d: ["bench", "--repeats", "0"],
      "argument --repeats: expected a positive int, got '0'"),
    C("bench-threads-huge", "bench", "--threads above 4 per CPU (torch crashes)",
      lambda d: ["bench", "--threads", "1,100000"], "argument --threads: expected thread counts of at most "),
    C("bench-device-unknown", "bench", "an unknown --device", lambda d: ["bench", "--device", "tpu"],
      "argument --device: expected cpu, cuda or cuda:N, got 'tpu'"),
    C("bench-json-under-file", "bench", "--json under a file, checked before measuring",
      lambda d: ["bench", "--json", str(d / "good" / "metrics.jsonl" / "b.json")],
      "argument --json: expected a path in an existing directory, but '{d}/good/metrics.jsonl' is a file"),
    C("bench-json-no-dir", "bench", "--json in a missing directory",
      lambda d: ["bench", "--json", str(d / "nowhere" / "b.json")],
      "argument --json: expected a path in an existing directory, but '{d}/nowhere' is missing"),
    C("bench-json-dir", "bench", "--json naming a directory", lambda d: ["bench", "--json", str(d / "good")],
      "argument --json: expected a file to write, got the directory '{d}/good'"),
    C("bench-tf-python-missing", "bench", "--tf-python that is no executable",
      lambda d: ["bench", "--tf-python", str(d / "nopython")],
      "argument --tf-python: expected an executable python, got '{d}/nopython'"),
    C("presets-unknown-task", "presets", "an unknown task", lambda d: ["presets", "chess"], "unknown task 'chess'"),
    C("inspect-missing", "inspect", "PATH that does not exist", lambda d: ["inspect", str(d / "nothing")],
      "no checkpoint found (missing {d}/nothing.index)"),
    C("inspect-not-a-checkpoint", "inspect", "a file that is no checkpoint",
      lambda d: ["inspect", str(d / "good" / "metrics.jsonl")], "not a V2 checkpoint (no .index file next to it)"),
    C("inspect-bad-safetensors", "inspect", "a damaged .safetensors file",
      lambda d: ["inspect", str(d / "bad.safetensors")], "cannot read {d}/bad.safetensors as safetensors",
      _bad_safetensors),
    C("inspect-damaged-run", "inspect", "a run with a damaged checkpoint", lambda d: ["inspect", str(d / "run")],
      "Checkpoint: cannot read {d}/run/checkpoint.safetensors", _damage_checkpoint),
    C("convert-no-out", "convert", "OUT missing", lambda d: ["convert", str(d / "good")],
      "the following arguments are required: OUT"),
    C("convert-tf-to-tf", "convert", "--to tf of a TF checkpoint",
      lambda d: ["convert", str(tf_fixture("basic_lstm")), str(d / "x"), "--to", "tf"],
      "is read as a TF checkpoint already"),
    C("convert-out-suffix", "convert", "safetensors OUT without .safetensors",
      lambda d: ["convert", str(tf_fixture("basic_lstm")), str(d / "out.bin")], "OUT must end with .safetensors"),
    C("convert-tf-out-suffix", "convert", "--to tf with OUT.safetensors",
      lambda d: ["convert", str(d / "good"), str(d / "o.safetensors"), "--to", "tf"],
      "--to tf writes a TF checkpoint prefix"),
    C("export-no-format", "export", "--format missing", lambda d: ["export", str(d / "good"), "--out", str(d / "m.onnx")],
      "the following arguments are required: --format"),
    C("export-bad-format", "export", "an unknown --format",
      lambda d: ["export", str(d / "good"), "--format", "tflite", "--out", str(d / "m")], "invalid choice: 'tflite'"),
    C("export-out-exists", "export", "--out names an existing file",
      lambda d: ["export", str(d / "good"), "--format", "onnx", "--out", str(d / "good" / "config.json")],
      "--out {d}/good/config.json exists; choose another file or pass --force to replace it"),
    C("export-out-dir-missing", "export", "--out in a directory that does not exist",
      lambda d: ["export", str(d / "good"), "--format", "onnx", "--out", str(d / "nowhere" / "m.onnx")],
      "--out {d}/nowhere/m.onnx: no such directory {d}/nowhere"),
    C("export-not-a-run", "export", "RUN_DIR that is not a run",
      lambda d: ["export", str(d / "nothing"), "--format", "onnx", "--out", str(d / "m.onnx")],
      "{d}/nothing is not a run directory (no config.json); train one with rnnkit train"),
    C("convert-missing-safetensors", "convert", "a .safetensors PATH that does not exist",
      lambda d: ["convert", str(d / "none.safetensors"), str(d / "x")], "no such file {d}/none.safetensors"),
    C("convert-no-run-checkpoint", "convert", "a run without a checkpoint",
      lambda d: ["convert", str(d / "run"), str(d / "x")], "has no checkpoint", _no_checkpoint),
    C("convert-over-run-checkpoint", "convert", "OUT is a run's own checkpoint (even with --force)",
      lambda d: ["convert", str(d / "good"), str(d / "good" / rd.CHECKPOINT), "--force"],
      "{d}/good/checkpoint.safetensors is the checkpoint of the run in {d}/good; convert never replaces it"),
    C("convert-out-exists", "convert", "OUT exists (no --force)",
      lambda d: ["convert", str(tf_fixture("basic_lstm")), str(d / "w.safetensors")],
      "{d}/w.safetensors exists; not replaced (add --force to replace it)", _existing_out),
    C("convert-foreign-state-file", "convert", "--to tf into a directory whose `checkpoint` file is not TF's",
      lambda d: ["convert", str(d / "good"), str(d / "export") + "/", "--to", "tf"],
      "{d}/export/checkpoint exists; not replaced (add --force", _foreign_tf_state),
    C("import-tf-no-task", "import-tf", "--task and --out missing",
      lambda d: ["import-tf", str(tf_fixture("sine_seed000"))], "the following arguments are required: --task, --out"),
    C("import-tf-missing", "import-tf", "CKPT that does not exist",
      lambda d: ["import-tf", str(d / "nothing"), "--task", "sine", "--out", str(d / "i")], "no checkpoint found"),
    C("import-tf-other-model", "import-tf", "a checkpoint of another model",
      lambda d: ["import-tf", str(tf_fixture("basic_lstm")), "--task", "sine", "--out", str(d / "i")],
      "got missing ['in_hidden/weights'"),
    C("import-tf-wrong-size", "import-tf", "a preset of another size",
      lambda d: ["import-tf", str(tf_fixture("sine_seed000")), "--task", "sine", "--preset", "default",
                 "--out", str(d / "i")], "does not fit the sine model of preset default"),
    C("import-tf-unknown-preset", "import-tf", "an unknown preset",
      lambda d: ["import-tf", str(tf_fixture("sine_seed000")), "--task", "sine", "--preset", "nope",
                 "--out", str(d / "i")], "unknown preset 'nope' for task sine"),
    C("import-tf-out-taken", "import-tf", "--out holding a run",
      lambda d: ["import-tf", str(tf_fixture("sine_seed000")), "--task", "sine", "--out", str(d / "good")],
      "already holds a run"),
    C("import-tf-out-not-a-run", "import-tf", "--out: a non-empty directory that is not a run",
      lambda d: ["import-tf", str(tf_fixture("sine_seed000")), "--task", "sine", "--out", str(d / "mine")],
      "{d}/mine is not empty and holds no rnnkit run", _user_folder),
]
# fmt: on


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("cli") / "good"
    cfg = TASKS["sine"].resolve_config(
        "seed000",
        {"max_steps": 2, "batch_size": 4, "cell_size": 4, "test_windows": 2, "tensorboard": False},
    )
    assert train_run(cfg, run_dir, plots=False) == 0
    return run_dir


@pytest.fixture(scope="module")
def dates_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("cli") / "dates"
    tiny = {"num_units": 4, "embed": 4, "test_examples": 4, "beam_width": 2, "tensorboard": False}
    cfg = TASKS["dates"].resolve_config("small", {"max_steps": 1, "batch_size": 4, **tiny})
    assert train_run(cfg, run_dir, plots=False) == 0
    return run_dir


@pytest.fixture
def scratch(tmp_path, good_run, dates_run, monkeypatch) -> Iterator[Path]:
    shutil.copytree(good_run, tmp_path / "good")
    shutil.copytree(dates_run, tmp_path / "dates")
    locked = tmp_path / "locked"
    real_mkdir = pathlib.Path.mkdir

    def mkdir(
        self, *args, **kwargs
    ):  # the tests may run as root, where chmod does not lock anything
        if locked in (self, *self.parents):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    yield tmp_path
    while _HELD_LOCKS:
        os.close(_HELD_LOCKS.pop())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_bad_input_is_one_line_and_exit_2(case, scratch, capsys, monkeypatch):
    # A bad bench option must be refused before any measuring (--json used to fail after minutes of it).
    monkeypatch.setattr(speed, "run", lambda *a, **k: pytest.fail("the benchmark ran"))
    if case.prepare is not None:
        case.prepare(scratch)
    capsys.readouterr()
    try:
        rc = main(case.argv(scratch))
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    prog = "rnnkit" if case.command == "rnnkit" else f"rnnkit {case.command}"
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    assert case.message.format(d=scratch) in lines[0], lines[0]


def test_no_subcommand_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: rnnkit" in capsys.readouterr().out


def test_every_subcommand_has_cases():
    """A new subcommand fails here until its bad inputs are in the table."""
    from rnnkit.cli import COMMANDS

    assert set(COMMANDS) <= {c.command for c in CASES}


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


def cli_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    rows = ["| command | bad input | the one line says (exit code 2) | test |", "|---|---|---|---|"]
    for c in CASES:
        message = c.message.replace("{d}/", "…/").replace("|", "\\|")
        command = "rnnkit" if c.command == "rnnkit" else f"rnnkit {c.command}"
        rows.append(
            f"| `{command}` | {c.condition} | `{message}` | [`{c.id}`](../tests/cli/test_cli_errors.py) |"
        )
    return "\n".join(rows) + "\n"


def test_errors_doc_is_in_sync():
    assert_in_doc(cli_table())
