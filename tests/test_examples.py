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


NMT = Path(__file__).resolve().parents[1] / "examples" / "nmt_attention.py"
NMT_NAMES = Path(__file__).resolve().parent / "fixtures" / "nmt" / "attention_model_variables.json"


def test_nmt_attention_smoke(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(NMT), "--smoke"])
    runpy.run_path(str(NMT), run_name="__main__")
    out = capsys.readouterr().out
    assert "14 variables, as nmt names them:" in out and "held-out exact match (beam 3):" in out


def test_nmt_attention_names_and_shapes_are_nmts():
    """The example's variables carry the names nmt's graph gives them (the list taken from nmt's source, committed
    as data), one name per parameter, with nmt's shapes."""
    import json

    import torch

    expected = json.loads(NMT_NAMES.read_text())
    model = runpy.run_path(str(NMT))["NMTAttentionModel"](44, 14, 8)
    names = model.tf_variables()
    assert list(names) == expected["names"]
    assert sorted(map(id, names.values())) == sorted(map(id, model.parameters()))
    u = 8
    sizes = {"U": u, "V_src": 44, "V_tgt": 14}
    for name, shape in expected["shapes_for_num_units_U_embed_U"].items():
        dims = [
            int(d[:-1] or 1) * sizes["U"] if d.endswith("U") and d not in sizes else sizes[d]
            for d in shape.strip("[]").replace(" ", "").split(",")
            if d
        ]
        assert tuple(names[name].shape) == tuple(dims), name
    # nmt's initialiser: kernels and embeddings uniform in [-0.1, 0.1]; biases zero, attention_g one (TF's own)
    assert all(
        p.abs().max() <= 0.1
        for n, p in names.items()
        if n.endswith(("kernel", "_encoder", "_decoder"))
    )
    assert all(torch.all(p == 0) for n, p in names.items() if n.endswith("/bias"))
    assert names["dynamic_seq2seq/decoder/attention/luong_attention/attention_g"].item() == 1.0


def test_nmt_attention_checkpoint_round_trip(tmp_path):
    """A TF checkpoint written under the example's names holds exactly nmt's variable names (plus an nmt-style
    global_step, ignored with strict=False) and loads into a fresh model without renaming."""
    import json

    import numpy as np
    import torch

    import rnnkit as rk

    expected = json.loads(NMT_NAMES.read_text())["names"]
    make = runpy.run_path(str(NMT))["NMTAttentionModel"]
    torch.manual_seed(1)
    a = make(44, 14, 8)
    values = {n: p.detach().numpy() for n, p in a.tf_variables().items()}
    values["global_step"] = np.array(1200, dtype=np.int64)  # what an nmt checkpoint also holds
    prefix = rk.tf_checkpoint.write(str(tmp_path / "translate.ckpt-1200"), values)
    assert {n for n, _, _ in rk.tf_checkpoint.list_variables(prefix)} == {*expected, "global_step"}
    torch.manual_seed(2)
    b = make(44, 14, 8)
    rk.load_tf_checkpoint(b, prefix, strict=False)
    for name, p in b.tf_variables().items():
        assert torch.equal(p, a.tf_variables()[name]), name
