"""The public fused contract: how torch's fused RNN kernels compute a cell exactly (``RNNCell.fused_spec``).

A cell that a kernel computes returns a ``FusedSpec``: one ``FusedLayer`` per kernel layer (mode, sizes, and a
function giving the weights in torch's layout, computed inside autograd from the cell's TF-layout parameters so
that gradients reach them) plus the two conversions between the cell's state and the kernels' per-layer
``(h, c)``. ``MultiRNNCell`` composes its layers' specs. ``rnnkit.fused`` reads nothing else.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ._weights_cache import cached_weights, keep_weights
from .lstm_layout import native_layout, native_relayout, tf_lstm_to_torch

__all__ = [
    "FusedLayer",
    "FusedSpec",
    "KernelState",
    "SequenceDropout",
    "has_hooks",
    "hooks_reason",
    "lstm_kernel_weights",
    "lstm_spec",
    "lstm_torch_weights",
    "rnn_spec",
    "stack_specs",
    "weights_scope",
    "with_dropout",
]


def has_hooks(module: nn.Module) -> bool:
    """Whether ``module`` has forward (pre-)hooks: then every step must go through its ``__call__``."""
    return bool(module._forward_hooks or module._forward_pre_hooks)


def hooks_reason(cell: nn.Module) -> str | None:
    """Why no fused kernel may compute ``cell``: it has forward hooks, which must see every step (a kernel runs
    all steps in one call). None when it has none. Each container asks it of its own cells."""
    if has_hooks(cell):
        return f"{type(cell).__name__} has forward hooks, which a fused kernel would skip"
    return None


#: One layer's state in the kernels' form: ``(h [B, out], c [B, H] or None)`` (``c`` for LSTM layers only).
KernelState = tuple[torch.Tensor, "torch.Tensor | None"]


@dataclass(frozen=True, eq=False)
class SequenceDropout:
    """Elementwise inverted dropout on a whole ``[T, B, size]`` sequence between kernel calls::

        v' = v / keep * floor(keep + u),  u ~ U[0, 1) drawn from ``generator(device)`` (None: torch's global one)

    A fresh mask for every element of every step: the same law as a ``DropoutWrapper`` step drawing a ``[B, size]``
    mask per step. ``check(x)`` (optional) checks the sequence's step depth before it is dropped.
    """

    keep: float
    generator: Callable[[torch.device], torch.Generator | None]
    check: Callable[[torch.Tensor], None] | None = None


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
    #: elementwise dropout on the layer's input / output sequence, applied in order (``DropoutWrapper``)
    input_dropout: tuple[SequenceDropout, ...] = ()
    output_dropout: tuple[SequenceDropout, ...] = ()
    #: optional, for the fused path's own kernel call: ``() -> (weights, keep)``, ``weights()``'s values, valid
    #: only while the caller holds ``keep`` and never kept past that call (NOTE [pooled kernel weights])
    kernel_weights: Callable[[], tuple[list[torch.Tensor], Any]] | None = None

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
    kernel_weights: Callable[[], tuple[list[torch.Tensor], Any]] | None = None,
) -> FusedSpec:
    """The spec of one LSTM layer; ``unpack(state) -> (c, h)`` and ``pack(c, h) -> state`` are the cell's own
    conversions of its public state form (so ``state_is_tuple`` is handled in one place, the cell);
    ``kernel_weights``: ``FusedLayer.kernel_weights``."""

    def to_kernel(state: Any) -> list[KernelState]:
        c, h = unpack(state)
        return [(h, c)]

    def from_kernel(hcs: Sequence[KernelState]) -> Any:
        h, c = hcs[0]
        assert c is not None  # an LSTM layer always carries c
        return pack(c, h)

    layer = FusedLayer("LSTM", hidden, proj, weights, kernel_weights=kernel_weights)
    return FusedSpec((layer,), to_kernel, from_kernel)


# The no-grad weights cache is NOTE [fused weights cache] (_weights_cache.py).
# NOTE [one re-layout per scope]: inside ``weights_scope(store)`` the re-layout of each kernel is computed once per
# (kernel, bias, versions) into ``store`` and shared by every call: a recording call gets views of it through its
# own autograd node (lstm_layout.py), so gradients still reach the TF-layout parameters. swap_memory's recomputed
# chunks (fused/checkpointed.py) run each chunk's kernel calls in one scope that lives as long as their graph:
# without it every chunk made its own weight copies, and oneDNN re-prepared its weights for each call. The
# scope's entries cannot go stale unnoticed: the recomputed chunks check the parameters' versions before they
# re-run.
_SCOPE: contextvars.ContextVar[dict[Any, tuple[torch.Tensor, ...]] | None] = contextvars.ContextVar(
    "rnnkit_fused_weights_scope", default=None
)
_CONSTANTS: dict[tuple[Any, ...], torch.Tensor] = {}
_compiling = getattr(torch.compiler, "is_compiling", lambda: False)  # torch >= 2.3


def _cacheable(*tensors: Any) -> bool:
    """Whether tensors made now may be kept across calls: never while torch.export / torch.compile / jit.trace
    records a graph (their tensors are fake or symbolic, and would poison every later eager call), and only for
    plain tensors (not a subclass such as a FakeTensor or a functional wrapper)."""
    if _compiling() or torch.jit.is_tracing():
        return False
    # (a loop, not all(...): this runs on every fused call, NOTE [fused weights cache])
    for t in tensors:
        if t is not None and type(t) is not torch.Tensor and type(t) is not nn.Parameter:
            return False
    return True


def _constant(size: int, hidden: int, value: float, like: torch.Tensor) -> torch.Tensor:
    """A cached ``[size]`` zero vector with ``value`` on torch's ``f`` block (value 0: torch's ``bias_hh``)."""
    cacheable = _cacheable(like)
    key = (size, hidden, value, like.dtype, like.device)
    t = _CONSTANTS.get(key) if cacheable else None
    if t is None:
        # A normal tensor even when first made under inference_mode: a training call saves it for backward.
        with torch.inference_mode(False), torch.no_grad():
            t = torch.zeros(size, dtype=like.dtype, device=like.device)
            t[hidden : 2 * hidden] = value
        if cacheable:
            _CONSTANTS[key] = t
    return t


# NOTE [lean re-layout]: a fused call on plain CPU parameters without a projection (every call of a plain LSTM)
# gets its weights with the fewest Python steps: its constants from a dict keyed by what decides them, then, in a
# no-grad call, one method of the C loops that checks only what the C code reads, and while recording the
# re-layout's autograd Function. Python runs cold right after a kernel call, so every step counts: at the mnist
# shape the general route below (its cache, scope and tracing questions, two constant lookups, more calls deep)
# cost 40-105 us more per inference call, 0.973-0.983 of torch.nn.LSTM's speed against 0.988-0.991 this way (1 and
# 2 threads, the two alternating in one process; issue 19). Anything it does not cover (a scope, a trace or
# compilation, a subclass, another device or dtype; in a no-grad call a non-contiguous or mis-shaped parameter)
# takes the general route.
_LEAN_CONSTANTS: dict[tuple[int, float, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}


def _lean_weights(
    kernel: torch.Tensor,
    bias: torch.Tensor,
    forget_bias: float,
    input_size: int,
    recording: bool,
    leased: bool = False,
) -> tuple[list[torch.Tensor], Any] | None:
    """``(weights, keep)`` by the lean route, or None where it does not apply; ``leased``: for the fused path's own
    kernel call (NOTE [pooled kernel weights]; ``keep`` is None where nothing is the caller's to hold)."""
    constants = _lean_constants(kernel, bias, forget_bias)
    if constants is None:
        return None
    # recording: one autograd node (lstm_layout.py; none for frozen parameters), the C loops inside it
    if recording:
        weights = tf_lstm_to_torch(kernel, bias, input_size, constants[0], leased=leased)
        return [*weights, constants[1]], None
    native = native_layout()
    return (
        None if native is None else native.inference(kernel, bias, input_size, *constants, leased)
    )


def _lean_constants(
    kernel: torch.Tensor, bias: torch.Tensor, forget_bias: float
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The lean route's cached ``(forget-bias vector, zero bias_hh)`` for these parameters, or None where the
    route does not apply (a trace or compilation, a subclass, another device, a weights scope)."""
    # (_cacheable first: under torch.export / compile it answers before the ContextVar is read; reading it there
    # cost an ONNX export of a fused LSTM its dynamic time axis, tests/export/test_export.py)
    if not _cacheable(kernel, bias) or not kernel.is_cpu or _SCOPE.get() is not None:
        return None
    # (no device in the key: constants are made for CPU kernels only)
    key = (kernel.shape[-1], forget_bias, kernel.dtype)
    constants = _LEAN_CONSTANTS.get(key)
    if constants is None:
        if kernel.dim() != 2:
            return None
        hidden = kernel.shape[1] // 4
        constants = _LEAN_CONSTANTS[key] = (
            _constant(4 * hidden, hidden, forget_bias, kernel),
            _constant(4 * hidden, hidden, 0.0, kernel),
        )
    return constants


# NOTE [pooled kernel weights]: the fused path's own kernel call (run.py, fast.py) may get its LSTM layers'
# re-laid-out weights in buffers leased from the sequence kernels' pool (kernels/_workspace.py) instead of new
# tensors. Why: a new tensor whose memory glibc's malloc has just handed back to the system comes from fresh pages
# that fault on first touch, and a training step's temporaries make it hand memory back all the time. ptb_word_lm's
# small shape (2 x LSTM(200), B=20, T=20), alternating in one process: training steps with pooled weights took
# 1,577 page faults against 2,114 and ran 0.35-1.3 ms faster at 1 thread, 0.7-1.0 ms at 2 (issue 19,
# BENCHMARKS.md). A loop of no-grad calls had no faults either way and ran faster with new tensors (which reuse
# the last call's blocks, probably still in cache); so a no-grad call leases only kernels too large for malloc's
# heap (kernels/lstm_layout.py has both floors).
# - Outside autograd recording the caller holds the lease and drops it once its kernel call has returned.
# - While recording, the kernel saves the weights for its backward, so the re-layout's autograd node holds the
#   lease (lstm_layout.py): the buffers go back to the pool only when the graph that saved them is gone. A
#   training loop's next forward runs while the last graph lives; the pool keeps two sets per shape for that.
# Safe because no leased tensor leaves the fused call: ``layer.weights()``, the public contract, still returns new
# tensors, and the pool hands a set to one lease at a time. (A saved-tensors hook that kept a detached alias of a
# saved tensor beyond its graph would see it change; torch's own hooks copy or keep the tensor itself.)
def lstm_kernel_weights(
    kernel: torch.Tensor, bias: torch.Tensor, forget_bias: float, input_size: int
) -> tuple[list[torch.Tensor], Any]:
    """``(weights, keep)``: ``lstm_torch_weights(kernel, bias, forget_bias, input_size)`` for the fused path's own
    kernel call, valid while the caller holds ``keep`` (NOTE [pooled kernel weights]; ``keep`` is None where the
    weights are new tensors, or pooled ones that the autograd graph holds)."""
    lean = _lean_weights(kernel, bias, forget_bias, input_size, torch.is_grad_enabled(), True)
    if lean is not None:
        return lean
    return lstm_torch_weights(kernel, bias, forget_bias, input_size), None


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

    Computed inside autograd while recording, so gradients reach the TF-layout parameters; otherwise re-laid out
    by the C loops on every call (by the shortest route where it can: NOTE [lean re-layout]), or,
    where they cannot run (another device, no compiler), kept while the parameters hold the same values (NOTE
    [fused weights cache]); shared within a ``weights_scope``.
    """
    if projection is None:  # NOTE [lean re-layout]
        lean = _lean_weights(kernel, bias, forget_bias, input_size, torch.is_grad_enabled())
        if lean is not None:
            return lean[0]  # (new tensors: nothing to keep)
    params = (kernel, bias, projection)
    recording = torch.is_grad_enabled() and (
        kernel.requires_grad
        or bias.requires_grad
        or (projection is not None and projection.requires_grad)
    )
    tracing = not _cacheable(*params)
    # (where the C loops re-lay out the kernel, that is cheaper than the cache's check: NOTE [fused weights cache])
    keep = not recording and not tracing and _SCOPE.get() is None and not native_relayout(kernel)
    if keep:  # NOTE [fused weights cache]
        cached = cached_weights(kernel, (bias, projection), (forget_bias, input_size))
        if cached is not None:
            return cached
    hidden = kernel.shape[1] // 4
    forget = _constant(4 * hidden, hidden, forget_bias, bias)
    scope = None if tracing else _SCOPE.get()
    values = None
    if scope is not None:  # NOTE [one re-layout per scope]
        versions = tuple(None if p is None else p._version for p in params)
        scope_key = (id(kernel), id(bias), forget_bias, input_size, versions)
        values = scope.get(scope_key)
        if values is None:
            with torch.no_grad():
                values = scope[scope_key] = tf_lstm_to_torch(kernel, bias, input_size, forget)
    weights = [
        *tf_lstm_to_torch(
            kernel, bias, input_size, forget, tracing, values
        ),  # one node: lstm_layout.py
        _constant(4 * hidden, hidden, 0.0, bias),
    ]
    if projection is not None:
        weights.append(projection.t())
    if keep:
        weights = [w.contiguous() for w in weights]  # (the projection's transpose)
        keep_weights(kernel, (bias, projection), (forget_bias, input_size), weights)
    return weights


@contextlib.contextmanager
def weights_scope(store: dict[Any, tuple[torch.Tensor, ...]]) -> Iterator[None]:
    """Within: each LSTM kernel's TF -> torch re-layout is computed once into ``store`` and shared by the calls
    (NOTE [one re-layout per scope]); pass the same ``store`` to every piece of one computation."""
    token = _SCOPE.set(store)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def with_dropout(
    spec: FusedSpec, input_dropout: SequenceDropout | None, output_dropout: SequenceDropout | None
) -> FusedSpec:
    """``spec`` with dropout on its first layer's input and after its last layer's output (outermost last)."""
    layers = list(spec.layers)
    if input_dropout is not None:
        # the outer wrapper drops the input before the inner one sees it
        drops = (input_dropout, *layers[0].input_dropout)
        layers[0] = dataclasses.replace(layers[0], input_dropout=drops)
    if output_dropout is not None:
        drops = (*layers[-1].output_dropout, output_dropout)
        layers[-1] = dataclasses.replace(layers[-1], output_dropout=drops)
    return FusedSpec(tuple(layers), spec.to_kernel, spec.from_kernel)


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
