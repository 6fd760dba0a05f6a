"""contrib's convolutional LSTMs (TF 1.15 ``tf.contrib.rnn``; Shi et al. 2015): ``ConvLSTMCell`` (any of 1-3
spatial dimensions) and its fixed-rank forms ``Conv1DLSTMCell``, ``Conv2DLSTMCell``, ``Conv3DLSTMCell``,
channels-last like TF."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ..._checks import (
    check_float_tensor,
    check_positive_int,
    describe,
    to_torch_device,
    to_torch_dtype,
)
from ..base import LayerCell
from ..state import LSTMStateTuple
from ..tf_params import tf_params
from ._common import check_bool, check_float

__all__ = ["SpatialShape", "ConvLSTMCell", "Conv1DLSTMCell", "Conv2DLSTMCell", "Conv3DLSTMCell"]


class SpatialShape:
    """A state or output size that is a whole shape (without the batch), as TF's ``TensorShape`` was: a leaf of
    ``state_size`` / ``output_size`` (not a tuple, so nested structures keep it whole)."""

    __slots__ = ("dims",)

    def __init__(self, dims: Sequence[int]) -> None:
        self.dims = tuple(int(d) for d in dims)

    def as_list(self) -> list[int]:
        return list(self.dims)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpatialShape):
            return self.dims == other.dims
        return isinstance(other, (tuple, list)) and tuple(other) == self.dims

    def __hash__(self) -> int:
        return hash(self.dims)

    def __repr__(self) -> str:
        return f"SpatialShape({list(self.dims)})"


def _conv_glorot_(fan_in: int, fan_out: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """TF's glorot-uniform for a conv kernel ``[*k, in, out]``: fans include the receptive field."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return lambda t: t.uniform_(-limit, limit)


class _ConvLSTMCell(LayerCell):
    r"""A convolutional LSTM step on channels-last inputs ``[B, *S, C]``::

        i, j, f, o = split(conv_SAME([x, h], kernel) + biases, 4, axis=-1)     # stride 1, SAME padding
        c' = sigmoid(f + forget_bias) * c + sigmoid(i) * tanh(j)
        h' = tanh(c') * sigmoid(o)                                            # output h'; state (c', h')

    Args:
        input_shape: the inputs' shape without the batch, ``[*S, C]`` (``len(S)`` = the cell's dimension).
        output_channels: ``K``, the state's and output's channels.
        kernel_shape: the convolution window, one int per spatial dimension.
        use_bias: add ``biases [4K]`` (zeros).
        skip_connection: TF's option to concatenate the inputs to the output; refused here, because TF 1.15 also
            put that wider output into the state, which its own next step could not take.
        forget_bias: added to ``f`` at call time, default 1.0.
        initializers: unused (as in TF).
        name: the TF scope (default ``conv_{n}d_lstm_cell``; ``conv_lstm_cell`` for ``ConvLSTMCell``).

    Keyword Args:
        dtype, device, reuse: as for every cell (the parameters are built at construction: ``input_shape`` gives
            the depth).

    Parameters (TF names): ``kernel [*kernel_shape, C+K, 4K]`` (glorot-uniform over the receptive field),
    ``biases [4K]``. ``state_size`` is ``LSTMStateTuple(SpatialShape([*S, K]), SpatialShape([*S, K]))``.
    """

    _NDIMS = 0
    _tf_params = tf_params("kernel biases")
    _tf_param_options = {"biases": "use_bias"}
    kernel: torch.Tensor
    biases: torch.Tensor | None

    def __init__(
        self,
        input_shape: Sequence[int],
        output_channels: int,
        kernel_shape: Sequence[int],
        use_bias: bool = True,
        skip_connection: bool = False,
        forget_bias: float = 1.0,
        initializers: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        where, n = type(self).__name__, self._NDIMS
        shape = self._check_shape(where, "input_shape", input_shape, n + 1)
        self.kernel_shape = self._check_shape(where, "kernel_shape", kernel_shape, n)
        if check_bool(where, "skip_connection", skip_connection):
            raise ValueError(
                f"{where}: expected skip_connection=False, got True (TF 1.15 put the wider output into the state, "
                "which its next step could not take)"
            )
        self.input_shape = shape
        channels = check_positive_int(where, "output_channels", output_channels)
        super().__init__(channels, input_size=shape[-1], name=name, **kwargs)
        self.output_channels = self.num_units
        self.use_bias = check_bool(where, "use_bias", use_bias)
        self.forget_bias = check_float(where, "forget_bias", forget_bias)
        self._finish_init()

    @staticmethod
    def _check_shape(where: str, name: str, value: Any, rank: int) -> tuple[int, ...]:
        if not isinstance(value, (tuple, list)) or len(value) != rank:
            raise ValueError(
                f"{where}: expected {name} to be a list of {rank} positive ints, got {value!r}"
            )
        return tuple(check_positive_int(where, name, v) for v in value)

    @property
    def state_size(self) -> LSTMStateTuple:
        size = SpatialShape([*self.input_shape[:-1], self.num_units])
        return LSTMStateTuple(size, size)

    @property
    def output_size(self) -> SpatialShape:
        return SpatialShape([*self.input_shape[:-1], self.num_units])

    def _create_parameters(self, input_size: int, dtype: Any = None, device: Any = None) -> None:
        k, field = self.num_units, math.prod(self.kernel_shape)
        rows = input_size + k
        init = _conv_glorot_(field * rows, field * 4 * k)
        self.kernel = self._new_parameter(
            *self.kernel_shape, rows, 4 * k, init=init, dtype=dtype, device=device
        )
        if self.use_bias:
            self.biases = self._new_parameter(
                4 * k, init=torch.nn.init.zeros_, dtype=dtype, device=device
            )

    def zero_state(
        self, batch_size: int, dtype: Any = None, device: torch.device | str | None = None
    ) -> Any:
        where = f"{type(self).__name__}.zero_state"
        check_positive_int(where, "batch_size", batch_size)
        dtype = to_torch_dtype(where, dtype) or self.kernel.dtype
        device = to_torch_device(where, device) or self.kernel.device
        shape = (batch_size, *self.state_size.c.dims)
        return LSTMStateTuple(
            torch.zeros(shape, dtype=dtype, device=device),
            torch.zeros(shape, dtype=dtype, device=device),
        )

    def _conv(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-last SAME convolution, stride 1 (TF pads the extra row of an even window at the end)."""
        pads: list[int] = []
        for size in reversed(self.kernel_shape):
            pads += [(size - 1) // 2, size - 1 - (size - 1) // 2]
        x = F.pad(x.movedim(-1, 1), pads)
        n = self._NDIMS
        weight = self.kernel.permute(n + 1, n, *range(n))  # [*k, in, out] -> [out, in, *k]
        conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
        return conv(x, weight, self.biases).movedim(1, -1)

    def _check(self, inputs: Any, state: Any) -> None:
        where = type(self).__name__
        x = check_float_tensor(where, "inputs", inputs)
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"{where}: expected inputs of shape [B, {', '.join(map(str, self.input_shape))}], got "
                f"{tuple(x.shape)}"
            )
        if x.dtype != self.kernel.dtype or x.device != self.kernel.device:
            raise TypeError(
                f"{where}: expected {self.kernel.dtype} inputs on {self.kernel.device} (the parameters'), got "
                f"{x.dtype} on {x.device}"
            )
        want = (x.shape[0], *self.state_size.c.dims)
        if (
            not isinstance(state, tuple)
            or len(state) != 2
            or any(not isinstance(s, torch.Tensor) or tuple(s.shape) != want for s in state)
        ):
            raise ValueError(
                f"{where}: expected a state (c, h) of two {list(want)} tensors, got {describe(state)}"
            )

    def forward(self, inputs: torch.Tensor, state: Any) -> tuple[torch.Tensor, LSTMStateTuple]:
        """One step: ``inputs [B, *S, C]``, ``state (c, h)`` each ``[B, *S, K]`` → ``(h', (c', h'))``."""
        self._check(inputs, state)
        c, h = state
        i, j, f, o = self._conv(torch.cat([inputs, h], -1)).chunk(4, dim=-1)
        new_c = torch.sigmoid(f + self.forget_bias) * c + torch.sigmoid(i) * torch.tanh(j)
        new_h = torch.tanh(new_c) * torch.sigmoid(o)
        return new_h, LSTMStateTuple(new_c, new_h)

    def check_inputs(self, inputs: Any) -> Any:
        """Nothing here: ``forward`` checks ``[B, *S, C]`` inputs (with the state) at every call. The step does not
        split (the convolution reads ``[x, h]`` together), so the unrolls call ``forward`` at every step."""
        return inputs

    def extra_repr(self) -> str:
        return (
            f"input_shape={list(self.input_shape)}, output_channels={self.num_units}, "
            f"kernel_shape={list(self.kernel_shape)}"
        )


class Conv1DLSTMCell(_ConvLSTMCell):
    __doc__ = (_ConvLSTMCell.__doc__ or "").replace("A convolutional", "A 1-D convolutional", 1)
    tf_name = "conv_1d_lstm_cell"
    _NDIMS = 1


class Conv2DLSTMCell(_ConvLSTMCell):
    __doc__ = (_ConvLSTMCell.__doc__ or "").replace("A convolutional", "A 2-D convolutional", 1)
    tf_name = "conv_2d_lstm_cell"
    _NDIMS = 2


class Conv3DLSTMCell(_ConvLSTMCell):
    __doc__ = (_ConvLSTMCell.__doc__ or "").replace("A convolutional", "A 3-D convolutional", 1)
    tf_name = "conv_3d_lstm_cell"
    _NDIMS = 3


class ConvLSTMCell(_ConvLSTMCell):
    __doc__ = (_ConvLSTMCell.__doc__ or "").replace(
        "    Args:\n",
        "    Args:\n        conv_ndims: the number of spatial dimensions, 1, 2 or 3.\n",
        1,
    )
    tf_name = "conv_lstm_cell"

    def __init__(
        self,
        conv_ndims: int,
        input_shape: Sequence[int],
        output_channels: int,
        kernel_shape: Sequence[int],
        use_bias: bool = True,
        skip_connection: bool = False,
        forget_bias: float = 1.0,
        initializers: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if conv_ndims not in (1, 2, 3) or isinstance(conv_ndims, bool):
            raise ValueError(
                f"ConvLSTMCell: expected conv_ndims to be 1, 2 or 3, got {conv_ndims!r}"
            )
        self._NDIMS = conv_ndims  # an instance attribute: read by the checks and the convolution
        super().__init__(
            input_shape, output_channels, kernel_shape, use_bias, skip_connection, forget_bias, initializers,
            name, **kwargs,
        )  # fmt: skip
