"""The cell contract (TF1's ``RNNCell``) and the shared machinery of cells that own parameters.

A cell is a ``torch.nn.Module`` that computes one time step::

    output, new_state = cell(inputs, state)      # inputs [B, D]; state nested like cell.state_size

``state_size`` and ``output_size`` are ints or nested structures of ints (``LSTMStateTuple(c=H, h=H)``);
``zero_state(batch_size)`` gives matching zeros. Unrolls (``dynamic_rnn``, ``static_rnn``) accept any such cell.

Parameters are created from the input depth ``D``: at construction when ``input_size=D`` is given, else by the
first call (then run the model once before building an optimiser), or explicitly with ``cell.build(D)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from .. import nest
from .._checks import (
    autocast_enabled,
    check_positive_int,
    describe,
    to_torch_device,
    to_torch_dtype,
)

__all__ = [
    "RNNCell",
    "LayerCell",
    "check_state",
    "state_dtype",
    "glorot_uniform_",
    "keep_state_dtype",
]

Initializer = Callable[[torch.Tensor], Any]


def glorot_uniform_(tensor: torch.Tensor) -> torch.Tensor:
    """TF's default ``glorot_uniform_initializer``: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).

    For a 1-D shape ``[n]`` TF takes fan_in = fan_out = n (used by the LSTM peephole diagonals).
    """
    if tensor.dim() == 1:
        fan_in = fan_out = tensor.shape[0]
    else:
        fan_in, fan_out = tensor.shape[-2], tensor.shape[-1]
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-limit, limit)


def check_state(
    where: str,
    state_size: Any,
    state: Any,
    batch_size: int,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> None:
    """Check that ``state`` has the structure of ``state_size`` and leaves of shape ``[batch_size, size]``
    (and of the inputs' ``dtype`` and ``device``, when given)."""
    nest.assert_same_structure(state_size, state, where=f"{where} (state)")
    for size, tensor in zip(nest.flatten(state_size), nest.flatten(state)):
        if not isinstance(size, int):
            # Not a [B, size] row state: a scalar step counter or an alignment history (seq2seq's
            # AttentionWrapper), which its owner checks.
            continue
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{where}: expected state tensors, got {describe(tensor)}")
        expected = (batch_size, size) if isinstance(size, int) else None
        if expected is not None and tuple(tensor.shape) != expected:
            raise ValueError(
                f"{where}: expected a state tensor of shape [B={batch_size}, {size}], "
                f"got shape {tuple(tensor.shape)}"
            )
        if device is not None and tensor.device != device:
            raise ValueError(
                f"{where}: expected state tensors on {device} (the inputs'), got {tensor.device}"
            )
        if dtype is not None and tensor.dtype != dtype:
            raise TypeError(
                f"{where}: expected state tensors of dtype {dtype} (the inputs'), got {tensor.dtype}"
            )


def state_dtype(inputs: torch.Tensor) -> torch.dtype | None:
    """The dtype a cell's state must have: the inputs' (None under autocast, where dtypes legitimately mix)."""
    return None if autocast_enabled(inputs.device.type) else inputs.dtype


def keep_state_dtype(device_type: str, new_state: Any, state: Any) -> Any:
    """Under ``torch.autocast``, give each new state leaf the dtype of the matching leaf of ``state``.

    Mixed precision runs the matmuls in bf16/fp16, but the state carried from step to step stays in the dtype it
    came in (float32: the parameters' dtype), as TF kept an LSTM's ``c`` in the variables' dtype; otherwise an
    RNN's state would be rounded to 8 bits of mantissa at every one of T steps. Outside autocast: unchanged.
    """
    if not autocast_enabled(device_type):
        return new_state
    return nest.map_structure(lambda new, old: new.to(old.dtype), new_state, state)


class RNNCell(nn.Module):
    """Base of every cell and wrapper: TF1's ``RNNCell`` contract on a ``torch.nn.Module``.

    Subclasses define ``state_size``, ``output_size``, ``forward(inputs, state)`` and, when they own or wrap
    parameters, ``named_tf_variables(prefix)`` (TF names in TF's creation order) and ``build(input_size)``.
    """

    #: The cell's default TF variable scope (``basic_lstm_cell``...); ``name=`` overrides it per instance.
    tf_name: str = "rnn_cell"

    def __init__(self, name: str | None = None) -> None:
        super().__init__()
        if name is not None:
            if not isinstance(name, str) or not name:
                raise TypeError(
                    f"{type(self).__name__}: expected name to be a non-empty str, got {name!r}"
                )
            self.tf_name = name

    @property
    def state_size(self) -> Any:
        raise NotImplementedError

    @property
    def output_size(self) -> Any:
        raise NotImplementedError

    @property
    def built(self) -> bool:
        """True once every parameter exists (cells without parameters are always built)."""
        return True

    def build(self, input_size: int) -> None:
        """Create parameters for inputs of depth ``input_size`` (no-op for cells without parameters)."""

    def _default_dtype_device(self) -> tuple[torch.dtype, torch.device]:
        param = next(self.parameters(), None)
        if param is not None:
            return param.dtype, param.device
        return torch.get_default_dtype(), torch.device("cpu")

    def zero_state(
        self, batch_size: int, dtype: Any = None, device: torch.device | str | None = None
    ) -> Any:
        """Zeros shaped like ``state_size``: each leaf ``[batch_size, size]``.

        ``dtype``/``device`` default to the parameters' (or float32 on the CPU before the cell is built).
        """
        where = f"{type(self).__name__}.zero_state"
        check_positive_int(where, "batch_size", batch_size)
        default_dtype, default_device = self._default_dtype_device()
        dtype = to_torch_dtype(where, dtype) or default_dtype
        device = to_torch_device(where, device) or default_device
        return nest.map_structure(
            lambda size: torch.zeros(batch_size, size, dtype=dtype, device=device), self.state_size
        )

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        """Yield ``(full TF name, parameter or None if not built yet)`` in TF's variable-creation order.

        This is how a cell declares its TF names: ``prefix`` is the enclosing scope with its trailing slash
        (``"rnn/"``, or ``"rnn/multi_rnn_cell/cell_0/"`` inside a stack) and each name is
        ``prefix + cell scope + relative name``, e.g. ``rnn/basic_lstm_cell/kernel``. ``rk.tf_variables`` and
        the loaders add the unroll's scope and call this. Cells without parameters yield nothing (the default);
        a ``LayerCell`` derives it from ``_tf_params``; wrappers pass ``prefix`` through to the wrapped cell,
        under their own scope when TF opens one; ``MultiRNNCell`` adds ``multi_rnn_cell/cell_<i>/``.
        """
        return iter(())

    # The step loop's fast path (unroll/_loop.py); both are optional, and the defaults mean "call the cell".

    def _prepare_unroll(
        self, inputs: torch.Tensor
    ) -> tuple[Any, Callable[[Any, Any], tuple[Any, Any]]] | None:
        """For ``inputs [B, T, D]`` or ``[T, B, D]``: ``(per_time, step)`` or None (the default: no fast path).

        ``per_time`` is a tensor (or tuple of tensors) shaped like ``inputs`` but for the last axis — typically
        ``inputs @ W_x + b`` for all steps in one matmul — that the unroll slices along time; ``step(slice,
        state) -> (output, new_state)`` computes the rest of one step, without re-checking what was checked here.
        """
        return None

    def _unchecked_step(self, sample: torch.Tensor) -> Callable[[Any, Any], tuple[Any, Any]]:
        """A step function for inputs like ``sample`` (``[1, D]``), checked once here (default: the cell)."""
        return self

    def extra_repr(self) -> str:
        return f"state_size={self.state_size}, output_size={self.output_size}"


class LayerCell(RNNCell):
    """A cell with ``num_units`` that owns TF-layout parameters, built lazily from the input depth.

    Subclasses set ``_tf_params`` — ``(TF name relative to the cell scope, attribute name)`` pairs in TF's
    creation order — and implement ``_create_parameters(input_size)`` and ``_step(inputs, state)``.
    """

    _tf_params: tuple[tuple[str, str], ...] = ()

    def __init__(
        self,
        num_units: int,
        *,
        input_size: int | None = None,
        dtype: Any = None,
        device: torch.device | str | None = None,
        name: str | None = None,
        reuse: Any = None,
    ) -> None:
        # `reuse` is accepted so TF code ports unchanged; a module *is* its parameters, so it does nothing.
        super().__init__(name=name)
        where = type(self).__name__
        self.num_units = check_positive_int(where, "num_units", num_units)
        self._dtype = to_torch_dtype(where, dtype)
        self._device = to_torch_device(where, device)
        self.input_size: int | None = None
        self._pending_input_size = input_size

    def _finish_init(self) -> None:
        """Called by subclasses at the end of ``__init__``: builds now when ``input_size`` was given."""
        for _, attr in self._tf_params:
            setattr(self, attr, None)
        if self._pending_input_size is not None:
            self.build(self._pending_input_size)

    @property
    def built(self) -> bool:
        return self.input_size is not None

    def build(self, input_size: int) -> None:
        where = f"{type(self).__name__}.build"
        check_positive_int(where, "input_size", input_size)
        if self.input_size is not None:
            if input_size != self.input_size:
                raise ValueError(
                    f"{type(self).__name__}: built for input_size={self.input_size}, got input_size={input_size}"
                )
            return
        self._create_parameters(input_size)
        self.input_size = input_size

    def _new_parameter(
        self, *shape: int, init: Initializer | None, dtype: torch.dtype | None, device: Any
    ) -> nn.Parameter:
        dtype = self._dtype or dtype or torch.get_default_dtype()
        device = self._device or device
        param = nn.Parameter(torch.empty(*shape, dtype=dtype, device=device))
        if init is None:
            glorot_uniform_(param)
        else:
            with torch.no_grad():
                init(param)
        return param

    def _create_parameters(
        self, input_size: int, dtype: torch.dtype | None = None, device: Any = None
    ) -> None:
        raise NotImplementedError

    def _prepare_inputs(self, inputs: Any) -> torch.Tensor:
        """Check one step's inputs ``[B, D]``, building the parameters on first use (on the inputs' device)."""
        where = type(self).__name__
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(
                f"{where}: expected inputs to be a [B, D] tensor, got {describe(inputs)}"
            )
        if inputs.dim() != 2:
            raise ValueError(
                f"{where}: expected inputs of rank 2 [B, D], got shape {tuple(inputs.shape)}"
            )
        if not inputs.is_floating_point():
            raise TypeError(f"{where}: expected floating-point inputs, got {inputs.dtype}")
        depth = inputs.shape[1]
        if self.input_size is None:
            check_positive_int(where, "input depth", depth)
            dtype = inputs.dtype
            if autocast_enabled(inputs.device.type) and dtype in (torch.float16, torch.bfloat16):
                dtype = (
                    torch.get_default_dtype()
                )  # mixed precision: parameters stay in full precision
            self._create_parameters(depth, dtype=dtype, device=inputs.device)
            self.input_size = depth
        elif depth != self.input_size:
            raise ValueError(
                f"{where}: built for input_size={self.input_size}, got inputs.shape[-1]={depth}"
            )
        kernel = getattr(self, self._tf_params[0][1])
        if inputs.device != kernel.device:
            raise ValueError(
                f"{where}: expected inputs on {kernel.device} (the cell's parameter device), got {inputs.device}"
            )
        if inputs.dtype != kernel.dtype and not autocast_enabled(inputs.device.type):
            raise TypeError(
                f"{where}: expected {kernel.dtype} inputs (the cell's parameter dtype), got {inputs.dtype}"
            )
        return inputs

    def forward(self, inputs: torch.Tensor, state: Any) -> tuple[Any, Any]:
        """One step: ``inputs [B, D]``, ``state`` like ``state_size`` → ``(output [B, output_size], new_state)``."""
        inputs = self._prepare_inputs(inputs)
        check_state(
            type(self).__name__,
            self.state_size,
            state,
            inputs.shape[0],
            state_dtype(inputs),
            inputs.device,
        )
        output, new_state = self._step(inputs, state)
        if autocast_enabled(inputs.device.type):
            kept = keep_state_dtype(inputs.device.type, new_state, state)
            output = (
                kept if output is new_state else output
            )  # output = state (BasicRNNCell, GRUCell)
            new_state = kept
        return output, new_state

    def _step(self, inputs: torch.Tensor, state: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        for rel_name, attr in self._tf_params:
            param = getattr(self, attr)
            if param is None and not self._tf_param_used(attr):
                continue
            yield f"{prefix}{self.tf_name}/{rel_name}", param

    def _hooked(self) -> bool:
        return bool(self._forward_hooks or self._forward_pre_hooks)

    def _prepare_unroll(
        self, inputs: torch.Tensor
    ) -> tuple[Any, Callable[[Any, Any], tuple[Any, Any]]] | None:
        if self._hooked() or inputs.dim() != 3:
            return None  # hooks must see every call; other ranks get the cell's own error per step
        self._prepare_inputs(
            inputs[(0,) * (inputs.dim() - 1)].unsqueeze(0)
        )  # check depth/dtype, build
        return self._precompute(inputs)

    def _precompute(
        self, inputs: torch.Tensor
    ) -> tuple[Any, Callable[[Any, Any], tuple[Any, Any]]] | None:
        """``_prepare_unroll`` for a built cell and checked inputs; None: no fast path."""
        return None

    def _unchecked_step(self, sample: torch.Tensor) -> Callable[[Any, Any], tuple[Any, Any]]:
        if self._hooked():
            return self
        self._prepare_inputs(sample)
        return self._step

    def _tf_param_used(self, attr: str) -> bool:
        """Whether an optional parameter (peepholes, projection) exists in this configuration."""
        return True

    def extra_repr(self) -> str:
        return f"num_units={self.num_units}, input_size={self.input_size}"
