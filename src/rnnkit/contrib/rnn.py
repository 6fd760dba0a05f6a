"""``rk.contrib.rnn``: the names of TF 1.15's ``tf.contrib.rnn`` that rnnkit provides (re-exports only).

The contrib cells (``NASCell``, ``UGRNNCell``, ...) come from ``rnnkit.cells.contrib``; a cell added there later
is a name here too (``__getattr__``). What is not provided, and what to use instead: docs/tf1_migration.md.
"""

from typing import Any

from ..cells import (
    BasicLSTMCell,
    BasicRNNCell,
    CudnnCompatibleGRUCell,
    CudnnCompatibleLSTMCell,
    DeviceWrapper,
    DropoutWrapper,
    GRUBlockCell,
    GRUBlockCellV2,
    GRUCell,
    InputProjectionWrapper,
    LayerNormBasicLSTMCell,
    LSTMBlockCell,
    LSTMCell,
    LSTMStateTuple,
    MultiRNNCell,
    OutputProjectionWrapper,
    ResidualWrapper,
    RNNCell,
)
from ..cells import contrib as _contrib
from ..cells.contrib import *  # noqa: F403  (named once, in cells.contrib.__all__)
from ..layers import LSTMBlockFusedCell
from ..unroll import (
    stack_bidirectional_dynamic_rnn,
    stack_bidirectional_rnn,
    static_bidirectional_rnn,
    static_rnn,
)

__all__ = [
    "RNNCell",
    "BasicRNNCell",
    "BasicLSTMCell",
    "GRUCell",
    "LSTMCell",
    "LSTMStateTuple",
    "DropoutWrapper",
    "MultiRNNCell",
    "DeviceWrapper",
    "ResidualWrapper",
    "InputProjectionWrapper",
    "OutputProjectionWrapper",
    "LayerNormBasicLSTMCell",
    "LSTMBlockCell",
    "GRUBlockCell",
    "GRUBlockCellV2",
    "LSTMBlockFusedCell",
    "CudnnCompatibleLSTMCell",
    "CudnnCompatibleGRUCell",
    "static_rnn",
    "static_bidirectional_rnn",
    "stack_bidirectional_dynamic_rnn",
    "stack_bidirectional_rnn",
    *_contrib.__all__,
]


def __getattr__(name: str) -> Any:
    """The contrib cells of ``rnnkit.cells.contrib`` (imported on first use, so this facade needs no edit when
    a cell is added there)."""
    import importlib

    try:
        contrib = importlib.import_module("rnnkit.cells.contrib")
    except ModuleNotFoundError:
        contrib = None
    if contrib is not None and not name.startswith("_") and name in getattr(contrib, "__all__", ()):
        return getattr(contrib, name)
    raise AttributeError(
        f"rnnkit.contrib.rnn has no {name!r}; see docs/tf1_migration.md for what each tf.contrib.rnn name is "
        "in rnnkit (or what to use instead)"
    )
