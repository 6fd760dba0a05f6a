"""The rnnkit command: user mistakes exit 2 with one line and no traceback; help at every level."""

import pytest

from rnnkit.cli import COMMANDS, main


def run_cli(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own exits (--help, bad options)
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train"], "give a task"),
        (["train", "mnist", "--preset", "nope"], "unknown preset 'nope' for task mnist"),
        (["train", "sine", "--epochs", "2"], "has no epochs"),
        (["train", "mnist", "--epochs", "1", "--max-steps", "3"], "not allowed with argument"),
        (["train", "mnist", "--batch-size", "0"], "batch_size: expected an integer >= 1, got 0"),
        (["train", "mnist", "--lr", "abc"], "invalid float value"),
        (["train", "mnist", "--device", "tpu"], "--device must be cpu or cuda"),
        (["train", "mnist", "--set", "oops"], "--set expects KEY=VALUE"),
        (["train", "chess"], "invalid choice: 'chess'"),
        (["presets", "chess"], "unknown task 'chess'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(argv, message, capsys):
    rc, _, err = run_cli(argv, capsys)
    assert rc == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_run_dir_mistakes(tmp_path, capsys):
    for argv in (
        ["train", "--resume", str(tmp_path)],
        ["evaluate", str(tmp_path)],
        ["predict", str(tmp_path)],
        ["plot", str(tmp_path)],
    ):
        rc, _, err = run_cli(argv, capsys)
        assert rc == 2 and "is not a run directory" in err, argv


def test_missing_data_dir_names_the_file(tmp_path, capsys):
    argv = [
        "train",
        "mnist",
        "--data-dir",
        str(tmp_path),
        "--out",
        str(tmp_path / "r"),
        "--max-steps",
        "1",
    ]
    rc, _, err = run_cli(argv, capsys)
    assert rc == 2 and "missing file" in err and "train-images-idx3-ubyte.gz" in err


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_at_every_level(command, capsys):
    rc, out, _ = run_cli(([command] if command else []) + ["--help"], capsys)
    assert rc == 0 and "usage: rnnkit" in out


def test_presets_lists_every_seed(capsys):
    rc, out, _ = run_cli(["presets"], capsys)
    assert rc == 0
    for name in ("default", "seed000", "seed001", "seed003-static", "seed003-dynamic", "seed004"):
        assert f"  {name} " in out
