"""TF1 checkpoints in and out, without TensorFlow (TensorBundle V2: ``PREFIX.index`` + data shards)::

    values = rk.tf_checkpoint.read("run/model.ckpt-1000")      # {name: np.ndarray}
    rk.tf_checkpoint.list_variables("run/")                     # [(name, shape, dtype)]
    rk.tf_checkpoint.write("out/model.ckpt", values)            # TF reads it back

Whole RNNs from a checkpoint alone (cell types and sizes read from the variables' names and shapes)::

    cell = rk.tf_checkpoint.build_cell("ptb/model.ckpt", "Model/RNN", forget_bias=0.0)
    cell_fw, cell_bw = rk.tf_checkpoint.build_bidirectional("bi/model.ckpt")

Reading checks every CRC-32C and raises :class:`CheckpointError` (naming the file) for anything it
cannot trust or does not support.
"""

from . import recognise_contrib  # noqa: F401  (registers the contrib cells' recognisers)
from .build import (
    build_bidirectional,
    build_cell,
    build_stack_bidirectional,
    describe_rnns,
    infer_cell,
    rnn_scopes,
)
from .errors import CheckpointError
from .reader import CheckpointReader, list_variables, read
from .recognise import CellSpec, recognisers, register_recogniser
from .writer import write

__all__ = [
    "CheckpointError",
    "CheckpointReader",
    "list_variables",
    "read",
    "write",
    "build_cell",
    "build_bidirectional",
    "build_stack_bidirectional",
    "infer_cell",
    "describe_rnns",
    "rnn_scopes",
    "CellSpec",
    "register_recogniser",
    "recognisers",
]
