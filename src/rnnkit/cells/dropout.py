"""``DropoutWrapper`` (TF1 ``tf.nn.rnn_cell.DropoutWrapper``): dropout on a cell's inputs, state and outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from .. import nest
from .._checks import describe, to_torch_dtype
from .base import RNNCell
from .fused_spec import FusedSpec, SequenceDropout, hooks_reason, with_dropout
from .state import LSTMStateTuple
from .wrapper_base import CellWrapper

__all__ = ["DropoutWrapper", "default_dropout_state_filter_visitor"]


def default_dropout_state_filter_visitor(substate: Any) -> Any:
    """TF's default filter: never drop the memory ``c`` of an ``LSTMStateTuple``; drop everything else."""
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(c=False, h=True)
    return True


def _children(x: Any) -> list[Any]:
    if isinstance(x, Mapping):
        return [x[k] for k in sorted(x)]
    return list(x)


def _state_flags(visitor: Callable[[Any], Any], structure: Any) -> list[bool]:
    """One bool per leaf of ``structure`` (nest order): whether dropout applies to it.

    TF's ``get_traverse_shallow_structure`` rule: the visitor sees every level; ``False`` keeps the whole
    sub-structure, ``True`` descends into it (a leaf: drop it), a depth-1 structure of bools decides per child.
    """
    where = "DropoutWrapper"
    decision = visitor(structure)
    if not nest.is_nested(structure):
        if not isinstance(decision, bool):
            raise TypeError(
                f"{where}: expected dropout_state_filter_visitor to return a bool for a state tensor, "
                f"got {describe(decision)}"
            )
        return [decision]
    if isinstance(decision, bool):
        if not decision:
            return [False] * len(nest.flatten(structure))
        return [f for child in _children(structure) for f in _state_flags(visitor, child)]
    children = _children(structure)
    if not nest.is_nested(decision) or len(_children(decision)) != len(children):
        raise ValueError(
            f"{where}: expected dropout_state_filter_visitor to return a bool or one bool per element of "
            f"{type(structure).__name__} (length {len(children)}), got {describe(decision)}"
        )
    flags: list[bool] = []
    for keep, child in zip(_children(decision), children):
        if not isinstance(keep, bool):
            raise TypeError(
                f"{where}: expected dropout_state_filter_visitor to return bools, got {describe(keep)}"
            )
        flags += _state_flags(visitor, child) if keep else [False] * len(nest.flatten(child))
    return flags


def check_keep_prob(where: str, name: str, value: Any) -> float:
    """The keep probability as a float, which must lie in (0, 1]; ``value`` is a number or a 0-d tensor (read at
    every step, so a tensor can be changed between steps). ``DropoutWrapper`` and ``LayerNormBasicLSTMCell``."""
    if isinstance(value, torch.Tensor):
        if value.dim() != 0 or not (value.is_floating_point() or value.dtype == torch.int64):
            raise TypeError(
                f"{where}: expected {name} to be a float or a 0-d float tensor, got {describe(value)}"
            )
        number = float(value.item())
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise TypeError(
            f"{where}: expected {name} to be a float or a 0-d float tensor, got {describe(value)}"
        )
    if not 0.0 < number <= 1.0:  # also rejects NaN
        raise ValueError(f"{where}: expected {name} in (0, 1], got {number}")
    return number


class DropoutWrapper(CellWrapper):
    r"""Inverted dropout on the inputs, the new state and the output of ``cell`` (keep probabilities, as TF1)::

        x'             = dropout(x, input_keep_prob)
        out, new_state = cell(x', state)
        new_state      = dropout(new_state, state_keep_prob)  # leaves chosen by dropout_state_filter_visitor
        out            = dropout(out, output_keep_prob)
        dropout(v, k)  = v / k * floor(k + u),  u ~ U[0, 1)  # keep with probability k, scale kept values by 1/k

    Dropout acts only in ``train()`` mode (a new module is in train mode); in ``eval()`` the wrapper is the
    identity — the counterpart of TF1 programs feeding ``keep_prob=1.0`` at test time. A keep probability of
    exactly 1 is the identity too.

    Args:
        cell: the rnnkit cell to wrap.
        input_keep_prob, output_keep_prob, state_keep_prob: floats or 0-d tensors in (0, 1]. A tensor is read
            at every step, so a program may change it in place between calls (TF1 fed placeholders).
        variational_recurrent: False → a fresh mask for every element at every step. True → one mask per unroll
            call (see NOTE [begin_sequence] in ``cells/hooks.py``) of shape ``[1, size]``, shared by every time
            step and — as in TF — by every batch row (Gal & Ghahramani 2016).
        input_size: accepted for TF compatibility (TF needed it for the variational input mask); when given it
            is checked against the inputs' depth; the mask shape is otherwise taken from the inputs.
        dtype: accepted for TF compatibility (TF needed it with ``variational_recurrent``); masks take the
            values' dtype.
        seed: an int makes the masks reproducible: the wrapper draws from its own ``torch.Generator`` seeded
            with it (one per device); None uses torch's global generator. A fusable stack with input / output
            dropout only runs fused (``rk.fused.explain``) and draws the same masks as the step loop on CPU.
        dropout_state_filter_visitor: ``fn(substate) -> bool | depth-1 structure of bools`` choosing which state
            leaves are dropped (TF's rule); default: every leaf except the ``c`` of an ``LSTMStateTuple``.

    TF names: the wrapper adds none; the wrapped cell's names pass through.

    Shape:
        as the wrapped cell: inputs ``[B, D]``, state like ``cell.state_size``, output ``[B, output_size]``.
    """

    def __init__(
        self,
        cell: RNNCell,
        input_keep_prob: Any = 1.0,
        output_keep_prob: Any = 1.0,
        state_keep_prob: Any = 1.0,
        variational_recurrent: bool = False,
        input_size: Any = None,
        dtype: Any = None,
        seed: int | None = None,
        dropout_state_filter_visitor: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(cell)
        where = type(self).__name__
        for name, value in (
            ("input_keep_prob", input_keep_prob),
            ("output_keep_prob", output_keep_prob),
            ("state_keep_prob", state_keep_prob),
        ):
            check_keep_prob("DropoutWrapper", name, value)
        self.input_keep_prob = input_keep_prob
        self.output_keep_prob = output_keep_prob
        self.state_keep_prob = state_keep_prob
        if not isinstance(variational_recurrent, bool):
            raise TypeError(
                f"{where}: expected variational_recurrent to be a bool, got {describe(variational_recurrent)}"
            )
        self.variational_recurrent = variational_recurrent
        if dropout_state_filter_visitor is not None and not callable(dropout_state_filter_visitor):
            raise TypeError(
                f"{where}: expected dropout_state_filter_visitor to be callable, got "
                f"{describe(dropout_state_filter_visitor)}"
            )
        self._state_filter = dropout_state_filter_visitor or default_dropout_state_filter_visitor
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"{where}: expected seed to be an int or None, got {describe(seed)}")
        self.seed = seed
        self._dtype = to_torch_dtype(where, dtype)
        self._input_size_arg = input_size
        self._generators: dict[torch.device, torch.Generator] = {}
        self._noise: dict[tuple[str, int], torch.Tensor] = {}

    def _begin_sequence(self) -> None:
        """A new unroll call: forget the variational noise (see NOTE [begin_sequence])."""
        self._noise.clear()

    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None:
            return None
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]

    def _uniform(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        return torch.rand(
            shape, generator=self._generator(like.device), dtype=like.dtype, device=like.device
        )

    def _drop_leaf(self, kind: str, index: int, value: torch.Tensor, keep: float) -> torch.Tensor:
        if self.variational_recurrent:
            key = (kind, index)
            noise = self._noise.get(key)
            if noise is None or noise.shape[-1] != value.shape[-1] or noise.device != value.device:
                noise = self._noise[key] = self._uniform((1, *value.shape[1:]), value)
            noise = noise.to(value.dtype)
        else:
            noise = self._uniform(tuple(value.shape), value)
        # TF's order of operations: value / keep * floor(keep + u).
        return value / keep * torch.floor(keep + noise)

    def _drop(self, kind: str, structure: Any, keep: float, flags: list[bool] | None = None) -> Any:
        flat = nest.flatten(structure)
        for i, value in enumerate(flat):
            if flags is None or flags[i]:
                flat[i] = self._drop_leaf(kind, i, value, keep)
        return nest.pack_sequence_as(structure, flat)

    def _check_input_size(self, inputs: Any) -> None:
        if self._input_size_arg is None:
            return
        depths = [x.shape[-1] for x in nest.flatten(inputs)]
        expected = nest.flatten(self._input_size_arg)
        if depths != expected:
            raise ValueError(
                f"DropoutWrapper: built for input_size={self._input_size_arg}, got input depths {depths}"
            )

    def check_inputs(self, inputs: Any) -> Any:
        """The wrapped cell's checks (and lazy build: the fused path calls the cell's kernels directly)."""
        return self.cell.check_inputs(inputs)

    def forward(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        """One step of the wrapped cell with dropout (train mode only); see the class docstring."""
        if not self.training:
            return self.cell(inputs, state)
        keep_in = check_keep_prob("DropoutWrapper", "input_keep_prob", self.input_keep_prob)
        keep_state = check_keep_prob("DropoutWrapper", "state_keep_prob", self.state_keep_prob)
        keep_out = check_keep_prob("DropoutWrapper", "output_keep_prob", self.output_keep_prob)
        if keep_in < 1.0:
            self._check_input_size(inputs)
            inputs = self._drop("input", inputs, keep_in)
        output, new_state = self.cell(inputs, state)
        if keep_state < 1.0:
            flags = _state_flags(self._state_filter, new_state)
            new_state = self._drop("state", new_state, keep_state, flags)
        if keep_out < 1.0:
            output = self._drop("output", output, keep_out)
        return output, new_state

    def drops_nothing(self) -> bool:
        """Whether a call is exactly the wrapped cell's: ``eval()`` mode, or every keep probability 1."""
        return not self.training or self._keeps() == (1.0, 1.0, 1.0)

    def _keeps(self) -> tuple[float, float, float]:
        """``(input, output, state)`` keep probabilities as checked floats, read once per decision (a 0-d tensor
        costs a device sync to read)."""
        return (
            check_keep_prob("DropoutWrapper", "input_keep_prob", self.input_keep_prob),
            check_keep_prob("DropoutWrapper", "output_keep_prob", self.output_keep_prob),
            check_keep_prob("DropoutWrapper", "state_keep_prob", self.state_keep_prob),
        )

    def fused_spec(self) -> FusedSpec | str:
        """The wrapped cell's spec, plus input / output dropout on whole sequences (``SequenceDropout``: fresh
        masks per element and step, as this wrapper draws them); state or variational dropout: the reason why not
        (the state's mask acts inside the recurrence, a variational mask is shared by every step)."""
        hooked = hooks_reason(self.cell)
        if hooked:
            return hooked
        if not self.training:
            return self.cell.fused_spec()
        keep_in, keep_out, keep_state = self._keeps()
        if keep_in == keep_out == keep_state == 1.0:
            return self.cell.fused_spec()
        if keep_state < 1.0:
            return (
                "DropoutWrapper drops the state (state_keep_prob < 1): a mask inside the recurrence"
            )
        if self.variational_recurrent:
            return "DropoutWrapper has variational_recurrent=True: one mask shared by every step"
        spec = self.cell.fused_spec()
        if isinstance(spec, str):
            return spec
        drop_in = SequenceDropout(keep_in, self._generator, self._check_input_size)
        drop_out = SequenceDropout(keep_out, self._generator)
        return with_dropout(
            spec, drop_in if keep_in < 1.0 else None, drop_out if keep_out < 1.0 else None
        )

    def extra_repr(self) -> str:
        return (
            f"input_keep_prob={self.input_keep_prob}, output_keep_prob={self.output_keep_prob}, "
            f"state_keep_prob={self.state_keep_prob}, variational_recurrent={self.variational_recurrent}, "
            f"seed={self.seed}"
        )
