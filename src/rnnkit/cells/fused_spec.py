"""The public fused contract: how torch's fused RNN kernels compute a cell exactly (``RNNCell.fused_spec``).

A cell that a kernel computes returns a ``FusedSpec``: one ``FusedLayer`` per kernel layer (mode, sizes, and a
function giving the weights in torch's layout, computed inside autograd from the cell's TF-layout parameters so
that gradients reach them) plus the two conversions between the cell's state and the kernels' per-layer
``(h, c)``. ``MultiRNNCell`` composes its layers' specs. ``rnnkit.fused`` reads nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "FusedLayer",
    "FusedSpec",
    "KernelState",
    "lstm_spec",
    "lstm_torch_weights",
    "rnn_spec",
    "stack_specs",
]

#: One layer's state in the kernels' form: ``(h [B, out], c [B, H] or None)`` (``c`` for LSTM layers only).
KernelState = tuple[torch.Tensor, "torch.Tensor | None"]


@dataclass(frozen=True)
class FusedLayer:
    """One layer of a fused kernel call.

    ``mode``: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"`` (torch's kernels); ``hidden``: ``H``; ``proj``: the LSTM
    projection size ``P`` (torch's ``proj_size``) or 0; ``weights()``: ``[weight_ih [G*H, D], weight_hh [G*H, out],
    bias_ih [G*H], bias_hh [G*H]]`` (+ ``weight_hr [P, H]`` when ``proj``) in torch's layout and gate order, built
    from the cell's current parameters on every call (``G`` = 4 for LSTM, 3 for GRU, 1 for RNN).
    """

    mode: str
    hidden: int
    proj: int
    weights: Callable[[], list[torch.Tensor]]

    @property
    def out(self) -> int:
        """The layer's output (and ``h``) size: ``proj`` or ``hidden``."""
        return self.proj or self.hidden

    @property
    def key(self) -> tuple[str, int, int]:
        """Consecutive layers with one key can run in one kernel call (torch's ``num_layers``)."""
        return self.mode, self.hidden, self.proj


@dataclass(frozen=True)
class FusedSpec:
    """How torch's fused kernels compute a cell: its ``layers``, and its state to / from the kernels' form.

    ``to_kernel(state)`` gives one ``(h, c)`` per layer; ``from_kernel(list of (h, c))`` gives the state back in
    the cell's own form (``LSTMStateTuple``, a concatenation, a stack's tuple...).
    """

    layers: tuple[FusedLayer, ...]
    to_kernel: Callable[[Any], list[KernelState]]
    from_kernel: Callable[[Sequence[KernelState]], Any]


def lstm_spec(
    hidden: int,
    proj: int,
    weights: Callable[[], list[torch.Tensor]],
    unpack: Callable[[Any], tuple[torch.Tensor, torch.Tensor]],
    pack: Callable[[torch.Tensor, torch.Tensor], Any],
) -> FusedSpec:
    """The spec of one LSTM layer; ``unpack(state) -> (c, h)`` and ``pack(c, h) -> state`` are the cell's own
    conversions of its public state form (so ``state_is_tuple`` is handled in one place, the cell)."""

    def to_kernel(state: Any) -> list[KernelState]:
        c, h = unpack(state)
        return [(h, c)]

    def from_kernel(hcs: Sequence[KernelState]) -> Any:
        h, c = hcs[0]
        assert c is not None  # an LSTM layer always carries c
        return pack(c, h)

    return FusedSpec((FusedLayer("LSTM", hidden, proj, weights),), to_kernel, from_kernel)


def lstm_torch_weights(
    kernel: torch.Tensor,
    bias: torch.Tensor,
    forget_bias: float,
    input_size: int,
    projection: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """TF's LSTM layout (``kernel [D+P, 4H]``, gates ``i, j, f, o``) → torch's, gates ``i, f, j, o``::

        weight_ih = kernel[:D, (i, f, j, o)].T   [4H, D]      weight_hh = kernel[D:, (i, f, j, o)].T   [4H, P]
        bias_ih = bias[(i, f, j, o)] + forget_bias on f;  bias_hh = 0;  weight_hr = projection.T [P, H]

    Computed inside autograd, so gradients reach the TF-layout parameters.
    """
    i, j, f, o = kernel.chunk(4, dim=1)
    reordered = torch.cat([i, f, j, o], 1)
    b_i, b_j, b_f, b_o = bias.chunk(4)
    bias_ih = torch.cat([b_i, b_f + forget_bias, b_j, b_o])
    d = input_size
    weights = [reordered[:d].t(), reordered[d:].t(), bias_ih, torch.zeros_like(bias_ih)]
    if projection is not None:
        weights.append(projection.t())
    return weights


def rnn_spec(mode: str, hidden: int, weights: Callable[[], list[torch.Tensor]]) -> FusedSpec:
    """The spec of one layer whose state is ``h`` alone (``mode`` ``"GRU"``, ``"RNN_TANH"``, ``"RNN_RELU"``)."""
    return FusedSpec(
        (FusedLayer(mode, hidden, 0, weights),),
        lambda state: [(state, None)],
        lambda hcs: hcs[0][0],
    )


def stack_specs(
    specs: Sequence[FusedSpec],
    split: Callable[[Any], Sequence[Any]],
    join: Callable[[list[Any]], Any],
) -> FusedSpec:
    """Layers stacked in depth: ``split`` / ``join`` take the stack's state to per-cell states and back."""
    sizes = [len(spec.layers) for spec in specs]

    def to_kernel(state: Any) -> list[KernelState]:
        return [hc for spec, s in zip(specs, split(state)) for hc in spec.to_kernel(s)]

    def from_kernel(hcs: Sequence[KernelState]) -> Any:
        states, start = [], 0
        for spec, n in zip(specs, sizes):
            states.append(spec.from_kernel(hcs[start : start + n]))
            start += n
        return join(states)

    layers = tuple(layer for spec in specs for layer in spec.layers)
    return FusedSpec(layers, to_kernel, from_kernel)
