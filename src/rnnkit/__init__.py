"""rnnkit: TensorFlow 1.x's recurrent-network API on PyTorch, with TF's math and variable names.

>>> import torch, rnnkit as rk
>>> cell = rk.BasicLSTMCell(8, input_size=3)
>>> outputs, state = rk.dynamic_rnn(cell, torch.zeros(2, 5, 3))
>>> tuple(outputs.shape), tuple(state.h.shape)
((2, 5, 8), (2, 8))
>>> list(rk.tf_variables(cell))
['rnn/basic_lstm_cell/kernel', 'rnn/basic_lstm_cell/bias']
"""

from . import export, fused, legacy_seq2seq, nest, seq2seq, tf_checkpoint
from ._version import __version__
from .cells import (
    BasicLSTMCell,
    BasicRNNCell,
    CellWrapper,
    DeviceWrapper,
    DropoutWrapper,
    GRUCell,
    InputProjectionWrapper,
    LayerNormBasicLSTMCell,
    LSTMCell,
    LSTMStateTuple,
    MultiRNNCell,
    OutputProjectionWrapper,
    ResidualWrapper,
    RNNCell,
    begin_sequence,
)
from .layers import RNN, BidirectionalRNN, TrainableInitialState
from .tf_checkpoint.loading import load_tf_checkpoint, save_tf_checkpoint
from .tf_names import (
    load_tf_variable_dict,
    load_tf_variables,
    tf_variables,
    tf_variables_bidirectional,
    tf_variables_stack_bidirectional,
)
from .unroll import (
    bidirectional_dynamic_rnn,
    check_numerics,
    dynamic_rnn,
    raw_rnn,
    reverse_sequence,
    stack_bidirectional_dynamic_rnn,
    stack_bidirectional_rnn,
    static_bidirectional_rnn,
    static_rnn,
)

__all__ = [
    "__version__",
    "nest",
    "export",
    "fused",
    "seq2seq",
    "legacy_seq2seq",
    "tf_checkpoint",
    "load_tf_checkpoint",
    "save_tf_checkpoint",
    "RNNCell",
    "BasicRNNCell",
    "GRUCell",
    "BasicLSTMCell",
    "LSTMCell",
    "MultiRNNCell",
    "LSTMStateTuple",
    "dynamic_rnn",
    "check_numerics",
    "static_rnn",
    "tf_variables",
    "load_tf_variables",
    "LayerNormBasicLSTMCell",
    "CellWrapper",
    "DropoutWrapper",
    "ResidualWrapper",
    "DeviceWrapper",
    "OutputProjectionWrapper",
    "InputProjectionWrapper",
    "begin_sequence",
    "bidirectional_dynamic_rnn",
    "static_bidirectional_rnn",
    "stack_bidirectional_dynamic_rnn",
    "stack_bidirectional_rnn",
    "reverse_sequence",
    "raw_rnn",
    "tf_variables_bidirectional",
    "tf_variables_stack_bidirectional",
    "load_tf_variable_dict",
    "RNN",
    "BidirectionalRNN",
    "TrainableInitialState",
]
