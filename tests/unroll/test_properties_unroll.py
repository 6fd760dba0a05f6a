"""Property-based tests of the unroll semantics (hypothesis): random cells, wrappers and stacks, batch sizes,
lengths (0 and T included), time layouts and nested inputs/outputs.

For every drawn set-up:
* ``dynamic_rnn`` == ``static_rnn``, in both time layouts;
* each row equals a reference that knows nothing of masking: the cell stepped by hand over that row alone, for
  its own length. So outputs past the row's length are zero and the final state is the state after the row's last
  step (the initial state for length 0);
* no lengths == every length equal to T;
* ``bidirectional_dynamic_rnn``: forward == ``dynamic_rnn``; backward row b == the cell stepped by hand over
  that row's first n steps reversed, reversed back; ``static_bidirectional_rnn`` == their per-step concat;
* torch's fused kernels (``fused=True``) == the step loop (``fused=False``) on every drawn cell they can run.

Comparisons are at float64 rounding (1e-12), not bit for bit: different calls may take different exact paths
(a precomputed input matmul, a fused kernel) that round differently. Settings are derandomized (CI reproducible)
and sized to keep the file well under 30 s on a 2-core box.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import torch
from hypothesis import HealthCheck, given, settings

import rnnkit as rk

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CLOSE = {
    "rtol": 1e-12,
    "atol": 1e-12,
}  # float64 rounding: a 1-row matmul, a fused kernel... round differently


class PairInputCell(rk.RNNCell):
    """A custom cell whose step input is a tuple ``(a [B, Da], b [B, Db])``: it steps ``inner`` on ``[a, b]``."""

    def __init__(self, inner: rk.RNNCell) -> None:
        super().__init__()
        self.inner = inner

    @property
    def state_size(self) -> Any:
        return self.inner.state_size

    @property
    def output_size(self) -> Any:
        return self.inner.output_size

    def forward(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        a, b = inputs
        return self.inner(torch.cat([a, b], 1), state)


class PairOutputCell(rk.RNNCell):
    """A custom cell with a nested output ``(o, 2 * o)``: the masking must zero both leaves."""

    def __init__(self, inner: rk.RNNCell) -> None:
        super().__init__()
        self.inner = inner

    @property
    def state_size(self) -> Any:
        return self.inner.state_size

    @property
    def output_size(self) -> Any:
        return (self.inner.output_size, self.inner.output_size)

    def forward(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        out, new_state = self.inner(inputs, state)
        return (out, 2.0 * out), new_state


# --- strategies ----------------------------------------------------------------------------------------------


@st.composite
def leaf_cells(draw: Any, input_size: int, tuple_state: bool = True) -> rk.RNNCell:
    """One core cell for inputs of depth ``input_size`` (non-nested state when ``tuple_state`` is False)."""
    h = draw(st.integers(1, 5))
    act = draw(st.sampled_from([None, "relu", "sigmoid"]))
    kinds = ["basic_rnn", "gru", "basic_lstm", "lstm"] + (["layer_norm"] if tuple_state else [])
    kind = draw(st.sampled_from(kinds))
    lstm_tuple = tuple_state and draw(st.booleans())
    if kind == "basic_rnn":
        return rk.BasicRNNCell(h, activation=act, input_size=input_size)
    if kind == "gru":
        return rk.GRUCell(h, activation=act, input_size=input_size)
    forget_bias = draw(st.sampled_from([1.0, 0.0, 0.5]))
    if kind == "layer_norm":
        # At least 2 units: over one unit the variance is 0 and TF's normalisation ``x * g + (beta - mean * g)``
        # with ``g = gamma / sqrt(0 + 1e-12)`` multiplies an input's rounding (all-steps vs one-step matmul,
        # ~1e-16) by 1e6, so the two unrolls may differ by ~1e-10, beyond CLOSE; TF rounds the same way.
        return rk.LayerNormBasicLSTMCell(
            max(h, 2),
            forget_bias=forget_bias,
            activation=act,
            layer_norm=draw(st.booleans()),
            norm_gain=draw(st.sampled_from([1.0, 0.7])),
            norm_shift=draw(st.sampled_from([0.0, 0.2])),
            input_size=input_size,
        )
    if kind == "basic_lstm":
        return rk.BasicLSTMCell(
            h,
            forget_bias=forget_bias,
            state_is_tuple=lstm_tuple,
            activation=act,
            input_size=input_size,
        )
    num_proj = draw(st.one_of(st.none(), st.integers(1, 4)))
    return rk.LSTMCell(
        h,
        use_peepholes=draw(st.booleans()),
        cell_clip=draw(st.sampled_from([None, 0.5, 3.0])),
        num_proj=num_proj,
        proj_clip=draw(st.sampled_from([None, 0.4])) if num_proj else None,
        forget_bias=forget_bias,
        state_is_tuple=lstm_tuple,
        activation=act,
        input_size=input_size,
    )


@st.composite
def wrapped_cells(draw: Any, input_size: int, tuple_state: bool = True) -> rk.RNNCell:
    """A leaf cell, possibly inside one deterministic wrapper (projections, residual, keep-probability 1
    dropout); the wrappers keep the state structure, so stacks with concatenated state can use them too."""
    wrapper = draw(
        st.sampled_from(
            ["none", "none", "output_projection", "input_projection", "residual", "dropout"]
        )
    )
    if wrapper == "output_projection":
        inner = draw(leaf_cells(input_size, tuple_state))
        return rk.OutputProjectionWrapper(inner, draw(st.integers(1, 4)))
    if wrapper == "input_projection":
        proj = draw(st.integers(1, 4))
        inner = draw(leaf_cells(proj, tuple_state))
        return rk.InputProjectionWrapper(inner, proj, input_size=input_size)
    if wrapper == "residual":  # the output must have the inputs' depth
        kind = draw(st.sampled_from([rk.GRUCell, rk.BasicRNNCell]))
        return rk.ResidualWrapper(kind(input_size, input_size=input_size))
    inner = draw(leaf_cells(input_size, tuple_state))
    return rk.DropoutWrapper(inner) if wrapper == "dropout" else inner


@st.composite
def cells(draw: Any, input_size: int) -> rk.RNNCell:
    """A (wrapped) cell or a MultiRNNCell of 2-3 of them (tuple or concatenated state), with random weights."""
    if draw(st.booleans()):
        cell = draw(wrapped_cells(input_size))
    else:
        tuple_state = draw(st.booleans())
        layers, depth = [], input_size
        for _ in range(draw(st.integers(2, 3))):
            layer = draw(wrapped_cells(depth, tuple_state=tuple_state))
            layers.append(layer)
            depth = layer.output_size
        cell = rk.MultiRNNCell(layers, state_is_tuple=tuple_state)
    cell = cell.double()
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * 0.6)
    return cell


@st.composite
def setups(draw: Any) -> dict[str, Any]:
    batch, time = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    wrap = draw(st.sampled_from(["none", "pair_input", "pair_output"]))
    depth = draw(st.integers(2 if wrap == "pair_input" else 1, 4))
    cell = draw(cells(depth))
    if wrap == "pair_input":
        cell, split = PairInputCell(cell), draw(st.integers(1, depth - 1))
    elif wrap == "pair_output":
        cell, split = PairOutputCell(cell), None
    else:
        split = None
    lengths = draw(
        st.one_of(st.none(), st.lists(st.integers(0, time), min_size=batch, max_size=batch))
    )
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    x = torch.randn(batch, time, depth, generator=gen, dtype=torch.float64)
    init = None
    if draw(st.booleans()):
        init = rk.nest.map_structure(
            lambda n: torch.randn(batch, n, generator=gen, dtype=torch.float64), cell.state_size
        )
    return {"cell": cell, "x": x, "split": split, "lengths": lengths, "init": init}


# --- helpers -------------------------------------------------------------------------------------------------


def _structure(x: torch.Tensor, split: int | None) -> Any:
    """Inputs ``[..., D]`` as the cell takes them: the tensor, or the pair ``(x[..., :k], x[..., k:])``."""
    return x if split is None else (x[..., :split], x[..., split:])


def _flat(x: Any) -> list[torch.Tensor]:
    return [t.detach() for t in rk.nest.flatten(x)]


def _assert_same(a: Any, b: Any, tol: dict[str, float]) -> None:
    rk.nest.assert_same_structure(a, b)
    for u, v in zip(_flat(a), _flat(b)):
        torch.testing.assert_close(u, v, **tol)


def _row_reference(cell: rk.RNNCell, x: torch.Tensor, split: int | None, init: Any, b: int, n: int):
    """Row ``b`` stepped by hand for ``n`` steps, no masking: (list of n outputs [1, ...], final state)."""
    state = (
        rk.nest.map_structure(lambda s: s[b : b + 1], init)
        if init is not None
        else cell.zero_state(1, torch.float64)
    )
    outputs = []
    for t in range(n):
        out, state = cell(_structure(x[b : b + 1, t], split), state)
        outputs.append(out)
    return outputs, state


# --- properties ----------------------------------------------------------------------------------------------


@SETTINGS
@given(setups())
def test_dynamic_equals_static_in_both_layouts(s):
    cell, x, split, lengths, init = s["cell"], s["x"], s["split"], s["lengths"], s["init"]
    out, state = rk.dynamic_rnn(
        cell, _structure(x, split), sequence_length=lengths, initial_state=init
    )
    out_tm, state_tm = rk.dynamic_rnn(
        cell,
        _structure(x.transpose(0, 1), split),
        sequence_length=lengths,
        initial_state=init,
        time_major=True,
    )
    steps = [_structure(x[:, t], split) for t in range(x.shape[1])]
    out_st, state_st = rk.static_rnn(cell, steps, sequence_length=lengths, initial_state=init)
    assert isinstance(out_st, list) and len(out_st) == x.shape[1]
    # CLOSE, not EXACT: dynamic_rnn may take the fused kernels or precompute the input matmul for all steps,
    # which round differently from static_rnn's per-step [x, h] @ kernel.
    for t in range(x.shape[1]):
        _assert_same(rk.nest.map_structure(lambda o, t=t: o[:, t], out), out_st[t], CLOSE)
        _assert_same(rk.nest.map_structure(lambda o, t=t: o[t], out_tm), out_st[t], CLOSE)
    _assert_same(state, state_st, CLOSE)
    _assert_same(state_tm, state_st, CLOSE)


@SETTINGS
@given(setups())
def test_each_row_equals_its_own_hand_stepped_loop(s):
    """Outputs up to the row's length match; past it they are zero; the final state is the last step's."""
    cell, x, split, lengths, init = s["cell"], s["x"], s["split"], s["lengths"], s["init"]
    batch, time = x.shape[:2]
    out, state = rk.dynamic_rnn(
        cell, _structure(x, split), sequence_length=lengths, initial_state=init
    )
    for b in range(batch):
        n = time if lengths is None else lengths[b]
        ref_outputs, ref_state = _row_reference(cell, x, split, init, b, n)
        for t in range(time):
            got = rk.nest.map_structure(lambda o, b=b, t=t: o[b : b + 1, t], out)
            if t < n:
                _assert_same(got, ref_outputs[t], CLOSE)
            else:
                assert not any(leaf.any() for leaf in rk.nest.flatten(got))
        _assert_same(rk.nest.map_structure(lambda v, b=b: v[b : b + 1], state), ref_state, CLOSE)


@SETTINGS
@given(setups())
def test_full_lengths_equal_no_lengths(s):
    cell, x, split, init = s["cell"], s["x"], s["split"], s["init"]
    batch, time = x.shape[:2]
    out_a, state_a = rk.dynamic_rnn(cell, _structure(x, split), initial_state=init)
    out_b, state_b = rk.dynamic_rnn(
        cell, _structure(x, split), sequence_length=[time] * batch, initial_state=init
    )
    _assert_same(out_a, out_b, CLOSE)
    _assert_same(state_a, state_b, CLOSE)


# --- bidirectional unrolls -----------------------------------------------------------------------------------


@st.composite
def bidirectional_setups(draw: Any) -> dict[str, Any]:
    batch, time, depth = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    cell_fw, cell_bw = draw(cells(depth)), draw(cells(depth))
    lengths = draw(
        st.one_of(st.none(), st.lists(st.integers(0, time), min_size=batch, max_size=batch))
    )
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    x = torch.randn(batch, time, depth, generator=gen, dtype=torch.float64)
    return {
        "fw": cell_fw,
        "bw": cell_bw,
        "x": x,
        "lengths": lengths,
        "time_major": draw(st.booleans()),
    }


@SETTINGS
@given(bidirectional_setups())
def test_bidirectional_is_forward_plus_row_reversed_backward(s):
    """fw == dynamic_rnn(fw); bw row b == its own hand-stepped loop over x[b, n-1], ..., x[b, 0], reversed back
    (zeros past n); static_bidirectional_rnn == the per-step concatenation of the two."""
    cell_fw, cell_bw, x, lengths, time_major = (
        s["fw"],
        s["bw"],
        s["x"],
        s["lengths"],
        s["time_major"],
    )
    batch, time = x.shape[:2]
    layout = (lambda v: v.transpose(0, 1)) if time_major else (lambda v: v)
    (out_fw, out_bw), (state_fw, state_bw) = rk.bidirectional_dynamic_rnn(
        cell_fw, cell_bw, layout(x), sequence_length=lengths, time_major=time_major
    )
    out_fw, out_bw = layout(out_fw), layout(out_bw)
    want_fw, want_state_fw = rk.dynamic_rnn(cell_fw, x, sequence_length=lengths)
    _assert_same(out_fw, want_fw, CLOSE)
    _assert_same(state_fw, want_state_fw, CLOSE)
    for b in range(batch):
        n = time if lengths is None else lengths[b]
        rev = x[b : b + 1, :n].flip(1)
        ref_outputs, ref_state = _row_reference(
            cell_bw, torch.cat([rev, x[b : b + 1, n:]], 1), None, None, 0, n
        )
        for t in range(time):
            got = out_bw[b : b + 1, t]
            if t < n:
                _assert_same(got, ref_outputs[n - 1 - t], CLOSE)
            else:
                assert not got.any()
        _assert_same(rk.nest.map_structure(lambda v, b=b: v[b : b + 1], state_bw), ref_state, CLOSE)
    outs, st_fw, st_bw = rk.static_bidirectional_rnn(
        cell_fw, cell_bw, list(x.unbind(1)), sequence_length=lengths
    )
    _assert_same(torch.stack(outs, 1), torch.cat([out_fw, out_bw], -1), CLOSE)
    _assert_same((st_fw, st_bw), (state_fw, state_bw), CLOSE)


# --- fused kernels == the step loop --------------------------------------------------------------------------


@SETTINGS
@given(setups())
def test_fused_equals_the_step_loop(s):
    """Whenever torch's fused kernels can run a drawn cell (``rk.fused.fusable``), they give the step loop's
    outputs and final state, with lengths (0 and T included) and initial states."""
    cell, x, split, lengths, init = s["cell"], s["x"], s["split"], s["lengths"], s["init"]
    if split is not None or not rk.fused.fusable(cell):
        return  # nested inputs or a cell the kernels cannot compute: only the step loop exists
    out_f, state_f = rk.dynamic_rnn(
        cell, x, sequence_length=lengths, initial_state=init, fused=True
    )
    out_l, state_l = rk.dynamic_rnn(
        cell, x, sequence_length=lengths, initial_state=init, fused=False
    )
    _assert_same(out_f, out_l, CLOSE)
    _assert_same(state_f, state_l, CLOSE)


def test_fused_property_is_not_vacuous():
    """Some of the cells ``setups`` draws are fusable (else the property above would check nothing)."""
    from hypothesis import find

    found = find(
        setups(),
        lambda s: s["split"] is None and rk.fused.fusable(s["cell"]),
        settings=settings(database=None, derandomize=True),
    )
    assert rk.fused.fusable(found["cell"])
