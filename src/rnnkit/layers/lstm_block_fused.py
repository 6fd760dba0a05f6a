"""``LSTMBlockFusedCell`` (``tf.contrib.rnn``, TF 1.15): one call runs an LSTM over a time-major sequence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .._checks import describe, to_torch_dtype
from ..cells.base import check_ranked_tensor
from ..cells.block import LSTMBlockCell
from ..cells.state import LSTMStateTuple
from ..fused import explain
from ..unroll import dynamic_rnn

__all__ = ["LSTMBlockFusedCell"]


class LSTMBlockFusedCell(nn.Module):
    r"""An LSTM over a whole time-major sequence, TF's ``LSTMBlockFusedCell`` (its ``BlockLSTM`` kernel).

    The step is ``LSTMBlockCell``'s (gates i, ci, f, o; ``forget_bias``; optional peepholes and ``cell_clip``)::

        outputs, LSTMStateTuple(c, h) = cell(inputs [T, B, D], initial_state=(c0, h0), sequence_length=[B])

    Outputs past a row's length are zero and its final state is the state at its own last step (the initial
    state for length 0), as TF computed them by masking and gathering. Without peepholes and clip the sequence
    runs on torch's fused LSTM kernel (``explain()`` says which path runs); else on the step loop.

    Args:
        num_units: ``H``.
        forget_bias, cell_clip, use_peephole: as ``LSTMBlockCell`` (cell_clip None or <= 0: no clip).
        reuse: accepted, no effect. dtype: of the parameters.
        name: the variable scope, default ``lstm_fused_cell``.

    Keyword Args:
        input_size: ``D``; builds the parameters now (else the first call does). device: of the parameters.

    Parameters (TF names): ``lstm_fused_cell/kernel [D+H, 4H]``, ``lstm_fused_cell/bias [4H]``, then
    ``w_i_diag``, ``w_f_diag``, ``w_o_diag`` with ``use_peephole``.
    """

    #: TF's layer opened its own variable scope: ``rk.tf_variables(layer)`` needs no ``scope`` (see tf_names).
    tf_scope_is_own = True

    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        cell_clip: float | None = None,
        use_peephole: bool = False,
        reuse: Any = None,
        dtype: Any = None,
        name: str = "lstm_fused_cell",
        *,
        input_size: int | None = None,
        device: Any = None,
    ) -> None:
        super().__init__()
        try:
            self.cell = LSTMBlockCell(
                num_units,
                forget_bias=forget_bias,
                cell_clip=cell_clip,
                use_peephole=use_peephole,
                input_size=input_size,
                dtype=dtype,
                device=device,
                name=name,
            )
        except (TypeError, ValueError) as e:  # the same checks; name the class the user called
            raise type(e)(str(e).replace("LSTMBlockCell", type(self).__name__, 1)) from None

    @property
    def num_units(self) -> int:
        return self.cell.num_units

    @property
    def kernel(self) -> torch.Tensor:
        return self.cell.kernel

    @property
    def bias(self) -> torch.Tensor:
        return self.cell.bias

    def build(self, input_size: int) -> None:
        self.cell.build(input_size)

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        """``(TF name, parameter)`` in TF's creation order: ``prefix + "lstm_fused_cell/kernel"``, ..."""
        return self.cell.named_tf_variables(prefix)

    def explain(self) -> str:
        """Which path the sequence runs on (torch's fused LSTM or the step loop) and why."""
        return explain(self.cell)

    def forward(
        self,
        inputs: Any,
        initial_state: Any = None,
        dtype: Any = None,
        sequence_length: Any = None,
    ) -> tuple[Any, LSTMStateTuple]:
        """``inputs [T, B, D]`` (or a list of T ``[B, D]`` tensors) → ``(outputs [T, B, H] (or a list),
        LSTMStateTuple(c [B, H], h [B, H]))``. ``initial_state``: ``(c, h)``, default zeros (``dtype`` optional;
        given, it must be the inputs' dtype). ``sequence_length``: ``[B]`` ints in ``[0, T]``."""
        where = type(self).__name__
        is_list = isinstance(inputs, (list, tuple))
        if is_list:
            if not inputs or not all(isinstance(x, torch.Tensor) for x in inputs):
                raise TypeError(
                    f"{where}: expected inputs to be a [T, B, D] tensor or a non-empty list of "
                    f"[B, D] tensors, got {describe(inputs)}"
                )
            inputs = torch.stack(list(inputs))
        check_ranked_tensor(where, inputs, "[T, B, D]", kind="time-major ")
        wanted = to_torch_dtype(where, dtype)
        if wanted is not None and wanted != inputs.dtype:
            raise TypeError(
                f"{where}: expected dtype to match the inputs' dtype {inputs.dtype}, got {wanted}"
            )
        if initial_state is not None:
            if not isinstance(initial_state, (tuple, list)) or len(initial_state) != 2:
                raise ValueError(
                    f"{where}: expected initial_state to be a tuple (c, h), got {describe(initial_state)}"
                )
            initial_state = LSTMStateTuple(*initial_state)
        outputs, state = dynamic_rnn(
            self.cell,
            inputs,
            sequence_length=sequence_length,
            initial_state=initial_state,
            time_major=True,
        )
        return (list(outputs.unbind(0)) if is_list else outputs), state

    def extra_repr(self) -> str:
        return self.cell.extra_repr()
