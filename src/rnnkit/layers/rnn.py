"""``rk.RNN`` and ``rk.BidirectionalRNN``: ``dynamic_rnn`` and ``bidirectional_dynamic_rnn`` as ``nn.Module`` layers.

A PyTorch user writes ``rnn = rk.RNN(rk.LSTMCell(256, input_size=64))`` once and calls ``rnn(x)``: the cell's
parameters are the layer's, so ``.to()``, ``state_dict()``, hooks, ``DataParallel``/DDP and optimisers see them;
the TF names are unchanged (``rnn/lstm_cell/kernel`` under the default scope). Each call is exactly
``dynamic_rnn(cell, x, ...)`` with the layer's settings. Extras over the function:

* ``trainable_initial_state=True``: the initial state is learned (``TrainableInitialState``), used whenever no
  ``initial_state`` is passed (TF name ``rnn/initial_state_{i}``);
* ``stateful=True``: streaming inference, Keras's ``stateful``. The final state of each call (detached) is the
  initial state of the next; ``reset_state()`` (all rows or some) returns rows to the initial state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .. import nest
from ..cells.base import RNNCell, check_cell, check_state
from ..unroll import bidirectional_dynamic_rnn, dynamic_rnn
from .initial_state import TrainableInitialState

__all__ = ["RNN", "BidirectionalRNN"]


def _check_flag(where: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{where}: expected {name} to be a bool, got {value!r}")
    return value


def _check_scope(where: str, scope: Any) -> str:
    if not isinstance(scope, str) or not scope.strip("/"):
        raise TypeError(f"{where}: expected scope to be a non-empty str, got {scope!r}")
    return scope.strip("/")


def _batch_size(inputs: Any, time_major: bool) -> int:
    first = nest.flatten(inputs)[0]
    if not isinstance(first, torch.Tensor) or first.dim() < 2:
        return -1  # dynamic_rnn reports the malformed inputs with its own message
    return int(first.shape[1 if time_major else 0])


def _check_settings(
    where: str,
    time_major: bool,
    fused: bool | None,
    swap_memory: bool,
    trainable_initial_state: bool,
    scope: str,
) -> tuple[bool, bool | None, bool, str]:
    """The settings ``RNN`` and ``BidirectionalRNN`` share, checked under the layer's name ``where``:
    ``(time_major, fused, swap_memory, scope)``."""
    time_major = _check_flag(where, "time_major", time_major)
    if fused is not None:  # None: auto (torch's fused kernels where exact)
        _check_flag(where, "fused", fused)
    swap_memory = _check_flag(where, "swap_memory", swap_memory)
    _check_flag(where, "trainable_initial_state", trainable_initial_state)
    return time_major, fused, swap_memory, _check_scope(where, scope)


class RNN(nn.Module):
    """``dynamic_rnn`` as a layer: ``outputs, final_state = RNN(cell)(inputs)``.

    Args:
        cell: any rnnkit cell (registered as the submodule ``cell``).
        time_major: inputs and outputs ``[T, B, ...]`` instead of ``[B, T, ...]``.
        fused: as ``dynamic_rnn`` (None: torch's fused kernels where exact; True: require them; False: never).
        swap_memory: as ``dynamic_rnn`` (activation checkpointing over chunks of time).
        stateful: keep the final state (detached) as the next call's initial state; see ``reset_state``.
        trainable_initial_state: learn the initial state (a ``TrainableInitialState`` as ``initial_state``).
        scope: the TF scope of the cell's variables (``rnn``, as ``dynamic_rnn``'s default).

    Call ``forward(inputs, initial_state=None, sequence_length=None, **unroll_kwargs)``: the arguments of
    ``dynamic_rnn`` (``reset=``, ``return_all_states=`` included where the unroll supports them); returns what
    it returns. ``initial_state=None`` means: the kept state (stateful, after a first call), else the learned
    state (trainable), else zeros.
    """

    def __init__(
        self,
        cell: RNNCell,
        time_major: bool = False,
        fused: bool | None = None,
        swap_memory: bool = False,
        stateful: bool = False,
        trainable_initial_state: bool = False,
        scope: str = "rnn",
    ) -> None:
        super().__init__()
        self.time_major, self.fused, self.swap_memory, self.scope = _check_settings(
            "RNN", time_major, fused, swap_memory, trainable_initial_state, scope
        )
        self.cell = check_cell("RNN", cell)
        self.stateful = _check_flag("RNN", "stateful", stateful)
        self.initial_state = TrainableInitialState(cell) if trainable_initial_state else None
        self._kept: Any = (
            None  # the stateful layer's carried state (detached), None until the first call
        )

    def _unroll_settings(self) -> dict[str, Any]:
        """The layer's settings as the unroll's keyword arguments."""
        return {"swap_memory": self.swap_memory, "time_major": self.time_major, "fused": self.fused}

    def start_state(self, batch_size: int, like: torch.Tensor) -> Any:
        """The state a call starts from when none is given: learned or zeros, on ``like``'s device and dtype."""
        if self.initial_state is not None:
            return nest.map_structure(
                lambda t: t.to(device=like.device, dtype=like.dtype), self.initial_state(batch_size)
            )
        return self.cell.zero_state(batch_size, dtype=like.dtype, device=like.device)

    def forward(
        self,
        inputs: Any,
        initial_state: Any = None,
        sequence_length: Any = None,
        **unroll_kwargs: Any,
    ) -> Any:
        """``dynamic_rnn(self.cell, inputs, ...)`` with the layer's settings; see the class docstring."""
        if initial_state is None:
            initial_state = self._default_state(inputs)
        if (
            self.stateful
            and unroll_kwargs.get("reset") is not None
            and "reset_to" not in unroll_kwargs
        ):
            # a stream starts from its carried state, but a reset row restarts from the layer's initial state
            like = nest.flatten(inputs)[0]
            unroll_kwargs["reset_to"] = self.start_state(_batch_size(inputs, self.time_major), like)
        result = dynamic_rnn(
            self.cell,
            inputs,
            sequence_length=sequence_length,
            initial_state=initial_state,
            **self._unroll_settings(),
            **unroll_kwargs,
        )
        if self.stateful:
            self._kept = nest.map_structure(lambda t: t.detach(), result[1])
        return result

    def _default_state(self, inputs: Any) -> Any:
        batch = _batch_size(inputs, self.time_major)
        if self._kept is not None:
            kept_batch = nest.flatten(self._kept)[0].shape[0]
            if batch != kept_batch:
                raise ValueError(
                    f"RNN (stateful): expected inputs with B={kept_batch} rows, the batch the kept state "
                    f"has, got B={batch}; call reset_state() first to start over with a new batch size"
                )
            return self._kept
        if self.initial_state is None or batch < 1:
            return None  # dynamic_rnn makes the zero state (and reports malformed inputs)
        like = nest.flatten(inputs)[0]
        return self.start_state(batch, like)

    @property
    def state(self) -> Any:
        """The kept state of a stateful layer (None before its first call or after ``reset_state()``).

        Assign a state (nested like ``cell.state_size``, leaves ``[B, size]``; stored detached) to continue a
        stream from it, e.g. one restored from a checkpoint, or None to forget it.
        """
        return self._kept

    @state.setter
    def state(self, value: Any) -> None:
        where = "RNN.state"
        if not self.stateful:
            raise ValueError(
                f"{where}: expected a stateful layer (RNN(..., stateful=True)), got stateful=False"
            )
        if value is not None:
            leaves = nest.flatten(value)
            if not leaves or not isinstance(leaves[0], torch.Tensor):
                raise TypeError(
                    f"{where}: expected a state of tensors like cell.state_size, got {value!r}"
                )
            check_state(where, self.cell.state_size, value, leaves[0].shape[0])
            value = nest.map_structure(lambda t: t.detach(), value)
        self._kept = value

    def reset_state(self, rows: Any = None) -> None:
        """Forget the kept state: of every row (``rows=None``; the next call may use a new batch size), or of
        the rows where the bool mask ``rows [B]`` is True (they restart from the initial state)."""
        where = "RNN.reset_state"
        if not self.stateful:
            raise ValueError(
                f"{where}: expected a stateful layer (RNN(..., stateful=True)), got stateful=False"
            )
        if rows is None or self._kept is None:
            self._kept = None
            return
        like = nest.flatten(self._kept)[0]
        mask = torch.as_tensor(rows, device=like.device)
        if mask.dtype != torch.bool or tuple(mask.shape) != (like.shape[0],):
            raise ValueError(
                f"{where}: expected rows to be a bool mask of shape [B={like.shape[0]}], got "
                f"{mask.dtype} of shape {tuple(mask.shape)}"
            )
        start = self.start_state(like.shape[0], like)
        self._kept = nest.map_structure(
            lambda kept, init: torch.where(mask[:, None], init.detach(), kept), self._kept, start
        )

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        """The cell's TF names under ``prefix + scope``, then the learned initial state's, if any."""
        scope = f"{prefix}{self.scope}/"
        yield from self.cell.named_tf_variables(scope)
        if self.initial_state is not None:
            yield from self.initial_state.named_tf_variables(scope)

    def extra_repr(self) -> str:
        return f"time_major={self.time_major}, fused={self.fused}, stateful={self.stateful}, scope={self.scope!r}"


def _direction_cell(direction: str) -> Any:
    """The read-only property ``cell_<direction>`` of ``BidirectionalRNN``: the cell of its ``fw`` or ``bw``
    ``RNN``, which owns it (one submodule, so ``state_dict`` keys it once, as ``fw.cell.*`` / ``bw.cell.*``)."""

    def cell(self: BidirectionalRNN) -> RNNCell:
        layer: RNN = getattr(self, direction)
        return layer.cell

    return property(cell, doc=f"The {direction} direction's cell (``self.{direction}.cell``).")


class BidirectionalRNN(nn.Module):
    """``bidirectional_dynamic_rnn`` as a layer: ``(out_fw, out_bw), (state_fw, state_bw) = layer(inputs)``.

    Args:
        cell_fw, cell_bw: the two cells (submodules ``cell_fw``, ``cell_bw``).
        time_major, fused, swap_memory: as ``RNN``.
        trainable_initial_state: learn both directions' initial states.
        scope: TF scope (``bidirectional_rnn``; the cells live under ``scope/fw`` and ``scope/bw``).

    Call ``forward(inputs, initial_state_fw=None, initial_state_bw=None, sequence_length=None, **kwargs)``.
    """

    def __init__(
        self,
        cell_fw: RNNCell,
        cell_bw: RNNCell,
        time_major: bool = False,
        fused: bool | None = None,
        swap_memory: bool = False,
        trainable_initial_state: bool = False,
        scope: str = "bidirectional_rnn",
    ) -> None:
        super().__init__()
        # The settings live in the two RNNs (fw decides the unroll's; see forward), checked here under this
        # layer's name first: one copy each, so changing layer.fw.fused is the change.
        time_major, fused, swap_memory, self.scope = _check_settings(
            "BidirectionalRNN", time_major, fused, swap_memory, trainable_initial_state, scope
        )
        self.fw = RNN(cell_fw, time_major, fused, swap_memory, False, trainable_initial_state, "fw")
        self.bw = RNN(cell_bw, time_major, fused, swap_memory, False, trainable_initial_state, "bw")

    cell_fw = _direction_cell("fw")
    cell_bw = _direction_cell("bw")

    def forward(
        self,
        inputs: Any,
        initial_state_fw: Any = None,
        initial_state_bw: Any = None,
        sequence_length: Any = None,
        **unroll_kwargs: Any,
    ) -> Any:
        """``bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, ...)`` with the layer's settings."""
        if initial_state_fw is None:
            initial_state_fw = self.fw._default_state(inputs)
        if initial_state_bw is None:
            initial_state_bw = self.bw._default_state(inputs)
        return bidirectional_dynamic_rnn(
            self.fw.cell,
            self.bw.cell,
            inputs,
            sequence_length=sequence_length,
            initial_state_fw=initial_state_fw,
            initial_state_bw=initial_state_bw,
            **self.fw._unroll_settings(),
            **unroll_kwargs,
        )

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        """``scope/fw/...`` then ``scope/bw/...`` (TF's order)."""
        yield from self.fw.named_tf_variables(f"{prefix}{self.scope}/")
        yield from self.bw.named_tf_variables(f"{prefix}{self.scope}/")
