"""TF 1.15's contrib ``OutputProjectionWrapper`` / ``InputProjectionWrapper`` and ``core_rnn_cell._Linear``,
restated on ``tf.compat.v1`` for the fixture generators (TF 2.x dropped contrib). TF itself then creates the
variables: ``kernel``, ``bias`` (zeros) in the cell's scope, as 1.15 named them. Shared by
``tools/make_tf_fixtures_surface.py`` and ``tools/legacy_seq2seq_tf.py``; needs the TF oracle.
"""

from __future__ import annotations

from typing import Any

import tensorflow.compat.v1 as tf


def linear(args: list, output_size: int) -> Any:
    """core_rnn_cell._Linear with a bias: ``concat(args) @ kernel + bias`` in the current variable scope."""
    x = tf.concat(args, 1) if len(args) > 1 else args[0]
    kernel = tf.get_variable("kernel", [x.shape[-1], output_size], dtype=x.dtype)
    bias = tf.get_variable("bias", [output_size], dtype=x.dtype, initializer=tf.zeros_initializer())
    return tf.nn.bias_add(tf.matmul(x, kernel), bias)


class OutputProjectionWrapper(tf.nn.rnn_cell.RNNCell):
    def __init__(self, cell: Any, output_size: int, activation: Any = None) -> None:
        super().__init__()
        self._cell, self._size, self._act = cell, output_size, activation

    @property
    def state_size(self) -> Any:
        return self._cell.state_size

    @property
    def output_size(self) -> Any:
        return self._size

    def zero_state(self, batch_size: int, dtype: Any) -> Any:
        return self._cell.zero_state(batch_size, dtype)

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        output, new_state = self._cell(inputs, state)
        projected = linear([output], self._size)
        return (self._act(projected) if self._act else projected), new_state


class InputProjectionWrapper(OutputProjectionWrapper):
    def __init__(self, cell: Any, num_proj: int, activation: Any = None) -> None:
        super().__init__(cell, num_proj, activation)

    @property
    def output_size(self) -> Any:
        return self._cell.output_size

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        projected = linear([inputs], self._size)
        return self._cell(self._act(projected) if self._act else projected, state)
