"""The speed benchmark's plumbing (not its numbers): the table and ratios, and ``rnnkit bench`` end to end on
the smallest shape with one short round."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import rnnkit as rk
from rnnkit.bench import speed
from rnnkit.bench.models import SHAPES, build
from rnnkit.cli import main as cli_main


def test_table_shows_rates_and_the_target_ratios():
    records = [
        {"shape": "mnist", "threads": 1, "mode": "train",
         "rate": {"auto": 38.0, "loop": 28.0, "torch": 40.0, "naive": 25.0, "tf": 29.0}},
        {"shape": "mnist", "threads": 1, "mode": "infer",
         "rate": {"auto": 16000.0, "loop": 9000.0, "torch": 16000.0, "naive": 9000.0, "tf": 12000.0}},
    ]  # fmt: skip
    text = speed.table(records)
    assert (
        "| shape | threads | rnnkit auto | rnnkit loop | torch.nn | naive loop | TF compat | auto/torch |"
        in text
    )
    assert "| mnist | 1 | 38 | 28 | 40 | 25 | 29 | 0.95 | 1.12 | 1.31 | 0.97 |" in text
    assert "| mnist | 1 | 16000 | 9000 | 16000 | 9000 | 12000 | 1.00 | 1.00 | 1.33 | 0.75 |" in text


def test_columns_alternate_one_call_at_a_time_in_a_changing_order_and_tf_runs_in_blocks():
    calls: list[tuple[str, int]] = []

    def runner(name: str, seconds: float):
        def timed(iters: int) -> float:
            calls.append((name, iters))
            return seconds * iters

        return timed

    # a 0.4 s target: 4 calls of 0.1 s per round, 8 of 0.05 s (each runner's 2 warm-up calls come first)
    runners = {
        "a": runner("a", 0.1),
        "b": runner("b", 0.2),
        "c": runner("c", 0.05),
        "tf": runner("tf", 0.1),
    }
    seconds = speed._measure(runners, repeats=3, target=0.4, blocks=("tf", "absent"))
    assert seconds == pytest.approx({"a": 0.1, "b": 0.2, "c": 0.05, "tf": 0.1})
    timed = calls[8:]
    assert [n for n, iters in timed if n != "tf"] and all(i == 1 for n, i in timed if n != "tf")
    assert [(n, i) for n, i in timed if n == "tf"] == [("tf", 4)] * 3  # back to back, once a round
    first_round = [tuple(n for n, _ in timed[k : k + 3]) for k in range(0, 3 * 8, 3)]
    assert all(sorted(turn) == ["a", "b", "c"] for turn in first_round)  # each column once a turn
    assert len(set(first_round)) > 1  # in a changing order
    assert timed[3 * 8] == ("tf", 4)  # then TF's block
    assert sum(n == "c" for n, _ in timed) == 3 * 8  # turns enough for the fastest column's target


def test_rnnkit_bench_runs_and_prints_the_table(capsys):
    assert (
        cli_main(
            ["bench", "--shapes", "sine", "--threads", "1", "--repeats", "1", "--target", "0.001"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| sine | 1 |" in out and "auto/torch" in out and "TF compat" not in out


def test_rnnkit_bench_rejects_unknown_shapes(capsys):
    with pytest.raises(SystemExit):
        cli_main(["bench", "--shapes", "nope"])
    assert (
        "expected some of mnist, sine, large, gru, peephole, layernorm, seed001, swap (or none), got 'nope'"
        in capsys.readouterr().err
    )


def test_seed001_shape_drops_outputs_in_every_column_in_training_only():
    shape = dataclasses.replace(SHAPES["seed001"], batch=3, time=4, depth=5, units=6)
    assert rk.fused.explain(build(shape, "auto")[0].rnn).startswith("fused:")
    for column in ("auto", "loop", "torch", "naive"):
        model, x, *_ = build(shape, column)
        torch.manual_seed(0)
        train = model(x)
        model.eval()
        first, second = model(x), model(x)
        assert torch.equal(first, second) and not torch.equal(train, first), column


def test_swap_shape_runs_recomputed_chunks_in_the_rnnkit_columns_only(monkeypatch):
    import rnnkit.fused.checkpointed as checkpointed

    calls: list[str] = []
    original = checkpointed.run_in_recomputed_chunks
    monkeypatch.setattr(
        checkpointed,
        "run_in_recomputed_chunks",
        lambda *a, **k: calls.append("chunks") or original(*a, **k),
    )
    shape = dataclasses.replace(SHAPES["swap"], batch=2, time=9, depth=3, units=4)
    for column in ("auto", "torch", "naive"):
        model, x, *_ = build(shape, column)
        model(x).sum().backward()
        assert calls == (["chunks"] if column == "auto" else []), column
        calls.clear()
