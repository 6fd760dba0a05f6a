"""Every example program runs in its --smoke mode (what CI runs)."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("seed*.py"))


def test_one_example_per_seed_program():
    seeds = {p.name[:7] for p in EXAMPLES}
    assert seeds == {"seed000", "seed001", "seed002", "seed003", "seed004"}
    assert len([p for p in EXAMPLES if p.name.startswith("seed000")]) == 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_smoke(path, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(
        sys,
        "argv",
        [str(path), "--smoke"] + (["--save", str(tmp_path)] if "seed003" in path.name else []),
    )
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert out.strip()
    if path.stem.startswith("seed001"):
        assert "outputs shape= (28, 5, 16)" in out
    if path.stem.startswith("seed002"):
        assert "LSTMStateTuple(c=128, h=128)" in out and "torch.Size([32, 10, 256])" in out
    if path.stem.startswith("seed003"):
        assert list(tmp_path.glob("0.9mnist.model-*.safetensors"))
