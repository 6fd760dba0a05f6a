"""Bad input → one clear error, for whole TF models: ``rk.tf_name``, ``rk.model_tf_variables``, ``rk.initialize``,
``rk.build``, ``rk.tf_checkpoint.build_cell`` and friends, ``register_recogniser`` and whole-model loading.

Each case is matched on its whole message; ``docs/errors.md`` carries the table (``tools/errors_table.py``;
``test_errors_doc_is_in_sync`` keeps the two equal). Checkpoints: tests/fixtures/tf_models (real TF ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import rnnkit as rk
import rnnkit.tf_checkpoint as tc
from tests._errors import Case, assert_in_doc, check, table

FIX = Path(__file__).resolve().parent / "fixtures" / "tf_models"
PTB, ZOO, BI = (FIX / n / "model.ckpt" for n in ("ptb", "zoo", "bidirectional"))
BAD = 7
PTB_RNN = "MultiRNNCell([BasicLSTMCell(num_units=4), BasicLSTMCell(num_units=4)])"
CkptError = tc.CheckpointError


class TwoLazy(nn.Module):
    """A model whose forward never reaches ``b``."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.LazyLinear(2), nn.LazyLinear(2)

    def forward(self, x):
        return self.a(x)


def embedding_only():
    model = nn.Module()
    model.embedding = rk.tf_name(nn.Embedding(11, 4), "Model/embedding")
    return model


def linear():
    return nn.Linear(3, 2)


C = Case

# fmt: off
CASES = [
    C("tf-name-not-module", "tf_name", "module", "not an nn.Module",
      lambda: rk.tf_name(BAD, "s"), TypeError, "tf_name: expected a torch.nn.Module, got int"),
    C("tf-name-scope", "tf_name", "scope", "empty",
      lambda: rk.tf_name(linear(), ""), TypeError, "tf_name: expected scope to be a non-empty str, got ''"),
    C("tf-name-cell-names", "tf_name", "names", "given for an rnnkit cell",
      lambda: rk.tf_name(rk.GRUCell(3), "rnn", {"kernel": "k"}), TypeError,
      "tf_name: expected names=None for an rnnkit cell (it names its own variables), got {'kernel': 'k'}"),
    C("tf-name-no-defaults", "tf_name", "names", "omitted for a module without default names",
      lambda: rk.tf_name(nn.Conv1d(1, 1, 1), "conv"), TypeError,
      "tf_name: expected names= for a Conv1d (only ['Embedding', 'LayerNorm', 'Linear'] have default TF names), "
      "got none"),
    C("tf-name-names-type", "tf_name", "names", "not a mapping",
      lambda: rk.tf_name(linear(), "d", ["weight"]), TypeError, "tf_name: expected names to be a mapping, got list"),
    C("tf-name-unknown", "tf_name", "names", "a key that is no parameter of the module",
      lambda: rk.tf_name(linear(), "d", {"weight": "w", "bias": "b", "gain": "g"}), ValueError,
      "tf_name: expected names of Linear's parameters ['bias', 'weight'], got ['gain']"),
    C("tf-name-unnamed", "tf_name", "names", "a parameter left without a name",
      lambda: rk.tf_name(linear(), "d", {"weight": ("w", rk.TRANSPOSE)}), ValueError,
      "tf_name: expected a TF name for every parameter of Linear, got none for ['bias']"),
    C("tf-name-entry", "tf_name", "names", "a layout given as a string",
      lambda: rk.tf_name(linear(), "d", {"weight": ("w", "transpose"), "bias": "b"}), TypeError,
      "tf_name: expected names['weight'] to be a TF name or (TF name, Layout), got ('w', 'transpose')"),
    C("model-vars-not-module", "model_tf_variables", "model", "not an nn.Module",
      lambda: rk.model_tf_variables(BAD), TypeError, "model_tf_variables: expected a torch.nn.Module, got int"),
    C("model-vars-unnamed", "model_tf_variables", "model", "a parameter without a TF name",
      lambda: rk.model_tf_variables(nn.Sequential(rk.tf_name(linear(), "a"), nn.Linear(2, 2))), ValueError,
      "model_tf_variables: expected a TF name for every parameter of Sequential, got none for ['1.weight', "
      "'1.bias'] (give them one with rk.tf_name(module, scope, names))"),
    C("model-vars-duplicate", "model_tf_variables", "model", "two parameters named alike",
      lambda: rk.model_tf_variables(nn.Sequential(rk.tf_name(nn.Embedding(3, 2), "a"),
                                                  rk.tf_name(nn.Embedding(3, 2), "a"))), ValueError,
      "model_tf_variables: expected distinct TF names, got 'a' for 0.weight and 1.weight"),
    C("initialize-not-callable", "initialize", "initializer", "a number",
      lambda: rk.initialize(rk.GRUCell(3, input_size=2), 0.1), TypeError,
      "initialize: expected an in-place initializer function, got float"),
    C("build-not-module", "build", "module", "not an nn.Module",
      lambda: rk.build(BAD, torch.zeros(2, 3)), TypeError, "build: expected a torch.nn.Module, got int 7"),
    C("build-example", "build", "example_input", "rank 1 for a cell",
      lambda: rk.build(rk.GRUCell(3), torch.zeros(3)), TypeError,
      "build: expected example_input to be a [B, D] or [B, T, D] tensor for a cell, got a torch.float32 tensor "
      "of shape (3,)"),
    C("build-unreached", "build", "module", "a lazy layer the call does not reach",
      lambda: rk.build(TwoLazy(), torch.zeros(2, 3)), ValueError,
      "build: expected every parameter built after one call, got still unbuilt ['b.weight', 'b.bias']"),
    C("build-cell-none", "tf_checkpoint.build_cell", "scope", "None with several RNNs in the checkpoint",
      lambda: tc.build_cell(ZOO), CkptError,
      f"{ZOO}: build_cell: expected exactly one RNN scope in the checkpoint (or scope=), got ['basic_lstm/rnn', "
      "'basic_rnn/rnn', 'gru/rnn', 'in_proj/rnn', 'layer_norm/rnn', 'layer_norm_off/rnn', 'lstm_peep_proj/rnn', "
      "'mixed_stack/rnn', 'out_proj/rnn']"),
    C("build-cell-scope", "tf_checkpoint.build_cell", "scope", "not an RNN scope of the checkpoint",
      lambda: tc.build_cell(PTB, "rnn"), CkptError,
      f"{PTB}: build_cell: expected scope to be one of the checkpoint's RNN scopes ['Model/RNN'], got 'rnn'"),
    C("build-cell-scope-type", "tf_checkpoint.build_cell", "scope", "not a str",
      lambda: tc.build_cell(PTB, BAD), TypeError, "build_cell: expected scope to be a str or None, got 7"),
    C("build-cell-kwarg", "tf_checkpoint.build_cell", "cell_kwargs", "one that no cell accepts",
      lambda: tc.build_cell(PTB, nope=1), TypeError,
      f"build_cell: expected cell_kwargs that a cell of {PTB_RNN} accepts, got ['nope']"),
    C("build-cell-fixed", "tf_checkpoint.build_cell", "cell_kwargs", "one the checkpoint fixes",
      lambda: tc.build_cell(PTB, num_units=3), TypeError,
      f"build_cell: expected cell_kwargs that the checkpoint does not fix, got ['num_units'] (inferred: {PTB_RNN})"),
    C("build-bi-none", "tf_checkpoint.build_bidirectional", "scope", "None and no fw/bw pair",
      lambda: tc.build_bidirectional(PTB), CkptError,
      f"{PTB}: build_bidirectional: expected exactly one bidirectional scope in the checkpoint (or scope=), got []"),
    C("build-stack-none", "tf_checkpoint.build_stack_bidirectional", "scope", "None with two stacks",
      lambda: tc.build_stack_bidirectional(BI), CkptError,
      f"{BI}: build_stack_bidirectional: expected exactly one stacked bidirectional scope in the checkpoint "
      "(or scope=), got ['stack_bidirectional_rnn', 'static/stack_bidirectional_rnn']"),
    C("register-scope", "tf_checkpoint.register_recogniser", "scope", "a path, not one scope name",
      lambda: tc.register_recogniser("a/b", lambda v, i: None), TypeError,
      "register_recogniser: expected scope to be one TF scope name, got 'a/b'"),
    C("register-callable", "tf_checkpoint.register_recogniser", "recogniser", "not callable",
      lambda: tc.register_recogniser("gru_cell", BAD), TypeError,
      "register_recogniser: expected a callable recogniser, got int"),
    C("load-model-unexpected", "load_tf_checkpoint", "module_or_cell", "a model lacking weights the checkpoint has",
      lambda: rk.load_tf_checkpoint(embedding_only(), PTB), CkptError,
      f"{PTB}: load_tf_checkpoint: expected the model's TF variables, got unexpected "
      "['Model/RNN/multi_rnn_cell/cell_0/basic_lstm_cell/bias', 'Model/RNN/multi_rnn_cell/cell_0/basic_lstm_cell/"
      "kernel', 'Model/RNN/multi_rnn_cell/cell_1/basic_lstm_cell/bias', 'Model/RNN/multi_rnn_cell/cell_1/"
      "basic_lstm_cell/kernel', 'Model/softmax_b', 'Model/softmax_w']"),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def tf_models_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_tf_models.py").replace(str(FIX), "tests/fixtures/tf_models")


def test_errors_doc_is_in_sync():
    assert_in_doc(tf_models_table())
