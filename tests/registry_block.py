"""Registry cases of the block cells of tf.contrib.rnn and the cuDNN-compatible cells (issue 16); ``tests.registry``
appends them to its CASES."""

from __future__ import annotations

import rnnkit as rk
from tests.reference import numpy_block as refb
from tests.reference import numpy_cells as ref
from tests.registry import D, _case, _leaf, _multi


# ---- the block cells of tf.contrib.rnn and the cuDNN-compatible cells (issue 16)
def _lstm_layout(prefix, d, h, peep=False):
    layout = {f"{prefix}/kernel": (d + h, 4 * h), f"{prefix}/bias": (4 * h,)}
    if peep:
        layout.update(
            {f"{prefix}/w_i_diag": (h,), f"{prefix}/w_f_diag": (h,), f"{prefix}/w_o_diag": (h,)}
        )
    return layout


def _gru_layout(
    prefix, d, h, names=("gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias")
):
    return dict(zip([f"{prefix}/{n}" for n in names], [(d + h, 2 * h), (2 * h,), (d + h, h), (h,)]))


CASES = [
    _case(
        "lstm_block",
        lambda: rk.LSTMBlockCell(4, input_size=D),
        _leaf(ref.lstm, "lstm_cell"),
        _lstm_layout("rnn/lstm_cell", D, 4),
    ),
    _case(
        # cell_clip large enough never to act: TF's block gradient passes through the clip (not a derivative),
        # so gradcheck could not hold where it acts; the TF fixtures check the clipped numbers and gradients.
        "lstm_block_peep_fb03",
        lambda: rk.LSTMBlockCell(
            5, forget_bias=0.3, cell_clip=50.0, use_peephole=True, input_size=D
        ),
        _leaf(ref.lstm, "lstm_cell", forget_bias=0.3, use_peepholes=True, cell_clip=50.0),
        _lstm_layout("rnn/lstm_cell", D, 5, peep=True),
    ),
    _case(
        "gru_block",
        lambda: rk.GRUBlockCell(4, input_size=D),
        _leaf(refb.gru_block, "gru_cell"),
        _gru_layout("rnn/gru_cell", D, 4, names=("w_ru", "b_ru", "w_c", "b_c")),
    ),
    _case(
        "gru_block_v2",
        lambda: rk.GRUBlockCellV2(cell_size=3, input_size=D),
        _leaf(ref.gru, "gru_cell"),
        _gru_layout("rnn/gru_cell", D, 3),
    ),
    _case(
        "cudnn_compatible_lstm",
        lambda: rk.CudnnCompatibleLSTMCell(4, input_size=D),
        _leaf(ref.basic_lstm, "cudnn_compatible_lstm_cell", forget_bias=0.0),
        _lstm_layout("rnn/cudnn_compatible_lstm_cell", D, 4),
    ),
    _case(
        "cudnn_compatible_gru_multi",
        lambda: rk.MultiRNNCell(
            [rk.CudnnCompatibleGRUCell(4, input_size=D), rk.CudnnCompatibleGRUCell(3, input_size=4)]
        ),
        _multi(
            _leaf(refb.cudnn_compatible_gru, "cudnn_compatible_gru_cell"),
            _leaf(refb.cudnn_compatible_gru, "cudnn_compatible_gru_cell"),
        ),
        {
            f"rnn/multi_rnn_cell/cell_{i}/cudnn_compatible_gru_cell/{name}": shape
            for i, (d, h) in enumerate([(D, 4), (4, 3)])
            for name, shape in [
                ("gates/kernel", (d + h, 2 * h)),
                ("gates/bias", (2 * h,)),
                ("candidate/input_projection/kernel", (d, h)),
                ("candidate/hidden_projection/kernel", (h, h)),
                ("candidate/input_projection/bias", (h,)),
                ("candidate/hidden_projection/bias", (h,)),
            ]
        },
    ),
]
