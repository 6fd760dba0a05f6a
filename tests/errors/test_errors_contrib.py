"""Bad input → one clear error, for the contrib cells and wrappers (``rk.NASCell`` ... ``rk.HighwayWrapper``);
``docs/errors.md`` carries the table (``tools/errors_table.py`` writes it)."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from tests._errors import Case, assert_in_doc, check, table

C = Case
B, D, H, BAD = 2, 3, 6, 7


def _attn(**kwargs):
    return rk.AttentionCellWrapper(rk.GRUCell(H), 2, **kwargs)


def _conv1d():
    return rk.Conv1DLSTMCell(input_shape=[4, 2], output_channels=3, kernel_shape=[3])


def _built_attn():
    cell = _attn()
    cell.build(D)
    return cell


# fmt: off
CASES = [
    C("nas-num_proj", "NASCell", "num_proj", "0",
      lambda: rk.NASCell(H, num_proj=0), ValueError, "NASCell: expected num_proj to be a positive int, got 0"),
    C("nas-use_bias", "NASCell", "use_bias", "not a bool",
      lambda: rk.NASCell(H, use_bias=1), TypeError, "NASCell: expected use_bias to be a bool, got int 1"),
    C("ugrnn-forget_bias", "UGRNNCell", "forget_bias", "not a number",
      lambda: rk.UGRNNCell(H, forget_bias="1"), TypeError,
      "UGRNNCell: expected forget_bias to be a float, got str '1'"),
    C("ugrnn-initializer", "UGRNNCell / IntersectionRNNCell / GLSTMCell / LayerNormLSTMCell", "initializer",
      "not callable", lambda: rk.UGRNNCell(H, initializer="glorot"), TypeError,
      "UGRNNCell: expected initializer to be None or a callable that fills a tensor in place "
      "(e.g. torch.nn.init.orthogonal_), got str 'glorot'"),
    C("intersection-num_in_proj", "IntersectionRNNCell", "num_in_proj", "!= num_units",
      lambda: rk.IntersectionRNNCell(H, num_in_proj=4), ValueError,
      "IntersectionRNNCell: expected num_in_proj to be None or num_units=6 (the inputs are projected to "
      "num_units), got 4"),
    C("intersection-depth", "IntersectionRNNCell", "input_size", "!= num_units without num_in_proj",
      lambda: rk.IntersectionRNNCell(H, input_size=D), ValueError,
      "IntersectionRNNCell: expected inputs of depth num_units=6 (the output is passed through depth), got "
      "depth 3; pass num_in_proj=6 to project them"),
    C("intersection-y_activation", "IntersectionRNNCell", "y_activation", "an unknown name",
      lambda: rk.IntersectionRNNCell(H, y_activation="tanhh"), ValueError,
      "IntersectionRNNCell: expected y_activation to be a callable or one of elu, gelu, linear, relu, relu6, "
      "selu, sigmoid, softplus, softsign, swish, tanh, got 'tanhh'"),
    C("cifg-num_unit_shards", "CoupledInputForgetGateLSTMCell", "num_unit_shards", "!= 1",
      lambda: rk.CoupledInputForgetGateLSTMCell(H, num_unit_shards=2), ValueError,
      "CoupledInputForgetGateLSTMCell: expected num_unit_shards=1 (sharded variables are not supported), "
      "got int 2"),
    C("cifg-state_is_tuple", "CoupledInputForgetGateLSTMCell", "state_is_tuple", "not a bool",
      lambda: rk.CoupledInputForgetGateLSTMCell(H, state_is_tuple=1), TypeError,
      "CoupledInputForgetGateLSTMCell: expected state_is_tuple to be a bool, got int 1"),
    C("cifg-layer_norm", "CoupledInputForgetGateLSTMCell / LayerNormLSTMCell", "layer_norm", "not a bool",
      lambda: rk.CoupledInputForgetGateLSTMCell(H, layer_norm="yes"), TypeError,
      "CoupledInputForgetGateLSTMCell: expected layer_norm to be a bool, got str 'yes'"),
    C("cifg-proj_clip", "CoupledInputForgetGateLSTMCell / LayerNormLSTMCell", "proj_clip", "< 0",
      lambda: rk.CoupledInputForgetGateLSTMCell(H, num_proj=2, proj_clip=-1), ValueError,
      "CoupledInputForgetGateLSTMCell: expected proj_clip to be a positive number or None, got -1"),
    C("glstm-units-groups", "GLSTMCell", "number_of_groups", "does not divide num_units",
      lambda: rk.GLSTMCell(H, number_of_groups=4), ValueError,
      "GLSTMCell: expected num_units divisible by number_of_groups=4, got 6"),
    C("glstm-groups-zero", "GLSTMCell", "number_of_groups", "0",
      lambda: rk.GLSTMCell(H, number_of_groups=0), ValueError,
      "GLSTMCell: expected number_of_groups to be a positive int, got 0"),
    C("glstm-proj-groups", "GLSTMCell", "num_proj", "not divisible by number_of_groups",
      lambda: rk.GLSTMCell(H, number_of_groups=2, num_proj=3), ValueError,
      "GLSTMCell: expected num_proj divisible by number_of_groups=2, got 3"),
    C("glstm-depth-groups", "GLSTMCell", "input_size", "not divisible by number_of_groups",
      lambda: rk.GLSTMCell(H, number_of_groups=2, input_size=D), ValueError,
      "GLSTMCell: expected an input depth divisible by number_of_groups=2, got 3"),
    C("lnlstm-cell_clip", "LayerNormLSTMCell", "cell_clip", "0",
      lambda: rk.LayerNormLSTMCell(H, cell_clip=0), ValueError,
      "LayerNormLSTMCell: expected cell_clip to be a positive number or None, got 0"),
    C("lnlstm-norm_gain", "LayerNormLSTMCell / CoupledInputForgetGateLSTMCell", "norm_gain", "not a number",
      lambda: rk.LayerNormLSTMCell(H, norm_gain=None), TypeError,
      "LayerNormLSTMCell: expected norm_gain to be a float, got NoneType None"),
    C("lnlstm-use_peepholes", "LayerNormLSTMCell / CoupledInputForgetGateLSTMCell", "use_peepholes",
      "not a bool", lambda: rk.LayerNormLSTMCell(H, use_peepholes="no"), TypeError,
      "LayerNormLSTMCell: expected use_peepholes to be a bool, got str 'no'"),
    C("indy-kernel_initializer", "IndyLSTMCell / IndyGRUCell", "kernel_initializer", "not callable",
      lambda: rk.IndyLSTMCell(H, kernel_initializer=3), TypeError,
      "IndyLSTMCell: expected kernel_initializer to be None or a callable that fills a tensor in place "
      "(e.g. torch.nn.init.orthogonal_), got int 3"),
    C("indy-bias_initializer", "IndyLSTMCell / IndyGRUCell", "bias_initializer", "not callable",
      lambda: rk.IndyGRUCell(H, bias_initializer=3), TypeError,
      "IndyGRUCell: expected bias_initializer to be None or a callable that fills a tensor in place "
      "(e.g. torch.nn.init.orthogonal_), got int 3"),
    C("indrnn-activation", "IndRNNCell (every contrib cell)", "activation", "neither a callable nor a name",
      lambda: rk.IndRNNCell(H, activation=BAD), TypeError,
      "IndRNNCell: expected activation to be a callable or a name, got 7"),
    C("sru-rank3-step", "SRUCell (every contrib cell)", "inputs", "a [B, T, D] tensor for one step",
      lambda: rk.SRUCell(H)(torch.zeros(B, 4, D), torch.zeros(B, H)), ValueError,
      "SRUCell: expected inputs of rank 2 [B, D], got shape (2, 4, 3)"),
    C("phased-inputs-tensor", "PhasedLSTMCell", "inputs", "a tensor instead of (time, x)",
      lambda: rk.PhasedLSTMCell(H)(torch.zeros(B, D), rk.PhasedLSTMCell(H).zero_state(B)), TypeError,
      "PhasedLSTMCell: expected inputs to be a (time [B, 1], x [B, D]) pair, got a torch.float32 tensor of "
      "shape (2, 3)"),
    C("phased-time-shape", "PhasedLSTMCell", "inputs", "time not [B, 1]",
      lambda: rk.PhasedLSTMCell(H)((torch.zeros(B), torch.zeros(B, D)), rk.PhasedLSTMCell(H).zero_state(B)),
      ValueError, "PhasedLSTMCell: expected time to be a floating [B=2, 1] tensor on cpu, got a torch.float32 "
      "tensor of shape (2,)"),
    C("phased-period-range", "PhasedLSTMCell", "period_init_min", "> period_init_max",
      lambda: rk.PhasedLSTMCell(H, period_init_min=10.0, period_init_max=1.0), ValueError,
      "PhasedLSTMCell: expected 0 < period_init_min <= period_init_max, got 10.0 and 1.0"),
    C("phased-leak", "PhasedLSTMCell", "leak", "not a number",
      lambda: rk.PhasedLSTMCell(H, leak="0.1"), TypeError, "PhasedLSTMCell: expected leak to be a float, got str '0.1'"),
    C("conv-skip_connection", "Conv1DLSTMCell / Conv2DLSTMCell / Conv3DLSTMCell", "skip_connection", "True",
      lambda: rk.Conv2DLSTMCell(input_shape=[4, 4, 2], output_channels=3, kernel_shape=[3, 3],
                                skip_connection=True), ValueError,
      "Conv2DLSTMCell: expected skip_connection=False, got True (TF 1.15 put the wider output into the state, "
      "which its next step could not take)"),
    C("conv-conv_ndims", "ConvLSTMCell", "conv_ndims", "not 1, 2 or 3",
      lambda: rk.ConvLSTMCell(4, input_shape=[2, 2, 2, 2, 1], output_channels=1, kernel_shape=[1] * 4), ValueError,
      "ConvLSTMCell: expected conv_ndims to be 1, 2 or 3, got 4"),
    C("conv-input_shape-rank", "Conv2DLSTMCell", "input_shape", "not [*S, C] of the cell's rank",
      lambda: rk.Conv2DLSTMCell(input_shape=[4, 2], output_channels=3, kernel_shape=[3, 3]), ValueError,
      "Conv2DLSTMCell: expected input_shape to be a list of 3 positive ints, got [4, 2]"),
    C("conv-kernel_shape-rank", "Conv1DLSTMCell", "kernel_shape", "not one int per spatial dimension",
      lambda: rk.Conv1DLSTMCell(input_shape=[4, 2], output_channels=3, kernel_shape=[3, 3]), ValueError,
      "Conv1DLSTMCell: expected kernel_shape to be a list of 1 positive ints, got [3, 3]"),
    C("conv-output_channels", "Conv3DLSTMCell", "output_channels", "0",
      lambda: rk.Conv3DLSTMCell(input_shape=[2, 2, 2, 1], output_channels=0, kernel_shape=[1, 1, 1]), ValueError,
      "Conv3DLSTMCell: expected output_channels to be a positive int, got 0"),
    C("conv-inputs-shape", "Conv1DLSTMCell", "inputs", "not [B, *input_shape]",
      lambda: (lambda c: c(torch.zeros(B, 5, 2), c.zero_state(B)))(_conv1d()), ValueError,
      "Conv1DLSTMCell: expected inputs of shape [B, 4, 2], got (2, 5, 2)"),
    C("conv-state-shape", "Conv1DLSTMCell", "state", "leaves not [B, *S, K]",
      lambda: _conv1d()(torch.zeros(B, 4, 2), (torch.zeros(B, 4, 2), torch.zeros(B, 4, 2))), ValueError,
      "Conv1DLSTMCell: expected a state (c, h) of two [2, 4, 3] tensors, got a tuple of length 2"),
    C("attn-length-zero", "AttentionCellWrapper", "attn_length", "0",
      lambda: rk.AttentionCellWrapper(rk.GRUCell(H), 0), ValueError,
      "AttentionCellWrapper: expected attn_length to be a positive int, got 0"),
    C("attn-length-float", "AttentionCellWrapper", "attn_length", "a float",
      lambda: rk.AttentionCellWrapper(rk.GRUCell(H), 2.0), TypeError,
      "AttentionCellWrapper: expected attn_length to be a positive int, got float 2.0"),
    C("attn-nested-concat", "AttentionCellWrapper", "state_is_tuple", "False with a nested-state cell",
      lambda: rk.AttentionCellWrapper(rk.LSTMCell(H), 2, state_is_tuple=False), ValueError,
      "AttentionCellWrapper: expected state_is_tuple=True for a cell with a nested state, got "
      "state_size=LSTMStateTuple(c=6, h=6)"),
    C("attn-not-a-cell", "AttentionCellWrapper / HighwayWrapper", "cell", "not an rnnkit cell",
      lambda: rk.AttentionCellWrapper(torch.nn.LSTM(D, H), 2), TypeError,
      "AttentionCellWrapper: expected cell to be an rnnkit RNNCell, got LSTM (missing: state_size, "
      "output_size, zero_state)"),
    C("attn-size-zero", "AttentionCellWrapper", "attn_size", "0",
      lambda: _attn(attn_size=0), ValueError, "AttentionCellWrapper: expected attn_size to be a positive int, got 0"),
    C("attn-state-cell-only", "AttentionCellWrapper", "state", "the wrapped cell's state alone",
      lambda: _attn()(torch.zeros(B, D), torch.zeros(B, H)), ValueError,
      "AttentionCellWrapper (state): expected a structure like tuple(leaf, leaf, leaf), got leaf"),
    C("attn-inputs-rank", "AttentionCellWrapper", "inputs", "not [B, D]",
      lambda: _attn()(torch.zeros(B, 1, D), None), TypeError,
      "AttentionCellWrapper: expected inputs to be a [B, D] tensor, got a torch.float32 tensor of shape (2, 1, 3)"),
    C("attn-depth", "AttentionCellWrapper", "inputs", "a depth != the one built for",
      lambda: (lambda c: c(torch.zeros(B, D + 1), c.zero_state(B)))(_built_attn()), ValueError,
      "AttentionCellWrapper: built for input_size=3, got inputs.shape[-1]=4"),
    C("attn-dtype", "AttentionCellWrapper", "inputs", "a dtype != the parameters'",
      lambda: (lambda c: c(torch.zeros(B, D, dtype=torch.float64), c.zero_state(B, torch.float64)))(_built_attn()),
      TypeError, "AttentionCellWrapper: expected torch.float32 inputs on cpu (the parameters'), got torch.float64 "
      "on cpu"),
    C("highway-shape", "HighwayWrapper", "cell", "output shape != inputs shape",
      lambda: rk.HighwayWrapper(rk.GRUCell(H))(torch.zeros(B, D), torch.zeros(B, H)), ValueError,
      "HighwayWrapper: expected the cell's output to have the inputs' shape (2, 3), got (2, 6)"),
    C("highway-couple", "HighwayWrapper", "couple_carry_transform_gates", "not a bool",
      lambda: rk.HighwayWrapper(rk.GRUCell(H), couple_carry_transform_gates=None), TypeError,
      "HighwayWrapper: expected couple_carry_transform_gates to be a bool, got NoneType None"),
    C("highway-carry_bias_init", "HighwayWrapper", "carry_bias_init", "not a number",
      lambda: rk.HighwayWrapper(rk.GRUCell(H), carry_bias_init="1"), TypeError,
      "HighwayWrapper: expected carry_bias_init to be a float, got str '1'"),
]

BASELINES = {
    "cells": lambda: [cls(H, input_size=H) for cls in (rk.NASCell, rk.UGRNNCell, rk.IntersectionRNNCell,
                      rk.CoupledInputForgetGateLSTMCell, rk.GLSTMCell, rk.LayerNormLSTMCell, rk.IndRNNCell,
                      rk.IndyGRUCell, rk.IndyLSTMCell, rk.SRUCell, rk.PhasedLSTMCell)],
    "attention": lambda: (lambda c: c(torch.zeros(B, D), c.zero_state(B)))(_built_attn()),
    "conv": lambda: (lambda c: c(torch.zeros(B, 4, 2), c.zero_state(B)))(_conv1d()),
    "highway": lambda: rk.HighwayWrapper(rk.GRUCell(D))(torch.zeros(B, D), torch.zeros(B, D)),
}
# fmt: on


@pytest.mark.parametrize("name", list(BASELINES))
def test_baseline_calls_succeed(name):
    BASELINES[name]()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


def contrib_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_contrib.py")


def test_errors_doc_is_in_sync():
    assert_in_doc(contrib_table())
