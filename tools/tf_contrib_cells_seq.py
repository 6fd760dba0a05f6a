"""TF 1.15's contrib cells whose inputs are not one ``[B, D]`` tensor, restated in TF ops on TF's own ``RNNCell``
(see ``tools/tf_contrib_cells.py``): ``PhasedLSTMCell`` (inputs ``(time, x)``) and the convolutional LSTMs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tf_contrib_cells import CELLS, LSTMStateTuple, _Cell, _linear, _var, _zeros, tf  # noqa: E402


class PhasedLSTMCell(_Cell):
    def __init__(
        self,
        num_units: int,
        use_peepholes: bool = False,
        leak: float = 0.001,
        ratio_on: float = 0.1,
    ) -> None:
        super().__init__(LSTMStateTuple(num_units, num_units), num_units)
        self._n, self._peep, self._leak, self._ratio = num_units, use_peepholes, leak, ratio_on

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, (time, x), (c_prev, h_prev) = self._n, inputs, state
        with tf.variable_scope("mask_gates"):
            gates = tf.sigmoid(_linear([x, h_prev] + ([c_prev] if self._peep else []), 2 * n))
            in_gate, forget_gate = tf.split(gates, 2, axis=1)
        with tf.variable_scope("new_input"):
            new_input = tf.tanh(_linear([x, h_prev], n))
        new_c = c_prev * forget_gate + in_gate * new_input
        with tf.variable_scope("output_gate"):
            out_gate = tf.sigmoid(_linear([x, h_prev] + ([new_c] if self._peep else []), n))
        new_h = tf.tanh(new_c) * out_gate
        # 1.15 creates these with get_variable's default dtype (float32); their initial values are overwritten.
        period = tf.get_variable("period", [n])
        phase = tf.get_variable("phase", [n])
        ratio_on = tf.get_variable(
            "ratio_on", [n], initializer=tf.constant_initializer(self._ratio)
        )
        shifted = time - tf.cast(phase, time.dtype)
        period_t = tf.cast(period, time.dtype)
        cycle = tf.stop_gradient(tf.math.floormod(shifted, period_t) - shifted) + shifted
        ratio = tf.cast(cycle / period_t, tf.float32)
        k_up = 2 * ratio / ratio_on
        k = tf.where(ratio < ratio_on, 2 - k_up, self._leak * ratio)
        k = tf.where(ratio < 0.5 * ratio_on, k_up, k)
        new_c = k * new_c + (1 - k) * c_prev
        new_h = k * new_h + (1 - k) * h_prev
        return new_h, LSTMStateTuple(new_c, new_h)


class _ConvLSTMCell(_Cell):
    """1.15's ConvLSTMCell (layer name ``conv_lstm_cell``); ConvNDLSTMCell passes ``name="conv_{n}d_lstm_cell"``."""

    def __init__(
        self, conv_ndims: int, input_shape: list, output_channels: int, kernel_shape: list,
        use_bias: bool = True, forget_bias: float = 1.0, name: str = "conv_lstm_cell",
    ) -> None:  # fmt: skip
        size = tf.TensorShape(list(input_shape[:-1]) + [output_channels])
        super().__init__(LSTMStateTuple(size, size), size, name=name)
        self._n, self._k, self._kernel = conv_ndims, output_channels, list(kernel_shape)
        self._bias, self._fb = use_bias, forget_bias

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        cell, hidden = state
        args = tf.concat([inputs, hidden], axis=self._n + 1)
        kernel = _var("kernel", self._kernel + [int(args.shape[-1]), 4 * self._k], inputs.dtype)
        conv = {1: tf.nn.conv1d, 2: tf.nn.conv2d, 3: tf.nn.conv3d}[self._n]
        res = conv(args, kernel, 1 if self._n == 1 else [1] * (self._n + 2), padding="SAME")
        if self._bias:
            res = res + _var("biases", [4 * self._k], inputs.dtype, _zeros())
        i, j, f, o = tf.split(res, 4, axis=self._n + 1)
        new_cell = tf.sigmoid(f + self._fb) * cell + tf.sigmoid(i) * tf.tanh(j)
        output = tf.tanh(new_cell) * tf.sigmoid(o)
        return output, LSTMStateTuple(new_cell, output)


def _conv_cell(ndims: int) -> Any:
    return lambda **kwargs: _ConvLSTMCell(ndims, name=f"conv_{ndims}d_lstm_cell", **kwargs)


CELLS["PhasedLSTMCell"] = PhasedLSTMCell
CELLS.update({f"Conv{n}DLSTMCell": _conv_cell(n) for n in (1, 2, 3)})
CELLS["ConvLSTMCell"] = _ConvLSTMCell
