"""The two state layouts most cells share, as mixins that state ``state_size`` / ``output_size`` once.

``SingleState``: the state is the output, ``h [B, H]`` (BasicRNN-, GRU- and IndRNN-like cells).
``LSTMState``: ``LSTMStateTuple(c [B, H], h [B, H])`` with output ``h``.
``ProjectedLSTMState``: ``LSTMStateTuple(c [B, H], h [B, P])`` with output ``h``, ``P = num_proj or H``.

List the mixin before the cell base class, so its properties win over ``RNNCell``'s abstract ones.
"""

from __future__ import annotations

from .state import LSTMStateTuple

__all__ = ["LSTMState", "ProjectedLSTMState", "SingleState"]


class _Sizes:
    """``output_size == _out``: the width of the output (and of ``h``), ``num_units`` unless overridden."""

    num_units: int

    @property
    def _out(self) -> int:
        return self.num_units

    @property
    def output_size(self) -> int:
        return self._out


class SingleState(_Sizes):
    """``state_size == output_size == num_units``."""

    @property
    def state_size(self) -> int:
        return self.num_units


class LSTMState(_Sizes):
    """``state_size == LSTMStateTuple(num_units, _out)``, ``output_size == _out`` (``num_units`` here)."""

    @property
    def state_size(self) -> LSTMStateTuple:
        return LSTMStateTuple(self.num_units, self._out)


class ProjectedLSTMState(LSTMState):
    """``LSTMState`` with ``h`` projected to ``num_proj`` units when the cell has ``num_proj`` set."""

    num_proj: int | None

    @property
    def _out(self) -> int:
        return self.num_proj or self.num_units
