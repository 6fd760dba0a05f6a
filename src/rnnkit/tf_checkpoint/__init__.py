"""TF1 checkpoints in and out, without TensorFlow (TensorBundle V2: ``PREFIX.index`` + data shards)::

    values = rk.tf_checkpoint.read("run/model.ckpt-1000")      # {name: np.ndarray}
    rk.tf_checkpoint.list_variables("run/")                     # [(name, shape, dtype)]
    rk.tf_checkpoint.write("out/model.ckpt", values)            # TF reads it back

Reading checks every CRC-32C and raises :class:`CheckpointError` (naming the file) for anything it
cannot trust or does not support.
"""

from .errors import CheckpointError
from .reader import CheckpointReader, list_variables, read
from .writer import write

__all__ = ["CheckpointError", "CheckpointReader", "list_variables", "read", "write"]
