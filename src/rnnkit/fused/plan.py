"""Which cell stacks torch's fused kernels compute exactly, and why not when they don't; the unrolls' choice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from .._checks import autocast_enabled
from ..cells.base import LayerCell, RNNCell
from ..cells.basic_rnn import BasicRNNCell
from ..cells.block import LSTMBlockCell
from ..cells.cudnn_compatible import CudnnCompatibleGRUCell, CudnnCompatibleLSTMCell
from ..cells.lstm import BasicLSTMCell, LSTMCell
from ..cells.multi import MultiRNNCell

logger = logging.getLogger("rnnkit.fused")


@dataclass(frozen=True)
class _Layer:
    cell: LayerCell
    mode: str  # "LSTM" | "GRU" | "RNN_TANH" | "RNN_RELU"
    hidden: int  # H
    proj: int  # P for LSTMCell(num_proj=P), else 0

    @property
    def out(self) -> int:
        return self.proj or self.hidden

    @property
    def key(self) -> tuple[str, int, int]:
        return self.mode, self.hidden, self.proj


@dataclass(frozen=True)
class FusedPlan:
    """How a fusable stack maps onto torch's kernels: its layers and the stack's state form."""

    layers: tuple[_Layer, ...]
    multi: MultiRNNCell | None  # the MultiRNNCell, or None for a single cell

    def describe(self) -> str:
        groups = _groups(self.layers)
        parts = []
        for group in groups:
            mode, hidden, proj = group[0].key
            kernel = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}[
                mode
            ]
            extra = f", proj_size={proj}" if proj else ""
            parts.append(
                f"torch._VF.{kernel}(num_layers={len(group)}, hidden_size={hidden}{extra})"
            )
        return " + ".join(parts)


def _hooked(module: torch.nn.Module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks)


# The block cells of tf.contrib.rnn / cudnn_rnn: tanh only; their fused_spec() says whether the kernel is exact.
_BLOCK_LSTMS = (LSTMBlockCell, CudnnCompatibleLSTMCell)
_FUSABLE = (BasicLSTMCell, LSTMCell, BasicRNNCell, *_BLOCK_LSTMS, CudnnCompatibleGRUCell)


def _leaf_layer(cell: RNNCell, where: str) -> tuple[_Layer | None, str]:
    kind = type(cell)
    if kind not in _FUSABLE:
        return (
            None,
            (
                f"{where} is a {kind.__name__}; torch's fused kernels compute only BasicLSTMCell, "
                "LSTMCell, BasicRNNCell, LSTMBlockCell and the CudnnCompatible cells (exact types)"
            ),
        )
    if _hooked(cell):
        return None, f"{where} ({kind.__name__}) has forward hooks, which a fused kernel would skip"
    if kind in _BLOCK_LSTMS or kind is CudnnCompatibleGRUCell:
        reason = cell.fused_spec()  # type: ignore[union-attr]
        if reason is not None:
            return None, f"{where}: {reason}"
        mode = "GRU" if kind is CudnnCompatibleGRUCell else "LSTM"
        return _Layer(cell, mode, cell.num_units, 0), ""  # type: ignore[arg-type]
    name = cell.activation_name
    if kind is BasicRNNCell:
        if name not in ("tanh", "relu"):
            return (
                None,
                (
                    f"{where} (BasicRNNCell) uses activation {name or repr(cell._activation)}; fused "
                    "kernels have tanh and relu only"
                ),
            )
        return _Layer(cell, "RNN_TANH" if name == "tanh" else "RNN_RELU", cell.num_units, 0), ""
    if name != "tanh":
        return (
            None,
            (
                f"{where} ({kind.__name__}) uses activation {name or repr(cell._activation)}; the fused "
                "LSTM kernel has tanh only"
            ),
        )
    proj = 0
    if kind is LSTMCell:
        if cell.use_peepholes:
            return None, f"{where} (LSTMCell) uses peepholes, which torch's fused LSTM lacks"
        if cell.cell_clip is not None:
            return None, f"{where} (LSTMCell) uses cell_clip, which torch's fused LSTM lacks"
        if cell.proj_clip is not None:
            return None, f"{where} (LSTMCell) uses proj_clip, which torch's fused LSTM lacks"
        proj = cell.num_proj or 0
    return _Layer(cell, "LSTM", cell.num_units, proj), ""


def plan(cell: Any) -> tuple[FusedPlan | None, str]:
    """Return ``(plan, "")`` when torch's fused kernels compute ``cell`` exactly, else ``(None, reason)``."""
    if not isinstance(cell, RNNCell):
        return None, f"{type(cell).__name__} is not an rnnkit cell"
    if type(cell) is MultiRNNCell:
        if _hooked(cell):
            return None, "the MultiRNNCell has forward hooks, which a fused kernel would skip"
        layers = []
        for i, sub in enumerate(cell.cells):
            layer, reason = _leaf_layer(sub, f"cells[{i}]")
            if layer is None:
                return None, reason
            layers.append(layer)
        return FusedPlan(tuple(layers), cell), ""
    layer, reason = _leaf_layer(cell, "the cell")
    if layer is None:
        return None, reason
    return FusedPlan((layer,), None), ""


def fusable(cell: Any) -> bool:
    """Whether ``dynamic_rnn(cell, x)`` takes the fused path in auto mode (for a single, non-nested input)."""
    return plan(cell)[0] is not None


def explain(cell: Any) -> str:
    """Say which path ``dynamic_rnn(cell, x)`` takes (for one ``[B, T, D]`` input tensor) and why.

    >>> import rnnkit as rk
    >>> print(rk.fused.explain(rk.MultiRNNCell([rk.BasicLSTMCell(8), rk.BasicLSTMCell(8)])))
    fused: torch._VF.lstm(num_layers=2, hidden_size=8)
    >>> print(rk.fused.explain(rk.LSTMCell(8, use_peepholes=True)))
    step loop: the cell (LSTMCell) uses peepholes, which torch's fused LSTM lacks
    """
    layer_explain = getattr(cell, "explain", None)
    if not isinstance(cell, RNNCell) and callable(layer_explain):
        return str(
            layer_explain()
        )  # sequence layers (LSTMBlockFusedCell, CudnnLSTM...) say it themselves
    fused_plan, reason = plan(cell)
    if fused_plan is None:
        return f"step loop: {reason}"
    return f"fused: {fused_plan.describe()}"


def _groups(layers: tuple[_Layer, ...]) -> list[list[_Layer]]:
    """Consecutive layers of one (mode, H, P): one kernel call each (torch's num_layers)."""
    groups: list[list[_Layer]] = []
    for layer in layers:
        if groups and groups[-1][0].key == layer.key:
            groups[-1].append(layer)
        else:
            groups.append([layer])
    return groups


def decide(where: str, cell: Any, inputs: Any, fused: Any) -> FusedPlan | None:
    """The unrolls' choice: a plan to run fused, or None for the step loop (``fused``: None auto / True / False).

    ``fused=True`` on a stack the kernels cannot compute raises ValueError with the reason. Every decision is
    logged at DEBUG level on the ``rnnkit.fused`` logger.
    """
    if fused is not None and not isinstance(fused, bool):
        raise TypeError(f"{where}: expected fused to be None, True or False, got {fused!r}")
    if fused is False:
        logger.debug("%s: step loop (fused=False)", where)
        return None
    if not isinstance(inputs, torch.Tensor):
        fused_plan, reason = (
            None,
            "the inputs are a nested structure; fused kernels take one [B, T, D] tensor",
        )
    elif inputs.dim() != 3:
        fused_plan, reason = (
            None,
            f"the inputs have rank {inputs.dim()}; fused kernels take [B, T, D]",
        )
    elif autocast_enabled(inputs.device.type):
        # The kernels would carry c and h in bf16/fp16 from step to step; the step loop keeps them in float32.
        fused_plan, reason = (
            None,
            "autocast is on; the step loop keeps the recurrent state in float32",
        )
    else:
        fused_plan, reason = plan(cell)
    if fused_plan is None:
        if fused:
            raise ValueError(
                f"{where}: fused=True, but torch's fused kernels cannot run this: {reason}"
            )
        logger.debug("%s: step loop (%s)", where, reason)
        return None
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s: fused path (%s)", where, fused_plan.describe())
    return fused_plan
