"""NOTE [fast fused call]: a plain ``dynamic_rnn(cell, x)`` on a leaf cell or a stack of them, without re-deciding
its plan.

Why: between two ~7 ms kernel calls at the mnist shape, ``dynamic_rnn``'s Python (argument checks, the plan, the
per-sequence hook, the stack machinery) cost about 200 µs a call, 3% of the call: interpreter code and data
come back into cache after the kernel, so Python costs 2-3x its tight-loop time there
(``benchmarks/bench_call_overhead.py``). The least a fused call must do is check its inputs, look the weights
up, make zero states, call the kernel and pack the state; this module does only that, for calls that the general
path has already planned once. The same holds for a cell that runs a sequence kernel (``rnnkit.kernels``): the
kernel chosen once is called again with the cell's zero state.

When: the call is plain (one CPU tensor ``[B, T, D]``; no ``sequence_length``, ``initial_state``, ``dtype``,
``swap_memory``, ``reset``, ``return_all_states``; ``fused`` None, True or False, served only by an entry of what
the general path would choose for it: ``_serves``), autocast is off, nothing is being
traced or compiled, and the cell is a *leaf* (no submodules: no wrapper) or a ``MultiRNNCell`` of leaves (its
*members*: the stack and its cells), none of which has forward hooks or a ``_begin_sequence``. A fused plan must
run in one kernel call (its layers of one kind and size: ``num_layers``) with no dropout and no projection; a
sequence kernel (leaf cells only) must still accept the inputs (``native_reason``, ``trace_reason``: device, dtype,
autocast, a trace or export). Everything else takes the general path, which is also where the entries are made.
Why stacks: ptb_word_lm's small stack (2 x LSTM(200), B=20, T=20) spent about 350 us of a 7.3 ms no-grad call in
the general path's Python, 5% (1 thread; 315 us of 4.1 ms at 2).

Exactness: an entry is used only while the cell's configuration is the one it was planned for: the stamp is, for
each member, its class, its ``forward``, ``input_projection``, ``recurrent_step``, ``fused_spec`` and
``check_inputs`` (one of them patched on the class after the first call is seen; other class attributes patched
later are not) and ``RNNCell.config_epoch``, which every attribute assignment on the cell moves
(``train()``/``eval()``, a new parameter, a changed option or activation); and for a stack, which cell objects
are its layers (a layer replaced in its ``ModuleList`` moves no epoch). Parameters changed in place (an optimizer
step, ``.data``, ``.double()``) need no new plan: the weights are read on every call (NOTE [fused weights cache]).
Hooks are looked at on every call.

Where: in the cell's own ``__dict__`` (``REMEMBERED_PLAN``), which ``RNNCell.__getstate__`` leaves out, so a
copied or pickled cell never carries its original's plan (whose weight functions are bound to the original). The
plan refers to the cell, a cycle that Python's collector frees with the cell. (A weak dictionary keyed by the cell,
as first built, never freed it: its value referred to its key. Round two's sixth stop found that leak.) Only CPU
calls are remembered, so no device memory waits for the collector.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch

from .._checks import autocast_enabled
from ..cells.base import REMEMBERED_PLAN, LayerCell, RNNCell
from ..cells.fused_spec import FusedLayer, has_hooks
from ..cells.multi import MultiRNNCell
from ..kernels._inputs import native_reason, trace_reason
from ..kernels.dispatch import SequenceRunner
from .plan import FusedPlan, groups, logger
from .run import kernel_call, layer_states, layer_weights

__all__ = ["remember", "remember_kernel", "run_remembered"]

_compiling = getattr(torch.compiler, "is_compiling", lambda: False)  # torch >= 2.3


@dataclass(frozen=True)
class _Entry:
    """A remembered plan: torch's fused kernel for one call over ``layers`` (``plan``), or a sequence kernel."""

    stamp: tuple
    plan: FusedPlan | None = None
    layers: tuple[FusedLayer, ...] = ()
    kernel: SequenceRunner | None = None
    #: the kernel was chosen by a ``fused=False`` call: for a cell torch's kernels compute, auto would plan those
    unfused: bool = False
    #: a fused plan's zero initial states ``[layers, B, out]`` by ``(B, dtype)`` (NOTE [kept zero state])
    zeros: dict[tuple[int, torch.dtype], torch.Tensor] = field(default_factory=dict)


def _member_stamp(member: RNNCell) -> tuple:
    cls = type(member)
    methods = (
        cls.forward,
        cls.input_projection,
        cls.recurrent_step,
        cls.fused_spec,
        cls.check_inputs,
    )
    # (the member itself: a stack's layer replaced in its ModuleList moves no epoch)
    return member, cls, methods, member.config_epoch


def _stamp(cell: RNNCell) -> tuple:
    """What an entry's plan depends on besides the parameters' values (NOTE [fast fused call], exactness): each
    member's stamp. (A leaf's without a loop: this runs on every fast call.)"""
    if type(cell) is MultiRNNCell:
        return (_member_stamp(cell), *[_member_stamp(c) for c in cell.cells])
    return _member_stamp(cell)


def _leaf(cell: RNNCell) -> bool:
    return not cell._modules and getattr(type(cell), "_begin_sequence", None) is None


def _may_skip_plan(cell: RNNCell) -> bool:
    """Whether nothing but the members' own attributes decides the plan and no per-sequence hook needs calling:
    a leaf, or a ``MultiRNNCell`` of leaves (exactly: a subclass may compose its cells otherwise)."""
    if type(cell) is MultiRNNCell:
        return getattr(MultiRNNCell, "_begin_sequence", None) is None and all(
            isinstance(c, RNNCell) and _leaf(c) for c in cell.cells
        )
    return _leaf(cell)


def _hooked(cell: RNNCell) -> bool:
    """Whether a member has forward hooks."""
    if type(cell) is MultiRNNCell:
        return has_hooks(cell) or any(has_hooks(c) for c in cell.cells)
    return has_hooks(cell)


def _accepted(cell: RNNCell, inputs: torch.Tensor) -> bool:
    """Whether ``cell``'s ``check_inputs`` would accept ``inputs`` (outside autocast), asked cheaply: a leaf or
    each layer of a stack is a built ``LayerCell`` whose ``check_inputs`` is ``LayerCell``'s, whose first
    parameter has the inputs' dtype and device, and whose input size is the inputs' depth (the layer below's
    output size). False means "ask ``check_inputs``", which raises with its message or accepts. (Its call on one
    step's ``select`` costs 2-3x more, between kernels.)"""
    depth = inputs.shape[-1]
    if type(cell) is not MultiRNNCell:
        return _accepts_depth(cell, depth, inputs)
    for layer in cell.cells:
        if not _accepts_depth(layer, depth, inputs):
            return False
        depth = layer.output_size
    return True


def _accepts_depth(cell: RNNCell, depth: int, inputs: torch.Tensor) -> bool:
    if not isinstance(cell, LayerCell) or type(cell).check_inputs is not LayerCell.check_inputs:
        return False
    if not cell._tf_params:
        return False
    kernel = cell._parameters.get(cell._tf_params[0][1])
    return (
        kernel is not None
        and depth == cell.input_size
        and inputs.dtype is kernel.dtype
        # (the fast call's device, asked by is_cpu: comparing two device objects cost ~20 us more here)
        and inputs.is_cpu
        and kernel.is_cpu
    )


def _keep(cell: RNNCell, entry: _Entry) -> None:
    # (straight into __dict__: RNNCell.__setattr__ would move the epoch, and with it the stamp just taken)
    cell.__dict__[REMEMBERED_PLAN] = entry


def remember(cell: RNNCell, plan: FusedPlan, inputs: torch.Tensor) -> None:
    """After the general path planned a plain call on ``cell`` with ``inputs``: keep the plan when the fast call
    may use it."""
    if not inputs.is_cpu:  # (the fast call's own question, asked the same way)
        return
    layers = plan.spec.layers
    if len(groups(layers)) != 1 or not _may_skip_plan(cell) or plan.cell is not cell:
        return  # (one group: one kernel call, and no dropout between layers)
    if layers[0].proj or layers[0].input_dropout or layers[-1].output_dropout:
        return
    _keep(cell, _Entry(_stamp(cell), plan, layers))


def remember_kernel(cell: RNNCell, kernel: SequenceRunner, inputs: Any, unfused: bool) -> None:
    """After the general path chose a sequence kernel (``rnnkit.kernels``) for a plain call on ``cell``
    (``unfused``: one with ``fused=False``): keep it when the fast call may use it. Its native loops' questions
    about the inputs (device, dtype, autocast) and a trace are asked again on every call."""
    if isinstance(inputs, torch.Tensor) and inputs.is_cpu and _leaf(cell):
        _keep(cell, _Entry(_stamp(cell), kernel=kernel, unfused=unfused))


# NOTE [kept zero state]: a fused plan's zero ``h0`` / ``c0`` is made once per batch size and dtype and kept in its
# entry. Why: a new ``[1, B, H]`` zero tensor cost 24-27 us between two mnist-shape kernel calls (1 and 2 threads,
# stamped step by step after a kernel call); kept, the fast call ran 15-19 us faster (this module's call before and
# after, alternating in random order in one process, inference). Safe: the kernels only read their initial state
# (a recording call saves it for backward, where nothing writes it either), it is never returned, and it is made
# outside inference mode, so that a later recording call may save it.
# (batch sizes and dtypes kept per entry; more, as with batches of every size, start the dict again)
_KEPT_ZEROS = 8


def _zero_state(entry: _Entry, batch: int, size: int, dtype: torch.dtype) -> torch.Tensor:
    """A new zero ``[layers, batch, size]`` CPU tensor, kept in ``entry`` (NOTE [kept zero state])."""
    if len(entry.zeros) >= _KEPT_ZEROS:
        entry.zeros.clear()
    with torch.inference_mode(False):
        zero = torch.zeros(len(entry.layers), batch, size, dtype=dtype)
        entry.zeros[(batch, dtype)] = zero
    return zero


def _serves(entry: _Entry, fused: bool | None) -> bool:
    """Whether the general path, asked with ``fused``, would choose what ``entry`` holds: a fused plan serves
    None and True; a sequence kernel serves False, and None unless a ``fused=False`` call chose it (auto might
    plan torch's kernels for that cell); True on a cell without a plan must raise, as the general path does."""
    if entry.kernel is None:
        return fused is not False
    return fused is False or (fused is None and not entry.unfused)


def run_remembered(
    cell: RNNCell, inputs: torch.Tensor, time_major: bool, fused: bool | None = None
) -> tuple[torch.Tensor, Any] | None:
    """``(outputs, final_state)`` of a plain call (with ``fused``) through the remembered plan, or None: take
    the general path."""
    entry = cell.__dict__.get(REMEMBERED_PLAN)
    if (
        entry is None
        # (is_cpu, not inputs.device.type: making a device object cost ~20 us more here, between kernel calls)
        or not inputs.is_cpu
        or inputs.dim() != 3
        or not inputs.is_floating_point()
        or not _serves(entry, fused)
    ):
        return None
    if entry.stamp != _stamp(cell) or _hooked(cell):
        return None
    if autocast_enabled("cpu") or torch.jit.is_tracing() or _compiling():
        return None
    batch = inputs.shape[1 if time_major else 0]
    if batch == 0 or inputs.shape[0 if time_major else 1] == 0:
        return None  # the general path says what is wrong with an empty sequence
    if entry.kernel is not None and (native_reason(inputs) or trace_reason()):
        return None  # the sequence kernel's own questions, as kernel_for asks them
    if not _accepted(cell, inputs):  # then the general path's messages for depth, dtype, device
        cell.check_inputs(inputs.select(0 if time_major else 1, 0))
    if entry.kernel is not None:
        state = cell.zero_state(batch, inputs.dtype, device=inputs.device)
        return entry.kernel(inputs, state, None, time_major)
    layers = entry.layers
    assert layers and entry.plan is not None
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "dynamic_rnn: fused path, the plan of an earlier call (%s)", entry.plan.describe()
        )
    zero = entry.zeros.get((batch, inputs.dtype))  # h0 and c0 (no projection: the same size)
    mode = layers[0].mode
    if zero is None:
        zero = _zero_state(entry, batch, layers[0].out, inputs.dtype)
    c0 = zero if mode == "LSTM" else None
    weights, keep = layer_weights(layers)  # (keep: held until the kernel call has returned)
    out, h_n, c_n = kernel_call(
        mode, inputs, None, zero, c0, weights, len(layers), False, not time_major
    )
    del weights, keep  # (pooled weights may go back to the pool: NOTE [pooled kernel weights])
    return out, entry.plan.spec.from_kernel(layer_states(h_n, c_n))
