"""Float64 NumPy references of the block and cuDNN-compatible cells, written from TF 1.15's formulas
(contrib/rnn/python/ops/gru_ops.py, contrib/cudnn_rnn/python/ops/cudnn_rnn_ops.py); the LSTM block cells reuse
``numpy_cells.lstm`` (the same step, see ``rnnkit.cells.block``)."""

from __future__ import annotations

import numpy as np

from tests.reference.numpy_cells import gru, sigmoid

_BLOCK_NAMES = {
    "w_ru": "gates/kernel",
    "b_ru": "gates/bias",
    "w_c": "candidate/kernel",
    "b_c": "candidate/bias",
}


def gru_block(w, x, h):
    """GRUBlockCell: GRUCell's step under the names w_ru, b_ru, w_c, b_c."""
    return gru({_BLOCK_NAMES[k]: v for k, v in w.items()}, x, h)


def cudnn_compatible_gru(w, x, h):
    """cuDNN's GRU: the reset gate multiplies the recurrent candidate term (with its own bias)."""
    n = h.shape[1]
    gates = sigmoid(np.concatenate([x, h], 1) @ w["gates/kernel"] + w["gates/bias"])
    r, u = gates[:, :n], gates[:, n:]
    c = np.tanh(
        x @ w["candidate/input_projection/kernel"]
        + w["candidate/input_projection/bias"]
        + r * (h @ w["candidate/hidden_projection/kernel"] + w["candidate/hidden_projection/bias"])
    )
    new_h = (1 - u) * c + u * h
    return new_h, new_h
