"""Every cell configuration the contract suite runs over, with its NumPy oracle and expected TF layout.

A case builds a cell for input depth D with random, non-symmetric weights (normal * 0.5, biases included, so no
symmetry or zero init can hide a bug) and knows how to step the independent NumPy reference with those weights.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import rnnkit as rk
from tests.reference import numpy_cells as ref
from tests.reference import numpy_surface as refs

D = 3  # input depth used by every case


@dataclass(frozen=True)
class CellCase:
    id: str
    make_cell: Callable[[], rk.RNNCell]
    # (numpy weights by TF name under scope "", x [B, D], numpy state) -> (output, state); states as tuples
    numpy_step: Callable[[dict, np.ndarray, Any], tuple[np.ndarray, Any]]
    # expected {TF name under scope "rnn": shape}, in TF order
    layout: dict[str, tuple[int, ...]]


def randomize(cell: rk.RNNCell, seed: int = 0) -> rk.RNNCell:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype) * 0.5)
    return cell


def _sub(weights: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}


def _leaf(fn, scope, concat_split=None, **kw):
    """A NumPy step for a leaf cell whose weights live under ``scope/``; ``concat_split`` = num_units for a
    state_is_tuple=False LSTM (state [c, h] concatenated)."""

    def step(weights, x, state):
        w = _sub(weights, scope + "/")
        if concat_split is not None:
            state = (state[:, :concat_split], state[:, concat_split:])
            out, (c, h) = fn(w, x, state, **kw)
            return out, np.concatenate([c, h], 1)
        return fn(w, x, state, **kw)

    return step


def _multi(*steps, concat_sizes=None):
    def step(weights, x, state):
        if concat_sizes is not None:
            state = tuple(np.split(state, np.cumsum(concat_sizes)[:-1], axis=1))
        new_states = []
        for i, s in enumerate(steps):
            x, ns = s(_sub(weights, f"multi_rnn_cell/cell_{i}/"), x, state[i])
            new_states.append(ns)
        if concat_sizes is not None:
            return x, np.concatenate(new_states, 1)
        return x, tuple(new_states)

    return step


def _case(id, make, numpy_step, layout):
    return CellCase(
        id, lambda: randomize(make(), seed=zlib.crc32(id.encode()) % 1000), numpy_step, layout
    )


CASES = [
    _case(
        "basic_rnn_tanh",
        lambda: rk.BasicRNNCell(4, input_size=D),
        _leaf(ref.basic_rnn, "basic_rnn_cell"),
        {"rnn/basic_rnn_cell/kernel": (7, 4), "rnn/basic_rnn_cell/bias": (4,)},
    ),
    _case(
        "basic_rnn_relu",
        lambda: rk.BasicRNNCell(4, activation="relu", input_size=D),
        _leaf(ref.basic_rnn, "basic_rnn_cell", act="relu"),
        {"rnn/basic_rnn_cell/kernel": (7, 4), "rnn/basic_rnn_cell/bias": (4,)},
    ),
    _case(
        "gru",
        lambda: rk.GRUCell(5, input_size=D),
        _leaf(ref.gru, "gru_cell"),
        {
            "rnn/gru_cell/gates/kernel": (8, 10),
            "rnn/gru_cell/gates/bias": (10,),
            "rnn/gru_cell/candidate/kernel": (8, 5),
            "rnn/gru_cell/candidate/bias": (5,),
        },
    ),
    _case(
        "gru_relu",
        lambda: rk.GRUCell(4, activation=torch.relu, input_size=D),
        _leaf(ref.gru, "gru_cell", act="relu"),
        {
            "rnn/gru_cell/gates/kernel": (7, 8),
            "rnn/gru_cell/gates/bias": (8,),
            "rnn/gru_cell/candidate/kernel": (7, 4),
            "rnn/gru_cell/candidate/bias": (4,),
        },
    ),
    _case(
        "basic_lstm",
        lambda: rk.BasicLSTMCell(4, input_size=D),
        _leaf(ref.basic_lstm, "basic_lstm_cell"),
        {"rnn/basic_lstm_cell/kernel": (7, 16), "rnn/basic_lstm_cell/bias": (16,)},
    ),
    _case(
        "basic_lstm_fb03_relu",
        lambda: rk.BasicLSTMCell(4, forget_bias=0.3, activation="relu", input_size=D),
        _leaf(ref.basic_lstm, "basic_lstm_cell", forget_bias=0.3, act="relu"),
        {"rnn/basic_lstm_cell/kernel": (7, 16), "rnn/basic_lstm_cell/bias": (16,)},
    ),
    _case(
        "basic_lstm_concat",
        lambda: rk.BasicLSTMCell(4, state_is_tuple=False, input_size=D),
        _leaf(ref.basic_lstm, "basic_lstm_cell", concat_split=4),
        {"rnn/basic_lstm_cell/kernel": (7, 16), "rnn/basic_lstm_cell/bias": (16,)},
    ),
    _case(
        "lstm",
        lambda: rk.LSTMCell(4, input_size=D),
        _leaf(ref.lstm, "lstm_cell"),
        {"rnn/lstm_cell/kernel": (7, 16), "rnn/lstm_cell/bias": (16,)},
    ),
    _case(
        "lstm_peep_clip_proj",
        lambda: rk.LSTMCell(
            5,
            use_peepholes=True,
            cell_clip=0.4,
            num_proj=3,
            proj_clip=0.3,
            forget_bias=0.5,
            input_size=D,
        ),
        _leaf(
            ref.lstm,
            "lstm_cell",
            use_peepholes=True,
            cell_clip=0.4,
            num_proj=3,
            proj_clip=0.3,
            forget_bias=0.5,
        ),
        {
            "rnn/lstm_cell/kernel": (6, 20),
            "rnn/lstm_cell/bias": (20,),
            "rnn/lstm_cell/w_f_diag": (5,),
            "rnn/lstm_cell/w_i_diag": (5,),
            "rnn/lstm_cell/w_o_diag": (5,),
            "rnn/lstm_cell/projection/kernel": (5, 3),
        },
    ),
    _case(
        "lstm_concat_proj",
        lambda: rk.LSTMCell(4, num_proj=2, state_is_tuple=False, input_size=D),
        _leaf(ref.lstm, "lstm_cell", concat_split=4, num_proj=2),
        {
            "rnn/lstm_cell/kernel": (5, 16),
            "rnn/lstm_cell/bias": (16,),
            "rnn/lstm_cell/projection/kernel": (4, 2),
        },
    ),
    _case(
        "multi_mixed",
        lambda: rk.MultiRNNCell(
            [
                rk.BasicLSTMCell(4, input_size=D),
                rk.GRUCell(3, input_size=4),
                rk.LSTMCell(4, use_peepholes=True, num_proj=2, input_size=3),
            ]
        ),
        _multi(
            _leaf(ref.basic_lstm, "basic_lstm_cell"),
            _leaf(ref.gru, "gru_cell"),
            _leaf(ref.lstm, "lstm_cell", use_peepholes=True, num_proj=2),
        ),
        {
            "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel": (7, 16),
            "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias": (16,),
            "rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel": (7, 6),
            "rnn/multi_rnn_cell/cell_1/gru_cell/gates/bias": (6,),
            "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel": (7, 3),
            "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/bias": (3,),
            "rnn/multi_rnn_cell/cell_2/lstm_cell/kernel": (5, 16),
            "rnn/multi_rnn_cell/cell_2/lstm_cell/bias": (16,),
            "rnn/multi_rnn_cell/cell_2/lstm_cell/w_f_diag": (4,),
            "rnn/multi_rnn_cell/cell_2/lstm_cell/w_i_diag": (4,),
            "rnn/multi_rnn_cell/cell_2/lstm_cell/w_o_diag": (4,),
            "rnn/multi_rnn_cell/cell_2/lstm_cell/projection/kernel": (4, 2),
        },
    ),
    _case(
        "multi_concat",
        lambda: rk.MultiRNNCell(
            [rk.BasicRNNCell(3, input_size=D), rk.GRUCell(2, input_size=3)], state_is_tuple=False
        ),
        _multi(
            _leaf(ref.basic_rnn, "basic_rnn_cell"), _leaf(ref.gru, "gru_cell"), concat_sizes=[3, 2]
        ),
        {
            "rnn/multi_rnn_cell/cell_0/basic_rnn_cell/kernel": (6, 3),
            "rnn/multi_rnn_cell/cell_0/basic_rnn_cell/bias": (3,),
            "rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel": (5, 4),
            "rnn/multi_rnn_cell/cell_1/gru_cell/gates/bias": (4,),
            "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel": (5, 2),
            "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/bias": (2,),
        },
    ),
]


# ---- the rest of the TF1 surface (issue 4): wrappers (dropout ones in eval mode: the identity) and contrib cells
def _under(scope, step):
    """A NumPy step whose weights live under ``scope/`` (a projection wrapper's scope)."""
    return lambda weights, x, state: step(_sub(weights, scope + "/"), x, state)


def _ln_layout(prefix, d, h, layer_norm=True):
    layout = {f"{prefix}/kernel": (d + h, 4 * h)}
    if not layer_norm:
        return {**layout, f"{prefix}/bias": (4 * h,)}
    for gate in ("input", "transform", "forget", "output", "state"):
        layout.update({f"{prefix}/{gate}/gamma": (h,), f"{prefix}/{gate}/beta": (h,)})
    return layout


CASES += [
    _case(
        "dropout_eval_basic_lstm",
        lambda: rk.DropoutWrapper(
            rk.BasicLSTMCell(4, input_size=D),
            input_keep_prob=0.5,
            output_keep_prob=0.3,
            state_keep_prob=0.7,
            variational_recurrent=True,
            seed=3,
        ).eval(),
        _leaf(ref.basic_lstm, "basic_lstm_cell"),
        {"rnn/basic_lstm_cell/kernel": (7, 16), "rnn/basic_lstm_cell/bias": (16,)},
    ),
    _case(
        "dropout_keep1_gru_train",
        lambda: rk.DropoutWrapper(rk.GRUCell(4, input_size=D)),
        _leaf(ref.gru, "gru_cell"),
        {
            "rnn/gru_cell/gates/kernel": (7, 8),
            "rnn/gru_cell/gates/bias": (8,),
            "rnn/gru_cell/candidate/kernel": (7, 4),
            "rnn/gru_cell/candidate/bias": (4,),
        },
    ),
    _case(
        "residual_gru",
        lambda: rk.ResidualWrapper(rk.GRUCell(D, input_size=D)),
        lambda w, x, s: (lambda out, st: (x + out, st))(*_leaf(ref.gru, "gru_cell")(w, x, s)),
        {
            "rnn/gru_cell/gates/kernel": (6, 6),
            "rnn/gru_cell/gates/bias": (6,),
            "rnn/gru_cell/candidate/kernel": (6, 3),
            "rnn/gru_cell/candidate/bias": (3,),
        },
    ),
    _case(
        "device_cpu_lstm",
        lambda: rk.DeviceWrapper(rk.LSTMCell(4, num_proj=2, input_size=D), "cpu"),
        _leaf(ref.lstm, "lstm_cell", num_proj=2),
        {
            "rnn/lstm_cell/kernel": (5, 16),
            "rnn/lstm_cell/bias": (16,),
            "rnn/lstm_cell/projection/kernel": (4, 2),
        },
    ),
    _case(
        "output_projection_basic_lstm",
        lambda: rk.OutputProjectionWrapper(rk.BasicLSTMCell(4, input_size=D), 2),
        _under(
            "output_projection_wrapper",
            lambda w, x, s: refs.output_projection(
                _leaf(ref.basic_lstm, "basic_lstm_cell"), w, x, s
            ),
        ),
        {
            "rnn/output_projection_wrapper/basic_lstm_cell/kernel": (7, 16),
            "rnn/output_projection_wrapper/basic_lstm_cell/bias": (16,),
            "rnn/output_projection_wrapper/kernel": (4, 2),
            "rnn/output_projection_wrapper/bias": (2,),
        },
    ),
    _case(
        "input_projection_gru_relu",
        lambda: rk.InputProjectionWrapper(rk.GRUCell(3), 5, activation="relu", input_size=D),
        _under(
            "input_projection_wrapper",
            lambda w, x, s: refs.input_projection(_leaf(ref.gru, "gru_cell"), w, x, s, act="relu"),
        ),
        {
            "rnn/input_projection_wrapper/kernel": (3, 5),
            "rnn/input_projection_wrapper/bias": (5,),
            "rnn/input_projection_wrapper/gru_cell/gates/kernel": (8, 6),
            "rnn/input_projection_wrapper/gru_cell/gates/bias": (6,),
            "rnn/input_projection_wrapper/gru_cell/candidate/kernel": (8, 3),
            "rnn/input_projection_wrapper/gru_cell/candidate/bias": (3,),
        },
    ),
    _case(
        "layer_norm_lstm",
        lambda: rk.LayerNormBasicLSTMCell(4, input_size=D),
        _leaf(refs.layer_norm_basic_lstm, "layer_norm_basic_lstm_cell"),
        _ln_layout("rnn/layer_norm_basic_lstm_cell", D, 4),
    ),
    _case(
        "layer_norm_lstm_off_relu_dropout_eval",
        lambda: rk.LayerNormBasicLSTMCell(
            3,
            forget_bias=0.4,
            activation="relu",
            layer_norm=False,
            dropout_keep_prob=0.5,
            input_size=D,
        ).eval(),
        _leaf(
            refs.layer_norm_basic_lstm,
            "layer_norm_basic_lstm_cell",
            forget_bias=0.4,
            layer_norm_on=False,
            act="relu",
        ),
        _ln_layout("rnn/layer_norm_basic_lstm_cell", D, 3, layer_norm=False),
    ),
    _case(
        "multi_wrapped",
        lambda: rk.MultiRNNCell(
            [
                rk.DropoutWrapper(
                    rk.LayerNormBasicLSTMCell(3, input_size=D), output_keep_prob=0.5
                ).eval(),
                rk.ResidualWrapper(rk.OutputProjectionWrapper(rk.GRUCell(2, input_size=3), 3)),
            ]
        ),
        _multi(
            _leaf(refs.layer_norm_basic_lstm, "layer_norm_basic_lstm_cell"),
            lambda w, x, s: (lambda out, st: (x + out, st))(
                *_under(
                    "output_projection_wrapper",
                    lambda w2, x2, s2: refs.output_projection(
                        _leaf(ref.gru, "gru_cell"), w2, x2, s2
                    ),
                )(w, x, s)
            ),
        ),
        {
            **_ln_layout("rnn/multi_rnn_cell/cell_0/layer_norm_basic_lstm_cell", D, 3),
            "rnn/multi_rnn_cell/cell_1/output_projection_wrapper/gru_cell/gates/kernel": (5, 4),
            "rnn/multi_rnn_cell/cell_1/output_projection_wrapper/gru_cell/gates/bias": (4,),
            "rnn/multi_rnn_cell/cell_1/output_projection_wrapper/gru_cell/candidate/kernel": (5, 2),
            "rnn/multi_rnn_cell/cell_1/output_projection_wrapper/gru_cell/candidate/bias": (2,),
            "rnn/multi_rnn_cell/cell_1/output_projection_wrapper/kernel": (2, 3),
            "rnn/multi_rnn_cell/cell_1/output_projection_wrapper/bias": (3,),
        },
    ),
]

from tests.registry_block import CASES as _BLOCK  # noqa: E402  (built from the helpers above)
from tests.registry_contrib import CASES as _CONTRIB  # noqa: E402  (built from the helpers above)

CASES += _BLOCK + _CONTRIB
CASE_IDS = [c.id for c in CASES]


def numpy_weights(cell: rk.RNNCell) -> dict[str, np.ndarray]:
    return {k: v.detach().double().numpy() for k, v in rk.tf_variables(cell, scope="").items()}


def to_numpy_state(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.detach().double().numpy()
    return tuple(to_numpy_state(s) for s in state)


def flatten_numpy(state: Any) -> list[np.ndarray]:
    if isinstance(state, np.ndarray):
        return [state]
    return [leaf for s in state for leaf in flatten_numpy(s)]
