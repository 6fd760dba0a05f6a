"""legacy_seq2seq keeps each function's model per (cell, scope), as TF1 kept its variables in the graph: the model
must be reused while the cell lives, freed with the cell, and never follow a copy of it."""

from __future__ import annotations

import copy
import gc
import weakref

import pytest
import torch

import rnnkit as rk
from rnnkit import legacy_seq2seq as ls

torch.set_num_threads(1)


def _call(cell):
    torch.manual_seed(0)
    enc = [torch.randint(0, 5, (2,)) for _ in range(3)]
    dec = [torch.randint(0, 5, (2,)) for _ in range(2)]
    return ls.embedding_attention_seq2seq(enc, dec, cell, 5, 5, 4)[0]


def test_the_model_is_reused_while_the_cell_lives_and_freed_with_it():
    cell = rk.BasicLSTMCell(5)
    first = _call(cell)
    model = ls.model_for(cell, "embedding_attention_seq2seq")
    torch.testing.assert_close(_call(cell), first)
    assert ls.model_for(cell, "embedding_attention_seq2seq") is model
    cell_alive, model_alive = weakref.ref(cell), weakref.ref(model)
    del cell, model
    gc.collect()
    assert cell_alive() is None and model_alive() is None


def test_a_copied_cell_has_no_model_of_its_own_yet():
    cell = rk.BasicLSTMCell(5)
    _call(cell)
    twin = copy.deepcopy(cell)
    with pytest.raises(
        ValueError, match="model_for: expected a legacy_seq2seq call with this cell"
    ):
        ls.model_for(twin, "embedding_attention_seq2seq")
    assert ls.model_for(cell, "embedding_attention_seq2seq") is not None
