"""Sequence kernels: a cell's recurrence over a whole unroll as ONE autograd node with a hand-written backward.

Each kernel takes the input projection of every step (computed by the caller in one matmul, differentiable by
autograd) and the recurrent weights, runs the recurrence in its forward while storing the factors its backward
needs, and in its backward runs the reverse recurrence once and computes each weight gradient in large matmuls
over many rows (all ``T * B`` at once, or for the GRU and LSTM loops ~128 rows at a time, while they are in
cache). TF's ``sequence_length`` rule is folded into the arithmetic (``_mask.py``).

The GRU, peephole-LSTM, layer-normalised LSTM and contrib (Indy, SRU, UGRNN, NAS, GLSTM, Intersection, CIFG-LSTM, Phased) kernels run their loops natively (``native.py``: C compiled on first use, products
in torch's own BLAS); the layer-normalised LSTMs' kernel also has a torch-op loop for every other device. The
convolutional LSTMs' kernel runs torch's convolutions with each step's pointwise work native on the CPU (torch ops
elsewhere). ``dispatch.kernel_for(cell)`` says whether a kernel computes a cell exactly (layer 2, beside ``rnnkit.fused``);
``dynamic_rnn`` runs it in place of its step loop and ``rk.fused.explain`` reports it.
"""

from ..cells.lstm_layout import install_native
from .cifg_lstm import cifg_lstm_sequence
from .conv_lstm import conv_lstm_sequence
from .dispatch import kernel_for
from .glstm import glstm_sequence
from .gru import gru_sequence
from .indy import indrnn_sequence, indy_gru_sequence, indy_lstm_sequence
from .intersection import intersection_sequence
from .layer_norm_lstm import layer_norm_lstm_sequence
from .lstm_layout import NativeLstmLayout
from .nas import nas_sequence
from .peephole_lstm import peephole_lstm_sequence
from .phased import phased_lstm_sequence
from .sru_ugrnn import sru_sequence, ugrnn_sequence

install_native(NativeLstmLayout())  # NOTE [native re-layout]: the fused LSTM's weight shuffles in C

__all__ = [
    "kernel_for",
    "cifg_lstm_sequence",
    "conv_lstm_sequence",
    "glstm_sequence",
    "gru_sequence",
    "indrnn_sequence",
    "indy_gru_sequence",
    "indy_lstm_sequence",
    "intersection_sequence",
    "layer_norm_lstm_sequence",
    "nas_sequence",
    "peephole_lstm_sequence",
    "phased_lstm_sequence",
    "sru_sequence",
    "ugrnn_sequence",
]
