"""Damaged run files: every one gives an error naming the file (the CLI: one line, exit 2); nothing unpickles.

* a checkpoint cut short, with a flipped bit (caught by its SHA-256), or with a broken header;
* a config.json that is not JSON, not a config, missing or invalid settings, or no longer fits the checkpoint;
* loading never unpickles (at run time and by a scan of the source).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from rnnkit.cli import main
from rnnkit.cli.train import train_run
from rnnkit.tasks import TASKS
from rnnkit.train import Checkpoint, save_checkpoint
from rnnkit.train import checkpoint as ckpt_module
from rnnkit.train import rundir as rd
from tests.train._runs import SRC, config, tiny_model

# --- truncated or corrupted files ---------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path) -> Path:
    path = tmp_path / "checkpoint.safetensors"
    model, opt = tiny_model()
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
    assert train_run(config(max_steps=2), run_dir, plots=False) == 0
    named = run_dir / rd.CONFIG
    named.write_text(_damaged(named.read_text(), damage))
    if (
        damage == "does not fit the checkpoint"
    ):  # then it is the checkpoint that is named, with the model
        named = run_dir / rd.CHECKPOINT
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
        assert str(named) in err, err


def test_cli_with_a_damaged_checkpoint_names_the_file(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train_run(config(max_steps=2), run_dir, plots=False) == 0
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
    assert train_run(config(max_steps=2), run_dir, plots=False) == 0

    def refuse(*args, **kwargs):
        raise AssertionError("something unpickled while loading")

    class Refuse:
        def __init__(self, *args, **kwargs):
            refuse()

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", Refuse)
    monkeypatch.setattr(torch, "load", refuse)
    Checkpoint(run_dir / rd.CHECKPOINT).restore(TASKS["sine"](config(max_steps=2)).model)
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
                # The one allowed torch.jit.load: rk.export reads back the TorchScript archive it has just
                # written into its own temporary file, to check it (export.py, to_torchscript).
                own_archive = call == "torch.jit.load" and path.name == "export.py"
                if (
                    call in ("torch.load", "torch.jit.load")
                    and kwargs.get("weights_only") != "True"
                    and not own_archive
                ):
                    offenders.append(f"{path.name}:{node.lineno} {call} without weights_only=True")
                if call in ("np.load", "numpy.load") and kwargs.get("allow_pickle") not in (
                    None,
                    "False",
                ):
                    offenders.append(f"{path.name}:{node.lineno} {call} with allow_pickle")
    assert not offenders, offenders
