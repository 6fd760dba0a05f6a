"""Checkpoints: atomic writes; model, Adam and RNG states come back exactly; corrupt files are refused."""

import random

import numpy as np
import pytest
import torch

from rnnkit.train import Checkpoint, atomic_write_bytes, save_checkpoint


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"old")
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new"
    assert [x.name for x in tmp_path.iterdir()] == ["f.bin"]


def _model_and_adam():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        m(torch.randn(5, 3)).pow(2).mean().backward()
        opt.step()
    return m, opt


def test_roundtrip_restores_everything(tmp_path):
    m, opt = _model_and_adam()
    np.random.seed(3)  # noqa: NPY002 (the global RNG is what is saved)
    random.seed(4)
    save_checkpoint(
        tmp_path / "c.safetensors", m, opt, 17, extra={"carry": torch.ones(2)}, meta={"x": 0.1}
    )
    expect = (torch.rand(3), np.random.rand(), random.random())  # noqa: NPY002
    m2, opt2 = _model_and_adam()
    torch.manual_seed(99)
    with torch.no_grad():
        for p in m2.parameters():
            p.add_(1.0)
    ck = Checkpoint(tmp_path / "c.safetensors")
    ck.restore(m2, opt2)
    assert ck.step == 17 and ck.meta == {"x": 0.1}
    torch.testing.assert_close(ck.extra["carry"], torch.ones(2), rtol=0, atol=0)
    for a, b in zip(m.parameters(), m2.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    for i in s1["state"]:
        for k in s1["state"][i]:
            torch.testing.assert_close(s1["state"][i][k], s2["state"][i][k], rtol=0, atol=0)
    assert torch.equal(torch.rand(3), expect[0])
    assert np.random.rand() == expect[1]  # noqa: NPY002
    assert random.random() == expect[2]


def test_corrupt_checkpoint_is_refused(tmp_path):
    p = tmp_path / "c.safetensors"
    p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(ValueError, match="Checkpoint: cannot read"):
        Checkpoint(p)
