"""rnnkit: TensorFlow 1.x's recurrent-network API on PyTorch, with TF's math and variable names.

>>> import torch, rnnkit as rk
>>> cell = rk.BasicLSTMCell(8, input_size=3)
>>> outputs, state = rk.dynamic_rnn(cell, torch.zeros(2, 5, 3))
>>> tuple(outputs.shape), tuple(state.h.shape)
((2, 5, 8), (2, 8))
>>> list(rk.tf_variables(cell))
['rnn/basic_lstm_cell/kernel', 'rnn/basic_lstm_cell/bias']
"""

from . import (
    cells,
    contrib,
    export,
    fused,
    legacy_seq2seq,
    nest,
    nn,
    seq2seq,
    tf_checkpoint,
    unroll,
)
from ._version import __version__
from .building import build
from .cells import *  # noqa: F403  (the cells and wrappers: named once, in cells.__all__)

# mypy reads only a literal __all__, so it would not see the names cells.__all__ takes from these two modules:
# they are imported from them too (the same objects).
from .cells.contrib import *  # noqa: F403  (named once, in cells.contrib.__all__)
from .cells.wrappers import *  # noqa: F403  (named once, in cells.wrappers.__all__)
from .layers import (
    RNN,
    BidirectionalRNN,
    CudnnGRU,
    CudnnLSTM,
    CudnnRNNRelu,
    CudnnRNNTanh,
    LSTMBlockFusedCell,
    TrainableInitialState,
)
from .tf_checkpoint.loading import load_tf_checkpoint, save_tf_checkpoint
from .tf_names import (
    load_tf_variable_dict,
    load_tf_variables,
    tf_variables,
    tf_variables_bidirectional,
    tf_variables_stack_bidirectional,
)
from .tf_naming import AS_IS, TRANSPOSE, Layout, initialize, model_tf_variables, tf_name
from .unroll import *  # noqa: F403  (named once, in unroll.__all__)

__all__ = [
    "__version__",
    "nest",
    "export",
    "fused",
    "seq2seq",
    "legacy_seq2seq",
    "tf_checkpoint",
    "nn",
    "contrib",
    "load_tf_checkpoint",
    "save_tf_checkpoint",
    "tf_variables",
    "load_tf_variables",
    "LSTMBlockFusedCell",
    "CudnnLSTM",
    "CudnnGRU",
    "CudnnRNNTanh",
    "CudnnRNNRelu",
    "tf_variables_bidirectional",
    "tf_variables_stack_bidirectional",
    "load_tf_variable_dict",
    "tf_name",
    "Layout",
    "AS_IS",
    "TRANSPOSE",
    "model_tf_variables",
    "initialize",
    "build",
    "RNN",
    "BidirectionalRNN",
    "TrainableInitialState",
    *cells.__all__,  # with cells.contrib.__all__
    *unroll.__all__,
]
