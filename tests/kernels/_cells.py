"""The cells the native-kernel tests run, with random, non-symmetric weights (float64)."""

from __future__ import annotations

import torch

import rnnkit as rk
from rnnkit.cells import contrib
from tests.kernels._cell_loop import random_state, randomize

CELLS = {
    "gru": lambda: rk.GRUCell(5, input_size=3, dtype=torch.float64),
    "peepholes": lambda: rk.LSTMCell(5, use_peepholes=True, input_size=3, dtype=torch.float64),
    "cell_clip": lambda: rk.LSTMCell(5, cell_clip=0.4, input_size=3, dtype=torch.float64),
    "both": lambda: rk.LSTMCell(
        5, use_peepholes=True, cell_clip=0.5, forget_bias=0.3, input_size=3, dtype=torch.float64
    ),
    "flat_state": lambda: rk.LSTMCell(
        5, use_peepholes=True, state_is_tuple=False, input_size=3, dtype=torch.float64
    ),
    # contrib's LSTMBlockCell: the same step, but the gradient passes through the clip unchanged
    "block": lambda: rk.LSTMBlockCell(
        5, forget_bias=0.2, cell_clip=0.4, use_peephole=True, input_size=3, dtype=torch.float64
    ),
    # contrib's independently recurrent cells (kernels/indy.py)
    "indrnn": lambda: contrib.IndRNNCell(5, input_size=3, dtype=torch.float64),
    "indrnn_relu": lambda: contrib.IndRNNCell(
        5, activation="relu", input_size=3, dtype=torch.float64
    ),
    "indy_gru": lambda: contrib.IndyGRUCell(5, input_size=3, dtype=torch.float64),
    "indy_lstm": lambda: contrib.IndyLSTMCell(
        5, forget_bias=0.3, input_size=3, dtype=torch.float64
    ),
    # contrib's SRU and UGRNN cells (kernels/sru_ugrnn.py)
    "sru": lambda: contrib.SRUCell(5, input_size=3, dtype=torch.float64),
    "ugrnn": lambda: contrib.UGRNNCell(5, forget_bias=0.4, input_size=3, dtype=torch.float64),
    # contrib's NASCell (kernels/nas.py), with and without its recurrent bias
    "nas": lambda: contrib.NASCell(5, input_size=3, dtype=torch.float64),
    "nas_bias": lambda: contrib.NASCell(5, use_bias=True, input_size=3, dtype=torch.float64),
    # contrib's IntersectionRNNCell (kernels/intersection.py): relu (default) and tanh depth candidates
    "intersection": lambda: contrib.IntersectionRNNCell(
        5, num_in_proj=5, forget_bias=0.2, input_size=3, dtype=torch.float64
    ),
    "intersection_tanh": lambda: contrib.IntersectionRNNCell(
        5, num_in_proj=5, y_activation="tanh", input_size=3, dtype=torch.float64
    ),
}


def _cell(kind, seed=0):
    torch.manual_seed(seed)
    cell = CELLS[kind]()
    return randomize(cell)


_state = random_state
