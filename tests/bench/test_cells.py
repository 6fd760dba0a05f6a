"""``rnnkit bench --cells``: every naive loop computes its cell's numbers (the benchmark checks it before timing,
and refuses a loop that does not), the table, and the command end to end."""

from __future__ import annotations

import time

import pytest
import torch

from rnnkit.bench import cells
from rnnkit.cli import main as cli_main

torch.set_num_threads(1)


@pytest.fixture
def small_rows(monkeypatch):
    """The row cells at B=3, T=4, D=6, H=4 (the image cells keep their own small shapes)."""
    for name, value in {"B": 3, "T": 4, "D": 6, "H": 4}.items():
        monkeypatch.setattr(cells, name, value)


@pytest.mark.parametrize("name", list(cells.CASES))
def test_every_naive_loop_passes_the_check_and_is_timed(name, small_rows):
    seconds, _ = cells._one_case(cells.CASES[name], 1, time.process_time)
    expected = {"naive", "naive_cl", "rnnkit"} if cells.CASES[name].conv else {"naive", "rnnkit"}
    if cells.CASES[name].products is not None:
        expected.add("products")
    if cells.CASES[name].transcendentals:
        expected.add("floor")
    assert set(seconds) == expected
    assert all(s > 0 for s in seconds.values())


def test_a_naive_loop_computing_something_else_is_refused(small_rows, monkeypatch):
    right = cells.naive_loop
    monkeypatch.setattr(cells, "naive_loop", lambda cell: lambda x: right(cell)(x) * 1.01)
    with pytest.raises(AssertionError, match="not close"):
        cells._one_case(cells.CASES["SRUCell"], 1, time.process_time)


def test_table_gives_milliseconds_and_speed_ups():
    records = [
        {"cell": "SRUCell", "threads": 1, "seconds": {"naive": 0.030, "rnnkit": 0.015}, "path": "p"},
        {"cell": "Conv2DLSTMCell", "threads": 2,
         "seconds": {"naive": 0.040, "naive_cl": 0.030, "rnnkit": 0.020}, "path": "p"},
    ]  # fmt: skip
    records.append(
        {"cell": "NASCell", "threads": 1, "path": "p",
         "seconds": {"naive": 0.060, "rnnkit": 0.045, "products": 0.040, "floor": 0.048}}
    )  # fmt: skip
    lines = cells.cells_table(records).splitlines()
    assert "| SRUCell | 1 | 30.00 | — | 15.00 | 2.00 | — | — | — | — | — |" in lines
    assert "| Conv2DLSTMCell | 2 | 40.00 | 30.00 | 20.00 | 2.00 | 1.50 | — | — | — | — |" in lines
    assert "| NASCell | 1 | 60.00 | — | 45.00 | 1.33 | — | 40.00 | 1.50 | 48.00 | 1.25 |" in lines


def _naive_flops(case):
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    cell, x = case.make()
    naive = cells.naive_loop(cell)
    with FlopCounterMode(display=False) as counter:
        naive(x)[-1].sum().backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("name", [n for n, c in cells.CASES.items() if c.products is not None])
def test_the_products_alone_are_those_of_an_exact_implementation(name, small_rows):
    """The floor's products, counted in FLOPs, are the naive loop's (an exact implementation) less only what it
    wastes: TF's ``[x, h] @ kernel`` in autograd also computes the inputs' gradient, and the initial state's."""
    case = cells.CASES[name]
    listed = case.products()
    floor = sum(2 * m * k * n for m, k, n in listed)
    B, T, D, H = cells.B, cells.T, cells.D, cells.H
    if name == "NASCell":  # x @ kernel and m @ recurrent_kernel apart: nothing wasted
        wasted = 0
    elif name == "IntersectionRNNCell":  # [x', h0] needs a gradient for x': h0's part comes with it
        wasted = 2 * B * 4 * H * H
    else:  # [x_t, h] from step 1 on (at step 0 it holds no trained tensor)
        wasted = (T - 1) * 2 * B * listed[0][2] * D
    assert _naive_flops(case) == floor + wasted


@pytest.mark.parametrize("name", [n for n, c in cells.CASES.items() if c.transcendentals])
def test_the_floors_transcendentals_are_those_of_the_naive_forward(name, small_rows):
    """The floor column's sigmoids per state element and step are what the naive loop's forward evaluates:
    every ``sigmoid``, ``tanh`` and ``exp`` element it computes, divided by ``T * B * H``."""
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    counted = {aten.sigmoid.default, aten.tanh.default, aten.exp.default}
    elements = [0]

    class Counting(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func in counted:
                elements[0] += out.numel()
            return out

    torch.manual_seed(0)
    cell, x = cells.CASES[name].make()
    naive = cells.naive_loop(cell)
    with torch.no_grad(), Counting():
        naive(x)
    assert elements[0] == cells.CASES[name].transcendentals * cells.T * cells.B * cells.H


def test_unknown_cells_are_refused():
    with pytest.raises(ValueError, match="run_cells: expected cells among IndRNNCell, .*got Nope"):
        cells.run_cells([1], only=["Nope"])


def test_rnnkit_bench_cells_alone_prints_their_table(small_rows, capsys):
    argv = [
        "bench",
        "--shapes",
        "none",
        "--cells",
        "IndRNNCell,SRUCell",
        "--threads",
        "1",
        "--repeats",
        "1",
    ]
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert "| IndRNNCell | 1 |" in out and "| SRUCell | 1 |" in out
    assert "auto/torch" not in out  # no shape was asked for


def test_rnnkit_bench_rejects_unknown_cells(capsys):
    with pytest.raises(SystemExit):
        cli_main(["bench", "--cells", "Nope"])
    assert "expected all or some of IndRNNCell, " in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (run on the GPU machine)")
@pytest.mark.parametrize("name", ["SRUCell", "LayerNormBasicLSTM", "Conv2DLSTMCell"])
def test_cells_run_and_agree_on_cuda(name, small_rows):
    """On CUDA every column runs there (torch ops; the native loops are CPU-only) and still passes the check."""
    seconds, _ = cells._one_case(cells.CASES[name], 1, time.perf_counter, "cuda")
    assert all(s > 0 for s in seconds.values())
