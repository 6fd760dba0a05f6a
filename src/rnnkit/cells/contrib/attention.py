"""contrib's ``AttentionCellWrapper`` (TF 1.15 ``tf.contrib.rnn``): attention over the cell's last outputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from ... import nest
from ..._checks import autocast_enabled, check_positive_int
from ..base import RNNCell, check_state, keep_state_dtype, state_dtype
from ..lazy import adopt, placeholder, unbuilt
from ..wrapper_base import CellWrapper
from ._common import check_bool
from .wrappers import _check_step_inputs, _new

__all__ = ["AttentionCellWrapper"]

# (TF name relative to the wrapper's scope, attribute), in TF's creation order; the cell's come after the first two.
_BEFORE_CELL = (("kernel", "in_kernel"), ("bias", "in_bias"))
_AFTER_CELL = (
    ("attention/attn_w", "attn_w"),
    ("attention/attn_v", "attn_v"),
    ("attention/kernel", "query_kernel"),
    ("attention/bias", "query_bias"),
    ("attn_output_projection/kernel", "out_kernel"),
    ("attn_output_projection/bias", "out_bias"),
)


class AttentionCellWrapper(CellWrapper):
    r"""Attention over a window of the wrapper's last ``attn_length`` outputs (Cheng et al. 2016)::

        x'  = [x, attns] @ kernel + bias                                   # [B, input_size]
        out, cell_state' = cell(x', cell_state)
        q   = concat(flatten(cell_state')) @ attention/kernel + attention/bias            # [B, V]
        s_l = sum(attn_v * tanh(window_l @ attn_w[0, 0] + q))             # l = 0..attn_length-1
        attns' = sum_l softmax(s)_l * window_l                             # [B, A]
        output = [out, attns'] @ attn_output_projection/kernel + attn_output_projection/bias   # [B, A]
        window' = window[1:] + [output]                                    # the oldest entry drops out

    The state is ``(cell_state, attns [B, A], window [B, attn_length * A])`` (a plain tuple, as TF), or their
    concatenation when ``state_is_tuple=False`` (then the cell's state must be a single tensor).

    Args:
        cell: the rnnkit cell to wrap.
        attn_length: ``L``, the window length (> 0).
        attn_size: ``A``; default the cell's ``output_size``.
        attn_vec_size: ``V``; default ``A``.
        input_size: the size of ``x'`` fed to the cell (TF's meaning); default the input depth ``D``.
        state_is_tuple: see above.
        reuse: accepted and ignored.
        name: the TF scope (default ``attention_cell_wrapper``).

    Parameters (TF names under ``attention_cell_wrapper/``, in TF's order): ``kernel [D+A, input_size]``,
    ``bias``, the cell's variables (its scope nested here), ``attention/attn_w [1, 1, A, V]``,
    ``attention/attn_v [V]``, ``attention/kernel [S, V]``, ``attention/bias [V]`` (S: the cell's total state
    size), ``attn_output_projection/kernel [out + A, A]``, ``attn_output_projection/bias [A]``; kernels
    glorot-uniform, biases zeros. Build with ``build(D)`` or the first call.
    """

    # TF-layout parameters: placeholders until built (cells/lazy.py); declared for the type checker.
    in_kernel: nn.Parameter
    in_bias: nn.Parameter
    attn_w: nn.Parameter
    attn_v: nn.Parameter
    query_kernel: nn.Parameter
    query_bias: nn.Parameter
    out_kernel: nn.Parameter
    out_bias: nn.Parameter

    tf_name = "attention_cell_wrapper"

    def __init__(
        self,
        cell: RNNCell,
        attn_length: int,
        attn_size: int | None = None,
        attn_vec_size: int | None = None,
        input_size: int | None = None,
        state_is_tuple: bool = True,
        reuse: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__(cell, name=name)
        where = type(self).__name__
        self.state_is_tuple = check_bool(where, "state_is_tuple", state_is_tuple)
        if nest.is_nested(self.cell.state_size) and not state_is_tuple:
            raise ValueError(
                f"{where}: expected state_is_tuple=True for a cell with a nested state, got state_size="
                f"{self.cell.state_size!r}"
            )
        self.attn_length = check_positive_int(where, "attn_length", attn_length)
        if attn_size is None:
            if not isinstance(self.cell.output_size, int):
                raise ValueError(
                    f"{where}: expected attn_size, or a cell whose output_size is an int, got output_size="
                    f"{self.cell.output_size!r}"
                )
            attn_size = self.cell.output_size
        self.attn_size = check_positive_int(where, "attn_size", attn_size)
        self.attn_vec_size = check_positive_int(
            where, "attn_vec_size", self.attn_size if attn_vec_size is None else attn_vec_size
        )
        self.cell_input_size = (
            None if input_size is None else check_positive_int(where, "input_size", input_size)
        )
        self._depth: int | None = None
        for _, attr in _BEFORE_CELL + _AFTER_CELL:
            # placeholders until the input depth is known (cells/lazy.py): an early optimizer still holds them
            setattr(self, attr, placeholder())

    @property
    def state_size(self) -> Any:
        sizes = (self.cell.state_size, self.attn_size, self.attn_size * self.attn_length)
        return sizes if self.state_is_tuple else sum(sizes)

    @property
    def output_size(self) -> int:
        return self.attn_size

    @property
    def input_size(self) -> int | None:
        return self._depth

    @property
    def built(self) -> bool:
        return self._depth is not None

    def build(self, input_size: int) -> None:
        depth = check_positive_int(f"{type(self).__name__}.build", "input_size", input_size)
        if self._depth is None:
            self._create(depth, None)

    def _create(self, depth: int, like: torch.Tensor | None) -> None:
        a, v, inner = self.attn_size, self.attn_vec_size, self.cell_input_size or depth
        self._fill("in_kernel", _new((depth + a, inner), None, like, self.cell))
        self._fill("in_bias", _new((inner,), 0.0, like, self.cell))
        # An explicit build builds the cell; a lazy one lets it build from x' (the inputs' dtype and device).
        if like is None:
            self.cell.build(inner)
        state_total = sum(nest.flatten(self.cell.state_size))
        self._fill("attn_w", _new((1, 1, a, v), None, like, self.cell))
        self._fill("attn_v", _new((v,), None, like, self.cell))
        self._fill("query_kernel", _new((state_total, v), None, like, self.cell))
        self._fill("query_bias", _new((v,), 0.0, like, self.cell))
        self._fill("out_kernel", _new((self.cell.output_size + a, a), None, like, self.cell))
        self._fill("out_bias", _new((a,), 0.0, like, self.cell))
        self._depth = depth

    def _fill(self, attr: str, made: nn.Parameter) -> None:
        """``made`` moved into the placeholder an early optimizer may hold (``cells/lazy.adopt``)."""
        setattr(self, attr, adopt(getattr(self, attr), made))

    def zero_state(
        self, batch_size: int, dtype: Any = None, device: torch.device | str | None = None
    ) -> Any:
        return RNNCell.zero_state(self, batch_size, dtype, device=device)

    def _split_state(self, state: Any) -> tuple[Any, torch.Tensor, torch.Tensor]:
        if self.state_is_tuple:
            return state[0], state[1], state[2]
        n, a = self.cell.state_size, self.attn_size
        return state[:, :n], state[:, n : n + a], state[:, n + a :]

    def _attention(self, query: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        """``window [B, L, A]`` weighted by its softmax scores against ``query`` → ``[B, A]``."""
        features = window @ self.attn_w[0, 0]  # a 1x1 conv2d over the window
        y = torch.addmm(self.query_bias, query, self.query_kernel)
        scores = (self.attn_v * torch.tanh(features + y.unsqueeze(1))).sum(-1)
        weights = torch.softmax(scores, dim=-1)
        return (weights.unsqueeze(-1) * window).sum(1)

    def forward(self, inputs: Any, state: Any) -> tuple[torch.Tensor, Any]:
        """One step: ``inputs [B, D]``, ``state`` like ``state_size`` → ``(output [B, A], new state)``."""
        where = type(self).__name__
        x = _check_step_inputs(where, inputs)
        check_state(where, self.state_size, state, x.shape[0], state_dtype(x), x.device)
        if self._depth is None:
            self._create(x.shape[1], x)
        elif x.shape[1] != self._depth:
            raise ValueError(
                f"{where}: built for input_size={self._depth}, got inputs.shape[-1]={x.shape[1]}"
            )
        kernel = self.in_kernel
        assert kernel is not None  # built above
        mixed = autocast_enabled(
            x.device.type
        )  # autocast: bf16/fp16 inputs with float32 parameters
        if (x.dtype != kernel.dtype and not mixed) or x.device != kernel.device:
            raise TypeError(
                f"{where}: expected {kernel.dtype} inputs on {kernel.device} (the parameters'), got {x.dtype} "
                f"on {x.device}"
            )
        cell_state, attns, window = self._split_state(state)
        window = window.reshape(-1, self.attn_length, self.attn_size)
        cell_in = torch.addmm(self.in_bias, torch.cat([x, attns], 1), self.in_kernel)
        cell_out, new_cell_state = self.cell(cell_in, cell_state)
        new_attns = self._attention(torch.cat(nest.flatten(new_cell_state), 1), window)
        output = torch.addmm(
            self.out_bias,
            torch.cat([cell_out, new_attns], 1),
            self.out_kernel,
        )
        new_window = torch.cat([window[:, 1:], output.unsqueeze(1)], 1).reshape(x.shape[0], -1)
        if self.state_is_tuple:
            new_state: Any = (new_cell_state, new_attns, new_window)
        else:
            new_state = torch.cat([new_cell_state, new_attns, new_window], 1)
        # Under autocast the carried state keeps its dtype (float32), as every cell's does.
        return output, keep_state_dtype(x.device.type, new_state, state)

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        scope = f"{prefix}{self.tf_name}/"
        for rel, attr in _BEFORE_CELL:
            yield f"{scope}{rel}", None if unbuilt(getattr(self, attr)) else getattr(self, attr)
        yield from self.cell.named_tf_variables(scope)
        for rel, attr in _AFTER_CELL:
            yield f"{scope}{rel}", None if unbuilt(getattr(self, attr)) else getattr(self, attr)

    def extra_repr(self) -> str:
        return f"attn_length={self.attn_length}, attn_size={self.attn_size}, attn_vec_size={self.attn_vec_size}"
