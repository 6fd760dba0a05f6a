"""``CudnnLSTM``, ``CudnnGRU``, ``CudnnRNNTanh``, ``CudnnRNNRelu`` (``tf.contrib.cudnn_rnn``, TF 1.15).

Multi-layer, optionally bidirectional RNN layers called on a whole sequence; they run on torch's fused kernels
(cuDNN on CUDA, oneDNN/ATen on the CPU). The parameters live in the layout TF's checkpoints of these layers use
(``CudnnOpaqueParamsSaveable``'s canonical names, see ``cudnn_params``), one cuDNN-compatible cell per layer and
direction, so a TF CudnnLSTM checkpoint loads by name, and the same values load into
``MultiRNNCell([CudnnCompatibleLSTMCell(H), ...])`` under ``dynamic_rnn`` (or the bidirectional stack).

Not provided: TF's ``opaque_kernel`` buffer (its layout belongs to a cuDNN version; TF itself saved the canonical
names next to it for portability, and those are what rnnkit reads and writes), ``input_mode`` other than
``"linear_input"``, and bit-equal dropout masks (torch draws them).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .._checks import check_positive_int, describe, to_torch_device, to_torch_dtype
from ..cells.base import LayerCell
from ..cells.basic_rnn import BasicRNNCell
from ..cells.cudnn_compatible import CudnnCompatibleGRUCell, CudnnCompatibleLSTMCell
from ..cells.lazy import already_built
from ..unroll._arguments import check_sequence_length
from ._kernel import KernelSpec, run_kernel
from .cudnn_params import from_cudnn, to_cudnn

__all__ = ["CudnnLSTM", "CudnnGRU", "CudnnRNNTanh", "CudnnRNNRelu"]


_TORCH_MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN, "rnn_relu": nn.RNN}


class _CudnnRNN(nn.Module):
    """The shared layer; subclasses set ``rnn_mode``. See ``CudnnLSTM`` for the arguments."""

    #: TF's layer opened its own variable scope: ``rk.tf_variables(layer)`` needs no ``scope`` (see tf_names).
    tf_scope_is_own = True

    rnn_mode = "lstm"
    _default_name = "cudnn_rnn"
    _kernel_init: Any
    _bias_init: Any

    def __init__(
        self,
        num_layers: int,
        num_units: int,
        input_mode: str = "linear_input",
        direction: str = "unidirectional",
        dropout: float = 0.0,
        seed: int | None = None,
        dtype: Any = torch.float32,
        kernel_initializer: Any = None,
        bias_initializer: Any = None,
        name: str | None = None,
        *,
        input_size: int | None = None,
        device: Any = None,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        self.num_layers = check_positive_int(where, "num_layers", num_layers)
        self.num_units = check_positive_int(where, "num_units", num_units)
        if input_mode != "linear_input":
            raise ValueError(
                f"{where}: expected input_mode 'linear_input' (the only mode provided), got {input_mode!r}"
            )
        if direction not in ("unidirectional", "bidirectional"):
            raise ValueError(
                f"{where}: expected direction 'unidirectional' or 'bidirectional', got {direction!r}"
            )
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, (int, float))
            or not 0.0 <= dropout <= 1.0
        ):
            raise ValueError(f"{where}: expected dropout to be a number in [0, 1], got {dropout!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{where}: expected name to be a non-empty str, got {name!r}")
        self.input_mode, self.direction, self.dropout = input_mode, direction, float(dropout)
        self.seed = seed  # accepted; torch draws the dropout masks (seed torch for reproducibility)
        self.tf_name = name or self._default_name
        self._param_dtype = to_torch_dtype(where, dtype) or torch.float32
        self._param_device = to_torch_device(where, device)
        self._kernel_init, self._bias_init = kernel_initializer, bias_initializer
        self.cells = nn.ModuleList()
        self.input_size: int | None = None
        if input_size is not None:
            self.build(input_size)

    @property
    def num_dirs(self) -> int:
        return 1 if self.direction == "unidirectional" else 2

    def _new_cell(self, input_size: int) -> LayerCell:
        kw: dict[str, Any] = {
            "input_size": input_size,
            "dtype": self._param_dtype,
            "device": self._param_device,
        }
        if self.rnn_mode == "lstm":
            return CudnnCompatibleLSTMCell(self.num_units, **kw)
        if self.rnn_mode == "gru":
            return CudnnCompatibleGRUCell(self.num_units, **kw)
        return BasicRNNCell(self.num_units, activation=self.rnn_mode[4:], **kw)

    def build(self, input_size: int) -> None:
        """Create the parameters for inputs of depth ``input_size`` (TF's initialisation, see ``_init_like_tf``)."""
        if already_built(self, input_size):
            return
        for layer in range(self.num_layers):
            depth = input_size if layer == 0 else self.num_units * self.num_dirs
            for _ in range(self.num_dirs):
                self.cells.append(self._new_cell(depth))
        self.input_size = input_size
        self._init_like_tf()

    def _init_like_tf(self) -> None:
        """TF initialised each cuDNN weight matrix on its own (default glorot-uniform over ``[H, D_in]`` /
        ``[H, H]``) and each cuDNN bias (default zeros); the saved biases are sums of two."""
        with torch.no_grad():
            for cell in self._cells():
                weights = to_cudnn(self.rnn_mode, self._params(cell), cell.input_size)
                h = self.num_units
                for w in weights[:2]:
                    for block in w.split(h, 0):
                        if self._kernel_init is None:
                            limit = math.sqrt(6.0 / (block.shape[0] + block.shape[1]))
                            block.uniform_(-limit, limit)
                        else:
                            self._kernel_init(block)
                for b in weights[2:]:
                    b.zero_() if self._bias_init is None else self._bias_init(b)
                for name, value in from_cudnn(self.rnn_mode, weights).items():
                    self._params(cell)[name].copy_(value)

    def _cells(self) -> list[Any]:
        """The cells, one per layer and direction (fw then bw), as ``LayerCell``s."""
        return list(self.cells)

    @staticmethod
    def _params(cell: Any) -> dict[str, torch.Tensor]:
        return {rel: getattr(cell, attr) for rel, attr in cell._tf_params}

    def _cell_scope(self, index: int) -> str:
        layer, bw = divmod(index, self.num_dirs)
        if self.direction == "unidirectional":
            return f"rnn/multi_rnn_cell/cell_{layer}/"
        return f"stack_bidirectional_rnn/cell_{layer}/bidirectional_rnn/{'bw' if bw else 'fw'}/"

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        """The canonical names of TF's checkpoints of this layer, layer by layer (fw then bw), e.g.
        ``cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/kernel``. Not built: nothing."""
        for index, cell in enumerate(self._cells()):
            yield from cell.named_tf_variables(f"{prefix}{self.tf_name}/{self._cell_scope(index)}")

    def tf_redundant_variables(self, scope: str | None = None) -> list[str]:
        """TF's ``opaque_kernel`` buffer, saved next to the canonical weights: its layout belongs to one cuDNN
        version, and the canonical weights hold the same values, so loaders skip it."""
        prefix = "" if not scope else scope.strip("/") + "/"
        return [f"{prefix}{self.tf_name}/opaque_kernel"]

    def torch_weights(self) -> list[torch.Tensor]:
        """The kernel's flat weight list (per layer, fw then bw: ``w_ih, w_hh, b_ih, b_hh``), built inside
        autograd from the canonical parameters (so gradients reach them)."""
        return [
            w
            for cell in self._cells()
            for w in to_cudnn(self.rnn_mode, self._params(cell), cell.input_size)
        ]

    def to_torch_module(self) -> nn.Module:
        """A ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` holding this layer's values (biases split as TF restored them)."""
        self._require_built("to_torch_module")
        kind = _TORCH_MODULES[self.rnn_mode]
        extra = {"nonlinearity": self.rnn_mode[4:]} if kind is nn.RNN else {}
        param = next(self.parameters())
        module = kind(self.input_size, self.num_units, self.num_layers, dropout=self.dropout,
                      bidirectional=self.num_dirs == 2, dtype=param.dtype, device=param.device, **extra)  # fmt: skip
        with torch.no_grad():
            for target, value in zip(module._flat_weights, self.torch_weights()):
                target.copy_(value)
        return module

    def load_torch_module(self, module: Any) -> None:
        """Copy a ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` of the same configuration into this layer (biases summed,
        as TF's saveable wrote them)."""
        where = f"{type(self).__name__}.load_torch_module"
        self._require_built(where)
        kind = _TORCH_MODULES[self.rnn_mode]
        m: Any = module
        wanted = (self.num_layers, self.num_units, self.input_size, self.num_dirs == 2, 0, True)
        same = type(module) is kind
        if same:  # (a separate statement: an `and` would let mypy narrow m to `object`)
            same = (
                m.num_layers,
                m.hidden_size,
                m.input_size,
                m.bidirectional,
                m.proj_size,
                m.bias,
            ) == wanted
        if not same:
            raise ValueError(
                f"{where}: expected a torch.nn.{kind.__name__} of this layer's configuration, got {module!r}"
            )
        flat = list(module._flat_weights)
        with torch.no_grad():
            for index, cell in enumerate(self._cells()):
                values = from_cudnn(self.rnn_mode, flat[4 * index : 4 * index + 4])
                for name, value in values.items():
                    self._params(cell)[name].copy_(value)

    def _require_built(self, where: str) -> None:
        if self.input_size is None:
            raise ValueError(f"{where}: expected a built layer; pass input_size= or call it once")

    def state_shape(self, batch_size: int) -> tuple[list[int], ...]:
        """TF's state shapes: ``[num_layers * num_dirs, batch_size, num_units]``, two of them for the LSTM."""
        shape = [self.num_layers * self.num_dirs, batch_size, self.num_units]
        return (shape, list(shape)) if self.rnn_mode == "lstm" else (shape,)

    def explain(self) -> str:
        """The kernel every call runs on (always a fused one)."""
        bi = ", bidirectional=True" if self.num_dirs == 2 else ""
        return (f"fused: torch._VF.{self.rnn_mode}(num_layers={self.num_layers}, "
                f"hidden_size={self.num_units}{bi})")  # fmt: skip

    def forward(
        self,
        inputs: torch.Tensor,
        initial_state: tuple[torch.Tensor, ...] | None = None,
        sequence_lengths: Any = None,
        time_major: bool = True,
        training: bool | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Run the layer: ``inputs [T, B, D]`` (``[B, T, D]`` with ``time_major=False``) →
        ``(outputs [T, B, dirs*H], (h,) or (h, c))``, each state ``[layers*dirs, B, H]`` (``[B, layers*dirs, H]``
        batch-major). ``initial_state``: a tuple like the returned one (default zeros). ``sequence_lengths``:
        ``[B]``; outputs past a row's length are zero, the state is taken at its last step and the backward
        direction reads each row reversed over its own length. ``training``: dropout between layers
        (default: the module's ``training`` flag, True unless ``eval()``, as TF's default ``training=True``)."""
        where = type(self).__name__
        x = _check_inputs(where, inputs)
        if not time_major:
            x = x.transpose(0, 1)
        if self.input_size is None:
            self.build(x.shape[-1])
        self._check_like_params(where, x)
        time, batch = x.shape[0], x.shape[1]
        hx = self._initial_state(where, initial_state, batch, x, time_major)
        lengths = check_sequence_length(
            where, sequence_lengths, batch, time, x.device, "sequence_lengths"
        )
        train = self.training if training is None else bool(training)
        spec = KernelSpec(self.rnn_mode, self.num_layers, self.dropout, self.num_dirs == 2)
        out, final = run_kernel(spec, self.torch_weights(), x, hx, lengths, train)
        if not time_major:
            out, final = out.transpose(0, 1), tuple(s.transpose(0, 1) for s in final)
        return out, final

    def _check_like_params(self, where: str, x: torch.Tensor) -> None:
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{where}: built for input_size={self.input_size}, got inputs.shape[-1]={x.shape[-1]}"
            )
        param = next(self.parameters())
        if x.dtype != param.dtype or x.device != param.device:
            raise TypeError(f"{where}: expected {param.dtype} inputs on {param.device} (the layer's parameters), "
                            f"got {x.dtype} on {x.device}")  # fmt: skip

    def _initial_state(
        self, where: str, state: Any, batch: int, x: torch.Tensor, time_major: bool
    ) -> list:
        count = 2 if self.rnn_mode == "lstm" else 1
        shape = (self.num_layers * self.num_dirs, batch, self.num_units)
        if state is None:
            return [x.new_zeros(shape) for _ in range(count)]
        if not isinstance(state, tuple) or len(state) != count:
            raise TypeError(f"{where}: expected initial_state to be a tuple of {count} tensor(s), got "
                            f"{describe(state)}")  # fmt: skip
        result = []
        for s in state:
            if not isinstance(s, torch.Tensor):
                raise TypeError(f"{where}: expected initial_state tensors, got {describe(s)}")
            s = s if time_major else s.transpose(0, 1)
            if tuple(s.shape) != shape:
                raise ValueError(f"{where}: expected initial_state tensors of shape {list(shape)} (time-major "
                                 f"layout), got {list(s.shape)}")  # fmt: skip
            if s.dtype != x.dtype or s.device != x.device:
                raise TypeError(f"{where}: expected initial_state tensors of the inputs' dtype and device "
                                f"({x.dtype} on {x.device}), got {s.dtype} on {s.device}")  # fmt: skip
            result.append(s)
        return result

    def extra_repr(self) -> str:
        return (f"num_layers={self.num_layers}, num_units={self.num_units}, input_size={self.input_size}, "
                f"direction={self.direction!r}, dropout={self.dropout}")  # fmt: skip


def _check_inputs(where: str, inputs: Any) -> torch.Tensor:
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"{where}: expected inputs to be a rank-3 tensor, got {describe(inputs)}")
    if inputs.dim() != 3:
        raise ValueError(
            f"{where}: expected inputs of rank 3 [T, B, D], got shape {tuple(inputs.shape)}"
        )
    if not inputs.is_floating_point():
        raise TypeError(f"{where}: expected floating-point inputs, got {inputs.dtype}")
    return inputs


_DOC = """

    Args:
        num_layers: stacked layers. num_units: ``H``.
        input_mode: ``"linear_input"`` only (TF's default).
        direction: ``"unidirectional"`` or ``"bidirectional"`` (outputs ``concat([fw, bw], -1)``).
        dropout: between layers, in training only (never after the last layer).
        seed: accepted; the masks come from torch's generator.
        dtype: of the parameters (default float32). kernel_initializer / bias_initializer: in-place callables
            applied to each cuDNN weight matrix / bias (defaults glorot-uniform / zeros, as TF).
        name: the TF scope of the checkpoint names (default the snake-cased class name).

    Keyword Args:
        input_size: ``D``, to build now (else the first call builds). device: of the parameters.
"""


class CudnnLSTM(_CudnnRNN):
    """``tf.contrib.cudnn_rnn.CudnnLSTM``: cuDNN's LSTM (no forget bias). Checkpoint names
    ``cudnn_lstm/rnn/multi_rnn_cell/cell_{i}/cudnn_compatible_lstm_cell/{kernel,bias}``; state ``(h, c)``."""

    __doc__ = (__doc__ or "") + _DOC
    rnn_mode = "lstm"
    _default_name = "cudnn_lstm"


class CudnnGRU(_CudnnRNN):
    """``tf.contrib.cudnn_rnn.CudnnGRU``: cuDNN's GRU (reset gate after the recurrent matmul). Names
    ``cudnn_gru/rnn/multi_rnn_cell/cell_{i}/cudnn_compatible_gru_cell/...``; state ``(h,)``."""

    __doc__ = (__doc__ or "") + _DOC
    rnn_mode = "gru"
    _default_name = "cudnn_gru"


class CudnnRNNTanh(_CudnnRNN):
    """``tf.contrib.cudnn_rnn.CudnnRNNTanh``: ``h' = tanh(x W + h R + b)``. Names
    ``cudnn_rnn_tanh/rnn/multi_rnn_cell/cell_{i}/basic_rnn_cell/{kernel,bias}``; state ``(h,)``."""

    __doc__ = (__doc__ or "") + _DOC
    rnn_mode = "rnn_tanh"
    _default_name = "cudnn_rnn_tanh"


class CudnnRNNRelu(_CudnnRNN):
    """``tf.contrib.cudnn_rnn.CudnnRNNRelu``: ``h' = relu(x W + h R + b)``; names as ``CudnnRNNTanh`` under
    ``cudnn_rnn_relu``; state ``(h,)``."""

    __doc__ = (__doc__ or "") + _DOC
    rnn_mode = "rnn_relu"
    _default_name = "cudnn_rnn_relu"
