"""Old TF RNN variable names -> the names TF >= 1.2 (and rnnkit) use.

Two generations of names are mapped, segment by segment, so they work under any outer scope:

=========================  ==========================================  ==================================
TF 0.x (``_linear``)       TF 1.0 / 1.1                                TF >= 1.2, rnnkit
=========================  ==========================================  ==================================
``RNN``, ``BiRNN/FW|BW``   ``rnn``, ``bidirectional_rnn/fw|bw``        same as 1.0
``MultiRNNCell/Cell0``     ``multi_rnn_cell/cell_0``                   same as 1.0
``BasicLSTMCell/Linear/``  ``basic_lstm_cell/weights``, ``biases``     ``basic_lstm_cell/kernel``, ``bias``
``Matrix``, ``Bias``
``BasicRNNCell/Linear/..`` ``basic_rnn_cell/weights``, ``biases``      ``basic_rnn_cell/kernel``, ``bias``
``GRUCell/Gates/Linear/..``  ``gru_cell/gates/weights``, ``biases``    ``gru_cell/gates/kernel``, ``bias``
``GRUCell/Candidate/..``   ``gru_cell/candidate/weights``, ``biases``  ``gru_cell/candidate/kernel``, ...
``LSTMCell/W_0``, ``B``    ``lstm_cell/weights``, ``biases``           ``lstm_cell/kernel``, ``bias``
``LSTMCell/W_F_diag`` ..   ``lstm_cell/w_f_diag`` ..                   same as 1.0
``LSTMCell/W_P_0``         ``lstm_cell/projection/weights``            ``lstm_cell/projection/kernel``
=========================  ==========================================  ==================================

The array layouts did not change across these renames (kernel ``[D + H, k*H]``, gates i, j, f, o for
LSTMs, r, u for GRUs), so values carry over as they are. Sharded old weights (``W_1``, ...,
``num_unit_shards > 1``) are left alone.
"""

from __future__ import annotations

import re

__all__ = ["modern_name"]

_CELL_SCOPES = {
    "BasicLSTMCell": "basic_lstm_cell",
    "LSTMCell": "lstm_cell",
    "GRUCell": "gru_cell",
    "BasicRNNCell": "basic_rnn_cell",
}
_MODERN_CELLS = set(_CELL_SCOPES.values())
_SUB_SCOPES = {"Gates": "gates", "Candidate": "candidate"}  # inside gru_cell
_OLD_LSTM_PARAMS = {
    "W_0": ["kernel"],
    "B": ["bias"],
    "W_F_diag": ["w_f_diag"],
    "W_I_diag": ["w_i_diag"],
    "W_O_diag": ["w_o_diag"],
    "W_P_0": ["projection", "kernel"],
}
_LEAVES = {"weights": "kernel", "biases": "bias"}
_OLD_MULTI_CELL = re.compile(r"^Cell(\d+)$")


def _in_cell(out: list[str]) -> bool:
    """Whether the segments so far end inside an RNN cell's own scope."""
    if out and out[-1] in _MODERN_CELLS:
        return True
    return (
        len(out) >= 2
        and out[-2] in _MODERN_CELLS
        and out[-1] in ("gates", "candidate", "projection")
    )


def modern_name(name: str) -> str:
    """The TF >= 1.2 name of an RNN variable saved under an older name; other names are returned as is.

    >>> modern_name("RNN/MultiRNNCell/Cell0/BasicLSTMCell/Linear/Matrix")
    'rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel'
    >>> modern_name("rnn/gru_cell/gates/biases")
    'rnn/gru_cell/gates/bias'
    """
    segments = name.split("/")
    out: list[str] = []
    i = 0
    while i < len(segments):
        seg = segments[i]
        nxt = segments[i + 1] if i + 1 < len(segments) else None
        prev = out[-1] if out else None
        if seg == "Linear" and nxt in ("Matrix", "Bias") and _in_cell(out):
            out.append("kernel" if nxt == "Matrix" else "bias")
            i += 2
            continue
        if seg == "RNN":
            out.append("rnn")
        elif seg == "BiRNN":
            out.append("bidirectional_rnn")
        elif seg in ("FW", "BW") and prev == "bidirectional_rnn":
            out.append(seg.lower())
        elif seg == "MultiRNNCell":
            out.append("multi_rnn_cell")
        elif prev == "multi_rnn_cell" and _OLD_MULTI_CELL.match(seg):
            out.append(f"cell_{_OLD_MULTI_CELL.match(seg).group(1)}")  # type: ignore[union-attr]
        elif seg in _CELL_SCOPES:
            out.append(_CELL_SCOPES[seg])
        elif seg in _SUB_SCOPES and prev == "gru_cell":
            out.append(_SUB_SCOPES[seg])
        elif seg in _OLD_LSTM_PARAMS and prev == "lstm_cell" and nxt is None:
            out.extend(_OLD_LSTM_PARAMS[seg])
        elif seg in _LEAVES and nxt is None and _in_cell(out):
            out.append(_LEAVES[seg])
        else:
            out.append(seg)
        i += 1
    return "/".join(out)
