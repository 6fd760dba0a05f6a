"""Seed 000's sine loss is computed with legacy_seq2seq.sequence_loss_by_example (as the seed did), and gives the
numbers of the mean squared error it replaced."""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.tasks import TASKS
from rnnkit.tasks import sine as sine_module


def test_seed_cost_is_the_mean_squared_error(gen):
    pred = torch.randn(50, 20, 1, generator=gen)
    y = torch.randn(50, 20, 1, generator=gen)
    got = sine_module.seed_cost(pred, y)
    want = nn.functional.mse_loss(pred, y)
    assert torch.allclose(got, want, rtol=1e-6, atol=0)
    assert got.shape == ()


def test_seed_cost_goes_through_sequence_loss_by_example(monkeypatch):
    calls = []
    original = sine_module.rk.legacy_seq2seq.sequence_loss_by_example

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(sine_module.rk.legacy_seq2seq, "sequence_loss_by_example", spy)
    sine_module.seed_cost(torch.zeros(2, 3, 1), torch.ones(2, 3, 1))
    assert calls and calls[0]["average_across_timesteps"] is True


def _losses(steps: int) -> list[float]:
    torch.manual_seed(0)
    cfg = TASKS["sine"].resolve_config("seed000", {"max_steps": steps})
    task = TASKS["sine"](cfg)
    opt = torch.optim.Adam(task.model.parameters(), lr=cfg["lr"])
    out = []
    for step in range(steps):
        loss, _ = task.train_loss(step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


def test_seed000_training_numbers_unchanged(monkeypatch):
    """Five Adam steps of the seed000 preset: the same losses as with torch's mse_loss (the loss before)."""
    ours = _losses(5)
    monkeypatch.setattr(sine_module, "seed_cost", nn.functional.mse_loss)
    before = _losses(5)
    assert ours == before or max(abs(a - b) / abs(b) for a, b in zip(ours, before)) < 1e-6
    assert len(set(ours)) == 5  # it did train
