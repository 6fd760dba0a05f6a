"""``rk.contrib.cudnn_rnn``: the layers and compatible cells of TF 1.15's ``tf.contrib.cudnn_rnn``.

Not provided: the ``Cudnn*Saveable`` and ``CudnnParamsFormatConverter*`` classes — the layers' checkpoint names
(``named_tf_variables``) and ``to_torch_module`` / ``load_torch_module`` do their work (docs/tf1_migration.md).
"""

from ..cells import CudnnCompatibleGRUCell, CudnnCompatibleLSTMCell
from ..layers import CudnnGRU, CudnnLSTM, CudnnRNNRelu, CudnnRNNTanh

__all__ = [
    "CudnnCompatibleGRUCell",
    "CudnnCompatibleLSTMCell",
    "CudnnGRU",
    "CudnnLSTM",
    "CudnnRNNRelu",
    "CudnnRNNTanh",
]
