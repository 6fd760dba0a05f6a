"""Layers import one way: a module may import only from layers ranked at or below its own.

Every top-level module of the package must have a rank here, so a new module makes this test fail until its
place in the layering is decided. ``import rnnkit as rk`` (or ``import rnnkit``) counts too: each use ``rk.NAME``
is a use of the top-level module that defines ``NAME`` (``rk.BasicLSTMCell`` → ``cells``, ``rk.fused.explain``
→ ``fused``), so reaching a higher layer through the facade fails like importing it directly.
"""

import ast
import types
from pathlib import Path

import pytest

import rnnkit

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rnnkit"

RANKS = {
    "_version": 0,
    "_checks": 0,
    "_sequence": 0,  # row masking and length-aware reversal, shared by fused and unroll
    "_recompute": 0,  # recomputed chunks (swap_memory) of any sequence runner
    "nest": 0,
    "activations": 0,
    "cells": 1,
    "fused": 2,  # cells -> torch's fused kernels; the unrolls choose it
    "kernels": 2,  # sequence kernels (one autograd node per unroll) and which cells they compute
    "building": 2,  # rk.build: runs a module once to create lazily built parameters
    "unroll": 3,
    # nn.Module layers over the unrolls (RNN, BidirectionalRNN, TrainableInitialState) and whole-sequence layers
    # (LSTMBlockFusedCell, the cuDNN layers): cells + unrolls + fused kernels
    "layers": 4,
    "tf_names": 4,
    "tf_naming": 4,  # TF names for any torch module (rk.tf_name) and rk.initialize; built on tf_names
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
    return found | _facade_uses(tree)


def _defining_module(name: str) -> str:
    """The top-level module behind the facade's ``rnnkit.NAME``."""
    obj = getattr(rnnkit, name)
    module = obj.__name__ if isinstance(obj, types.ModuleType) else obj.__module__
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _facade_uses(tree: ast.AST) -> set[str]:
    """Top-level modules used as ``alias.NAME`` after ``import rnnkit [as alias]``."""
    aliases = {
        alias.asname or "rnnkit"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "rnnkit"
    }
    return {
        _defining_module(node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
    }


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


def test_the_scan_sees_the_facade():
    """``import rnnkit as rk`` then ``rk.X``: each use counts as an import of X's own layer."""
    tree = ast.parse(
        "import rnnkit as rk\nrk.BasicLSTMCell(4)\nrk.fused.explain(None)\nrk.dynamic_rnn\n"
    )
    assert _facade_uses(tree) == {"cells", "fused", "unroll"}
    assert {"cells", "nest"} <= _imported_top_modules(PACKAGE / "tasks" / "common.py")
    assert {"cells", "unroll", "tf_names"} <= _imported_top_modules(PACKAGE / "tasks" / "mnist.py")
