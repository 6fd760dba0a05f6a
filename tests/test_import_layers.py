"""Layers import one way: a module may import only from layers ranked at or below its own (DESIGN.md §1).

Every top-level module of the package must have a rank here, so a new module makes this test fail until its
place in the layering is decided.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rnnkit"

RANKS = {
    "_version": 0,
    "_checks": 0,
    "nest": 0,
    "activations": 0,
    "cells": 1,
    "fused": 2,  # cells -> torch's fused kernels; the unrolls choose it
    "unroll": 3,
    # nn.Module layers over the unrolls (RNN, BidirectionalRNN, TrainableInitialState) and whole-sequence layers
    # (LSTMBlockFusedCell, the cuDNN layers): cells + unrolls + fused kernels
    "layers": 4,
    "tf_names": 4,
    "seq2seq": 4,  # attention, decoders, beam search: cells and the unrolls' checks
    "nn": 4,  # rk.nn / rk.nn.rnn_cell: TF's spellings, re-exports of cells and unrolls only
    "legacy_seq2seq": 5,  # TF1's list-based seq2seq: cells, unrolls and seq2seq's layers
    # rk.contrib.rnn / .cudnn_rnn / .seq2seq / .legacy_seq2seq: TF's spellings, re-exports only
    "contrib": 5,
    "tf_checkpoint": 5,
    "data": 6,  # MNIST/synthetic data: no rnnkit import
    "export": 6,  # ONNX / TorchScript export of any module: torch (+ onnx) only
    "train": 6,  # the generic loop: no rnnkit import (no task, plot or CLI knowledge)
    "plots": 7,  # matplotlib figures from plain arrays
    "tasks": 8,  # models (cells + unrolls via the facade) + data + loss + plots they own
    "bench": 9,  # benchmarks of the whole package; ``rnnkit bench`` runs them
    "cli": 9,  # the rnnkit command: composes tasks, train, plots
}
TOP = {"__init__", "__main__"}  # the facade may import everything


def _top_module(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    depth_in_package = len(path.relative_to(PACKAGE).parts) - 1
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] == "rnnkit" and len(parts) > 1:
                    found.add(parts[1])
                elif parts[0] == "rnnkit":
                    found.update(alias.name for alias in node.names)
            elif node.level > depth_in_package:  # relative import reaching the package root
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "rnnkit" and len(parts) > 1:
                    found.add(parts[1])
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(PACKAGE)) for p in SOURCES])
def test_module_imports_only_lower_layers(path):
    own = _top_module(path)
    if own in TOP:
        return
    assert own in RANKS, (
        f"{own}: new top-level module; give it a rank in tests/test_import_layers.py"
    )
    for imported in _imported_top_modules(path):
        if imported == own:
            continue
        assert imported in RANKS, f"{path.name} imports rnnkit.{imported}, which has no rank"
        assert RANKS[imported] <= RANKS[own], (
            f"{path.relative_to(PACKAGE)} (layer {own}, rank {RANKS[own]}) imports rnnkit.{imported} "
            f"(rank {RANKS[imported]}), a higher layer"
        )


def test_the_scan_sees_imports():
    """Guard against a scan that silently finds nothing."""
    dynamic = PACKAGE / "unroll" / "dynamic.py"
    assert {"cells", "nest"} <= _imported_top_modules(dynamic)
