"""The contrib cells and wrappers (TF 1.15 ``tf.contrib.rnn``) in the contract registry: each case's cell, its
NumPy oracle (``tests/reference/numpy_contrib.py``) and its TF layout. ``tests/registry.py`` appends ``CASES``."""

from __future__ import annotations

import rnnkit as rk
from tests.reference import numpy_cells as ref
from tests.reference import numpy_contrib as refc
from tests.registry import D, _case, _leaf, _multi, _under


def _built(cell: rk.RNNCell) -> rk.RNNCell:
    cell.build(D)
    return cell


def _lay(scope: str, **shapes: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """``{rnn/<scope>/<name>: shape}``; ``__`` in a keyword stands for ``/``."""
    prefix = f"rnn/{scope}/" if scope else "rnn/"
    return {prefix + k.replace("__", "/"): v for k, v in shapes.items()}


_LN = {
    f"{g}__{p}": (4,) for g in ("input", "transform", "forget", "output") for p in ("gamma", "beta")
}
_GRU3 = {
    "gates__kernel": (6, 6),
    "gates__bias": (6,),
    "candidate__kernel": (6, 3),
    "candidate__bias": (3,),
}

CASES = [
    _case("contrib_nas", lambda: rk.NASCell(4, input_size=D), _leaf(refc.nas, "nas_cell"),
          _lay("nas_cell", recurrent_kernel=(4, 32), kernel=(3, 32))),
    _case("contrib_nas_proj_bias", lambda: rk.NASCell(4, num_proj=2, use_bias=True, input_size=D),
          _leaf(refc.nas, "nas_cell", num_proj=2, use_bias=True),
          _lay("nas_cell", recurrent_kernel=(2, 32), kernel=(3, 32), bias=(32,), projection_weights=(4, 2))),
    _case("contrib_ugrnn", lambda: rk.UGRNNCell(4, forget_bias=0.3, input_size=D),
          _leaf(refc.ugrnn, "ugrnn_cell", forget_bias=0.3), _lay("ugrnn_cell", kernel=(7, 8), bias=(8,))),
    _case("contrib_intersection_in_proj",
          lambda: rk.IntersectionRNNCell(4, num_in_proj=4, forget_bias=0.5, input_size=D),
          _leaf(refc.intersection, "intersection_rnn_cell", forget_bias=0.5),
          _lay("intersection_rnn_cell", in_projection__kernel=(3, 4), in_projection__bias=(4,),
               kernel=(8, 16), bias=(16,))),
    _case("contrib_intersection_same_depth_tanh",
          lambda: rk.IntersectionRNNCell(D, y_activation="tanh", input_size=D),
          _leaf(refc.intersection, "intersection_rnn_cell", y_act="tanh"),
          _lay("intersection_rnn_cell", kernel=(6, 12), bias=(12,))),
    _case("contrib_cifg_peep_proj_ln",
          lambda: rk.CoupledInputForgetGateLSTMCell(
              4, use_peepholes=True, num_proj=2, proj_clip=0.5, layer_norm=True, forget_bias=0.2, input_size=D),
          _leaf(refc.cifg, "coupled_input_forget_gate_lstm_cell", peep=True, num_proj=2, proj_clip=0.5,
                ln=True, forget_bias=0.2),
          _lay("coupled_input_forget_gate_lstm_cell", W_0=(5, 12), B=(12,),
               **{k: v for k, v in _LN.items() if not k.startswith("input")}, W_F_diag=(4,), W_O_diag=(4,),
               state__gamma=(4,), state__beta=(4,), W_P_0=(4, 2))),
    _case("contrib_cifg_concat",
          lambda: rk.CoupledInputForgetGateLSTMCell(3, state_is_tuple=False, input_size=D),
          _leaf(refc.cifg, "coupled_input_forget_gate_lstm_cell", concat_split=3),
          _lay("coupled_input_forget_gate_lstm_cell", W_0=(6, 9), B=(9,))),
    _case("contrib_glstm_groups_proj",
          lambda: rk.GLSTMCell(6, num_proj=3, number_of_groups=3, input_size=D),
          _leaf(refc.glstm, "glstm_cell", groups=3, num_proj=3),
          _lay("glstm_cell", group0__kernel=(2, 8), group1__kernel=(2, 8), group2__kernel=(2, 8),
               bias_i=(6,), bias_j=(6,), bias_f=(6,), bias_o=(6,), projection__kernel=(6, 3))),
    _case("contrib_ln_lstm_full",
          lambda: rk.LayerNormLSTMCell(4, use_peepholes=True, cell_clip=0.6, num_proj=3, proj_clip=0.5,
                                       layer_norm=True, forget_bias=0.5, input_size=D),
          _leaf(refc.layer_norm_lstm, "layer_norm_lstm_cell", peep=True, cell_clip=0.6, num_proj=3,
                proj_clip=0.5, ln=True, forget_bias=0.5),
          _lay("layer_norm_lstm_cell", kernel=(6, 16), bias=(16,), **_LN, w_f_diag=(4,), w_i_diag=(4,),
               w_o_diag=(4,), state__gamma=(4,), state__beta=(4,), projection__kernel=(4, 3))),
    _case("contrib_ln_lstm_plain", lambda: rk.LayerNormLSTMCell(3, input_size=D),
          _leaf(refc.layer_norm_lstm, "layer_norm_lstm_cell"),
          _lay("layer_norm_lstm_cell", kernel=(6, 12), bias=(12,))),
    _case("contrib_indrnn_relu", lambda: rk.IndRNNCell(4, activation="relu", input_size=D),
          _leaf(refc.indrnn, "ind_rnn_cell", act="relu"),
          _lay("ind_rnn_cell", kernel_w=(3, 4), kernel_u=(1, 4), bias=(4,))),
    _case("contrib_indy_gru", lambda: rk.IndyGRUCell(4, input_size=D), _leaf(refc.indy_gru, "indy_gru_cell"),
          _lay("indy_gru_cell", gates__kernel_w=(3, 8), gates__kernel_u=(1, 8), gates__bias=(8,),
               candidate__kernel=(3, 4), candidate__kernel_u=(1, 4), candidate__bias=(4,))),
    _case("contrib_indy_lstm", lambda: rk.IndyLSTMCell(4, forget_bias=0.4, input_size=D),
          _leaf(refc.indy_lstm, "indy_lstm_cell", forget_bias=0.4),
          _lay("indy_lstm_cell", kernel_w=(3, 16), kernel_u=(1, 16), bias=(16,))),
    _case("contrib_sru", lambda: rk.SRUCell(4, input_size=D), _leaf(refc.sru, "sru_cell"),
          _lay("sru_cell", kernel=(3, 16), bias=(8,))),
    _case("contrib_attention_lstm",
          lambda: _built(rk.AttentionCellWrapper(rk.LSTMCell(4), attn_length=3, input_size=5)),
          _under("attention_cell_wrapper",
                 lambda w, x, s: refc.attention(_leaf(ref.lstm, "lstm_cell"), w, x, s, 3, 4)),
          _lay("attention_cell_wrapper", kernel=(7, 5), bias=(5,), lstm_cell__kernel=(9, 16),
               lstm_cell__bias=(16,), attention__attn_w=(1, 1, 4, 4), attention__attn_v=(4,),
               attention__kernel=(8, 4), attention__bias=(4,), attn_output_projection__kernel=(8, 4),
               attn_output_projection__bias=(4,))),
    _case("contrib_attention_concat_gru",
          lambda: _built(rk.AttentionCellWrapper(rk.GRUCell(3), attn_length=2, attn_vec_size=4,
                                                 state_is_tuple=False)),
          _under("attention_cell_wrapper",
                 lambda w, x, s: refc.attention(_leaf(ref.gru, "gru_cell"), w, x, s, 2, 3, concat_cell_size=3)),
          _lay("attention_cell_wrapper", kernel=(6, 3), bias=(3,), **{f"gru_cell__{k}": v for k, v in _GRU3.items()},
               attention__attn_w=(1, 1, 3, 4), attention__attn_v=(4,), attention__kernel=(3, 4),
               attention__bias=(4,), attn_output_projection__kernel=(6, 3), attn_output_projection__bias=(3,))),
    _case("contrib_highway_gru", lambda: rk.HighwayWrapper(rk.GRUCell(D, input_size=D)),
          lambda w, x, s: refc.highway(_leaf(ref.gru, "gru_cell"), w, x, s),
          {**_lay("gru_cell", **_GRU3), **_lay("", carry_w=(3, 3), carry_b=(3,))}),
    _case("contrib_highway_uncoupled_in_multi",
          lambda: rk.MultiRNNCell([
              rk.HighwayWrapper(rk.BasicLSTMCell(D, input_size=D), couple_carry_transform_gates=False,
                                carry_bias_init=0.4),
              rk.SRUCell(2, input_size=D)]),
          _multi(lambda w, x, s: refc.highway(_leaf(ref.basic_lstm, "basic_lstm_cell"), w, x, s, coupled=False),
                 _leaf(refc.sru, "sru_cell")),
          _lay("multi_rnn_cell/cell_0", basic_lstm_cell__kernel=(6, 12), basic_lstm_cell__bias=(12,),
               carry_w=(3, 3), carry_b=(3,), transform_w=(3, 3), transform_b=(3,))
          | _lay("multi_rnn_cell/cell_1", sru_cell__kernel=(3, 8), sru_cell__bias=(4,))),
]  # fmt: skip
