"""The cell contract (TF1's ``RNNCell``) and the shared machinery of cells that own parameters.

A cell is a ``torch.nn.Module`` that computes one time step::

    output, new_state = cell(inputs, state)      # inputs [B, D]; state nested like cell.state_size

``state_size`` and ``output_size`` are ints or nested structures of ints (``LSTMStateTuple(c=H, h=H)``);
``zero_state(batch_size)`` gives matching zeros. Unrolls (``dynamic_rnn``, ``static_rnn``) accept any such cell.

Parameters are created from the input depth ``D``: at construction when ``input_size=D`` is given, else by the
first call, ``cell.build(D)`` or ``rk.build(cell, x)``: till then torch UninitializedParameters (cells/lazy.py).
"""

from __future__ import annotations

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
from .fused_spec import FusedSpec, has_hooks
from .lazy import already_built, create_in_place, placeholder, unbuilt
from .state import check_state, keep_state_dtype, state_dtype
from .tf_params import glorot_uniform_
from .weight_views import active_views, shared_weight_views

__all__ = [
    "RNNCell",
    "LayerCell",
    "check_state",
    "state_dtype",
    "glorot_uniform_",
    "keep_state_dtype",
    "check_cell",
    "check_ranked_tensor",
    "required_property",
    "has_hooks",
    "unroll_parts",
    "shared_weight_views",
]

Initializer = Callable[[torch.Tensor], Any]


def check_cell(where: str, cell: Any, name: str = "cell") -> RNNCell:
    """The one "is this a cell" check: return ``cell`` if it is an ``RNNCell``, else TypeError naming what the
    object lacks (TF's ``assert_like_rnncell``; a ``torch.nn.LSTM`` is not a TF cell)."""
    if isinstance(cell, RNNCell):
        return cell
    missing = [
        a for a in ("state_size", "output_size", "zero_state", "__call__") if not hasattr(cell, a)
    ]
    detail = f" (missing: {', '.join(missing)})" if missing else " (not an rnnkit.RNNCell subclass)"
    raise TypeError(
        f"{where}: expected {name} to be an rnnkit RNNCell, got {type(cell).__name__}{detail}"
    )


def check_ranked_tensor(where: str, x: Any, layout: str, kind: str = "") -> torch.Tensor:
    """``x`` (the ``inputs``) if it is a tensor of the rank ``layout`` spells (``"[B, D]"``: 2): else TypeError
    for a non-tensor, ValueError for another rank. ``kind`` qualifies the inputs in that message
    (``"time-major "``)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: expected inputs to be a {layout} tensor, got {describe(x)}")
    rank = layout.count(",") + 1
    if x.dim() != rank:
        raise ValueError(
            f"{where}: expected {kind}inputs of rank {rank} {layout}, got shape {tuple(x.shape)}"
        )
    return x


def required_property(name: str, doc: str) -> Any:
    """A read-only property each subclass must define (the cell contract's sizes, the seq2seq ``Decoder``'s
    sizes and dtype): reading one that a class lacks raises ``NotImplementedError`` naming it. Typed ``Any``
    here; a subclass's own property declares the precise type."""

    def missing(self: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define {name}")

    return property(missing, doc=doc)


def _identity(inputs: Any) -> Any:
    return inputs


def unroll_parts(
    cell: RNNCell,
) -> tuple[Callable[[Any], Any], Callable[[Any, Any], tuple[Any, Any]]]:
    """``(project, step)`` by which an unroll runs ``cell``: ``cell.input_projection`` and
    ``cell.recurrent_step``, or ``(identity, cell)`` when the cell has forward hooks (hooks must see every call).
    The caller runs ``cell.check_inputs`` on the first step before using them."""
    if has_hooks(cell):
        return _identity, cell
    return cell.input_projection, cell.recurrent_step


#: The prefix of attributes that hold what other modules keep per cell object (NOTE [fast fused call]'s plan,
#: legacy_seq2seq's models): they refer to the cell, so they live on it, never in a weak dictionary keyed by it
#: (whose values would keep their keys alive); copies and pickles leave them behind (``__getstate__``).
PER_OBJECT = "_rnnkit_"
REMEMBERED_PLAN = PER_OBJECT + "remembered_plan"


class RNNCell(nn.Module):
    """Base of every cell and wrapper: TF1's ``RNNCell`` contract on a ``torch.nn.Module``.

    Subclasses define ``state_size``, ``output_size``, ``forward(inputs, state)`` and, when they own or wrap
    parameters, ``named_tf_variables(prefix)`` (TF names in TF's creation order) and ``build(input_size)``.
    Cells whose step splits into an input-only part and a recurrent part also override ``check_inputs``,
    ``input_projection`` and ``recurrent_step`` (the unrolls then compute the input part for all steps in one
    matmul); cells that torch's fused kernels compute exactly override ``fused_spec``.
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

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        # NOTE [fast fused call] (fused/fast.py): any assignment may change what the cell computes
        self.__dict__["_config_epoch"] = self.__dict__.get("_config_epoch", 0) + 1

    def __getstate__(self) -> dict[str, Any]:  # PER_OBJECT attributes are bound to this very object
        return {k: v for k, v in self.__dict__.items() if not k.startswith(PER_OBJECT)}

    @property
    def config_epoch(self) -> int:
        """A count that moves on every attribute assignment on this cell (options, parameters, ``train()``):
        a plan made for one value of it holds as long as it has not moved."""
        return int(self.__dict__.get("_config_epoch", 0))

    state_size = required_property(
        "state_size", "The state's sizes: an int or ints nested like the state."
    )
    output_size = required_property(
        "output_size", "The output's size: an int or ints nested like the output."
    )

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
        """Zeros shaped like ``state_size``, each leaf ``[batch_size, size]``; ``dtype``/``device`` default to the
        parameters' (float32 on the CPU before the cell is built). Lean: fast fused calls make it between kernels."""
        where = f"{type(self).__name__}.zero_state"
        check_positive_int(where, "batch_size", batch_size)
        dtype, device = to_torch_dtype(where, dtype), to_torch_device(where, device)
        if dtype is None or device is None:  # (only then the walk over the parameters)
            default_dtype, default_device = self._default_dtype_device()
            dtype, device = dtype or default_dtype, device or default_device

        def zeros(leaf: int) -> torch.Tensor:
            return torch.zeros(batch_size, leaf, dtype=dtype, device=device)

        size = self.state_size  # (an int: no walk through nest)
        return zeros(size) if isinstance(size, int) else nest.map_structure(zeros, size)

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

    # The unroll contract (docs/design/0004-cell-contract.md). The defaults describe a cell that does not split:
    # nothing to precompute, and the step is the whole call (checks and hooks included).

    def check_inputs(self, inputs: Any) -> Any:
        """Check one step's ``inputs [B, D]`` as ``forward`` would and build lazy parameters; return ``inputs``.

        An unroll calls it once, on the first step, before ``input_projection``: the loop that follows calls
        ``recurrent_step``, which checks nothing. The default checks nothing (``forward`` checks each call)."""
        return inputs

    def input_projection(self, inputs: Any) -> Any:
        """The part of one step that depends on the inputs alone, for ``inputs [..., D]`` with any leading dims
        (an unroll passes all ``T`` steps at once): a tensor ``[..., G]`` or a tuple of them. Default: the inputs."""
        return inputs

    def recurrent_step(self, projected: Any, state: Any) -> tuple[Any, Any]:
        """The rest of one step: ``projected`` (one step's ``input_projection``, ``[B, ...]``) and ``state`` →
        ``(output, new_state)``, without checks. Default: the whole call, ``self(projected, state)``."""
        return self(projected, state)

    def fused_spec(self) -> FusedSpec | str:
        """How torch's fused RNN kernels compute this cell exactly (``FusedSpec``), or why they cannot (a reason
        naming the cell). ``rnnkit.fused`` reads only this. Default: not fusable."""
        return (
            f"{type(self).__name__} has no fused form (torch's fused kernels compute BasicLSTMCell, "
            "LSTMCell and BasicRNNCell)"
        )

    def extra_repr(self) -> str:
        return f"state_size={self.state_size}, output_size={self.output_size}"


class LayerCell(RNNCell):
    """A cell with ``num_units`` that owns TF-layout parameters, built lazily from the input depth.

    Subclasses set ``_tf_params`` — ``(TF name relative to the cell scope, attribute name)`` pairs in TF's
    creation order — and implement ``_create_parameters(input_size)`` and their formula, once, as
    ``input_projection(inputs)`` + ``recurrent_step(projected, state)`` (``forward`` composes them after the
    checks), or — for a formula that does not split — ``forward`` itself.
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
        later = self._pending_input_size is None  # placeholders until built (cells/lazy.py)
        for _, attr in self._tf_params:
            used = later and self._tf_param_used(attr)
            setattr(self, attr, placeholder(self._device, self._dtype) if used else None)
        if self._pending_input_size is not None:
            self.build(self._pending_input_size)

    @property
    def built(self) -> bool:
        return self.input_size is not None

    def build(self, input_size: int) -> None:
        if already_built(self, input_size):
            return
        create_in_place(self, input_size)
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

    def check_inputs(self, inputs: Any) -> torch.Tensor:
        """Check one step's inputs ``[B, D]``, building the parameters on first use (in the inputs' dtype, on
        their device; under autocast in the default dtype)."""
        where = type(self).__name__
        check_ranked_tensor(where, inputs, "[B, D]")
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
            create_in_place(self, depth, dtype=dtype, device=inputs.device)
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
        """One step: ``inputs [B, D]``, ``state`` like ``state_size`` → ``(output [B, output_size], new_state)``.

        Checks (and the lazy build), then ``recurrent_step(input_projection(inputs), state)``: the formula is
        the subclass's, stated once in those two methods.
        """
        if type(self).recurrent_step is RNNCell.recurrent_step:
            raise NotImplementedError(
                f"{type(self).__name__}: a LayerCell implements input_projection and recurrent_step, or forward"
            )
        inputs = self.check_inputs(inputs)
        check_state(
            type(self).__name__,
            self.state_size,
            state,
            inputs.shape[0],
            state_dtype(inputs),
            inputs.device,
        )
        output, new_state = self.recurrent_step(self.input_projection(inputs), state)
        if autocast_enabled(inputs.device.type):
            kept = keep_state_dtype(inputs.device.type, new_state, state)
            # The output is often a state leaf (h): give it the kept dtype as well.
            for new, old in zip(nest.flatten(new_state), nest.flatten(kept)):
                if output is new:
                    output = old
            new_state = kept
        return output, new_state

    def named_tf_variables(self, prefix: str = "") -> Iterator[tuple[str, nn.Parameter | None]]:
        for rel_name, attr in self._tf_params:
            param = getattr(self, attr)
            if param is None and not self._tf_param_used(attr):
                continue
            yield f"{prefix}{self.tf_name}/{rel_name}", None if unbuilt(param) else param

    def _recurrent_rows(self, name: str) -> torch.Tensor:
        """``getattr(self, name)[D:]``: the rows of a ``[D + S, ...]`` kernel that multiply the state, made once
        per unroll (NOTE [one weight view per unroll], ``cells/weight_views.py``; the memo also saves the
        parameter lookup and the slice, about 2.5 us a step)."""
        views = active_views()
        if views is None:
            return getattr(self, name)[self.input_size :]
        key = (id(self), name)
        view = views.get(key)
        if view is None:
            view = views[key] = getattr(self, name)[self.input_size :]
        return view

    def _math_overridden(self, cls: type) -> str | None:
        """For ``fused_spec``: the name of a method of ``cls``'s math that this object's class overrides."""
        for name in ("forward", "input_projection", "recurrent_step"):
            if getattr(type(self), name) is not getattr(cls, name):
                return name
        return None

    #: ``{attribute: option}`` for the optional parameters (peepholes, projections, biases): each exists only
    #: when the cell's ``option`` attribute is set (neither None nor False). A rule of another form overrides
    #: ``_tf_param_used``.
    _tf_param_options: dict[str, str] = {}

    def _tf_param_used(self, attr: str) -> bool:
        """Whether a parameter exists in this configuration (``_tf_param_options``; the others always do)."""
        option = self._tf_param_options.get(attr)
        return option is None or getattr(self, option) not in (None, False)

    def extra_repr(self) -> str:
        return f"num_units={self.num_units}, input_size={self.input_size}"
