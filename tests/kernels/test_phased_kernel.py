"""contrib's PhasedLSTMCell through its native sequence kernel (``rnnkit.kernels.phased_lstm_sequence``): against the
cell called once per step (its own math and autograd), the NumPy reference and TensorFlow's fixtures (the peephole
one with float64 timestamps, fed to the kernel directly); every gradient (timestamps, inputs, initial state, every
parameter incl. period, phase and ratio_on), gradcheck, double backward, float32, sequence_length, and every
reason the step loop runs instead and every error message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
import rnnkit.unroll.dynamic as dynamic
from rnnkit.cells.contrib import PhasedLSTMCell
from rnnkit.kernels import kernel_for, phased_lstm_sequence
from rnnkit.kernels import phased as phased_kernel
from rnnkit.kernels.phased import run_phased_cell
from tests.kernels._native import needs_native
from tests.reference import numpy_cells, numpy_contrib
from tests.tf_fixtures.surface_replay import load_case
from tests.tf_fixtures.test_tf_fixtures_contrib import FIXTURES, replay_custom

torch.set_num_threads(1)

pytestmark = needs_native

B, T, D, H = 4, 7, 3, 5
LENGTHS = [None, [7, 0, 3, 7], [2, 1, 2, 2], [0, 0, 0, 0]]
OPTIONS = {
    "plain": {},
    "peepholes": {"use_peepholes": True, "leak": 0.05},
    "fixed_ratio_on": {"use_peepholes": True, "trainable_ratio_on": False, "leak": 0.2},
}


def _cell(options, seed=0, dtype=torch.float64):
    """Random non-symmetric weights; periods 1..3, phases and ratios-on spread so that every branch of k runs."""
    gen = torch.Generator().manual_seed(seed)
    cell = PhasedLSTMCell(H, input_size=D, dtype=dtype, **options)
    with torch.no_grad():
        for name, p in cell.named_parameters():
            u = torch.rand(p.shape, generator=gen, dtype=dtype)
            draw = {"period": 1 + 2 * u, "phase": 2 * u, "ratio_on": 0.2 + 0.6 * u}
            p.copy_(draw.get(name, torch.randn(p.shape, generator=gen, dtype=dtype) * 0.7))
    return cell


def _inputs(seed, time_major=False, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    shape = (T, B) if time_major else (B, T)
    times = torch.cumsum(
        torch.rand(*shape, 1, generator=gen, dtype=dtype) * 0.9 + 0.1, 0 if time_major else 1
    )
    x = torch.randn(*shape, D, generator=gen, dtype=dtype)
    return times.requires_grad_(), x.requires_grad_()


def _state(seed):
    gen = torch.Generator().manual_seed(seed)
    rand = lambda: torch.randn(B, H, generator=gen, dtype=torch.float64).requires_grad_()  # noqa: E731
    return rk.LSTMStateTuple(rand(), rand())


def _cell_loop(cell, times, x, state, lengths, time_major):
    """The cell's own call at every step, TF's sequence_length rule by hand."""
    axis, outputs = 0 if time_major else 1, []
    for t, (t_t, x_t) in enumerate(zip(times.unbind(axis), x.unbind(axis))):
        out, new = cell((t_t, x_t), state)
        live = torch.ones(B, 1, dtype=torch.bool) if lengths is None else (t < lengths)[:, None]
        outputs.append(torch.where(live, out, 0.0))
        state = rk.LSTMStateTuple(*(torch.where(live, n, o) for n, o in zip(new, state)))
    return torch.stack(outputs, axis), state


def _gate_branches(cell, times):
    """Which of k's three pieces (rising, falling, closed) the timestamps reach."""
    from rnnkit.cells.contrib.phased import cycle_ratio

    r = cycle_ratio(times.detach(), cell.phase.detach(), cell.period.detach(), torch.float64)
    ron = cell.ratio_on.detach()
    return {
        bool((r < ron / 2).any()),
        bool(((r >= ron / 2) & (r < ron)).any()),
        bool((r >= ron).any()),
    }


class _Spy:
    def __init__(self, monkeypatch):
        self.calls = 0
        real = phased_kernel._PhasedSequence.apply

        def apply(*args):
            self.calls += 1
            return real(*args)

        monkeypatch.setattr(phased_kernel._PhasedSequence, "apply", apply)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_kernel_equals_the_cell_loop(options, time_major, lengths, monkeypatch):
    cell = _cell(OPTIONS[options], seed=len(str(lengths)))
    times, x = _inputs(1, time_major)
    assert _gate_branches(cell, times) == {True}
    state, spy = _state(2), _Spy(monkeypatch)
    lens = None if lengths is None else torch.tensor(lengths)
    got = rk.dynamic_rnn(
        cell, (times, x), sequence_length=lens, initial_state=state, time_major=time_major
    )
    assert spy.calls == 1
    want = _cell_loop(cell, times, x, state, lens, time_major)
    flat_got, flat_want = rk.nest.flatten(got), rk.nest.flatten(want)
    for g, w in zip(flat_got, flat_want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    weights = [torch.randn_like(w) for w in flat_want]
    params = [p for p in cell.parameters() if p.requires_grad]
    assert len(params) == (8 if options == "fixed_ratio_on" else 9)
    wrt = [times, x, *state, *params]
    g_got = torch.autograd.grad(sum((g * k).sum() for g, k in zip(flat_got, weights)), wrt)
    g_want = torch.autograd.grad(sum((w * k).sum() for w, k in zip(flat_want, weights)), wrt)
    for g, w in zip(g_got, g_want):
        assert w.abs().max() > 0 or lengths == [0, 0, 0, 0]
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("peep", [False, True])
def test_kernel_equals_the_numpy_reference(peep):
    cell = _cell({"use_peepholes": peep, "leak": 0.05}, seed=5)
    times, x = _inputs(6)
    lengths, state = [7, 2, 0, 5], _state(7)
    out, final = rk.dynamic_rnn(cell, (times, x), sequence_length=lengths, initial_state=state)
    w = {k.split("/", 2)[2]: v.detach().numpy() for k, v in rk.tf_variables(cell).items()}
    step = lambda xt, s: numpy_contrib.phased_lstm(
        w, (xt[:, :1], xt[:, 1:]), s, peep=peep, leak=0.05
    )  # noqa: E731
    start = tuple(s.detach().numpy() for s in state)
    want, want_final = numpy_cells.unroll(
        step, torch.cat([times, x], -1).detach().numpy(), start, lengths
    )
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    for g, v in zip(final, want_final):
        np.testing.assert_allclose(g.detach().numpy(), v, rtol=1e-12, atol=1e-12)


def _fixture_arguments(case, arrays):
    """The fixture's cell, loaded with TF's variables, and its inputs as the kernel takes them (time-major)."""
    cell = PhasedLSTMCell(**case["fw"][0]["kwargs"], input_size=case["depth"])
    variables = rk.tf_variables(cell)
    rk.load_tf_variable_dict(
        variables, {n: arrays[f"var_{k}"] for k, n in enumerate(case["variables"])}
    )
    times, x = (
        torch.from_numpy(arrays[f"in_{i}"]).transpose(0, 1).requires_grad_() for i in range(2)
    )
    return cell, variables, times, x


@pytest.mark.parametrize("case_id", ["phased", "phased_peep_time_f64"])
def test_tensorflow_fixtures_through_the_kernel(case_id, monkeypatch):
    """TF's numbers (1e-5, float32) through the kernel itself; the peephole case has float64 timestamps (the cycle
    ratio in float64, then float32, as TF), which dynamic_rnn does not take, so the kernel is called directly."""
    case, arrays = load_case(case_id, FIXTURES)
    cell, variables, times, x = _fixture_arguments(case, arrays)
    assert times.dtype == getattr(torch, case["time_dtype"])
    spy = _Spy(monkeypatch)
    zeros = rk.LSTMStateTuple(*[torch.zeros(case["batch"], cell.num_units)] * 2)
    out, (c, h) = run_phased_cell(cell, (times, x), zeros, torch.tensor(case["sequence_length"]))
    assert spy.calls == 1
    out = out.transpose(0, 1)
    loss = (out * torch.from_numpy(arrays["r_out_0"])).sum()
    loss = loss + sum(
        (s * torch.from_numpy(arrays[f"r_state_{i}"])).sum() for i, s in enumerate((c, h))
    )
    grads = torch.autograd.grad(loss, [times, x, *variables.values()])
    pairs = [(out, arrays["out_0"]), (c, arrays["state_0"]), (h, arrays["state_1"])]
    pairs += [(g.transpose(0, 1), arrays[f"grad_in_{i}"]) for i, g in enumerate(grads[:2])]
    pairs += [(g, arrays[f"grad_var_{k}"]) for k, g in enumerate(grads[2:])]
    for got, want in pairs:
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=0, atol=1e-5)


def test_timestamps_in_another_dtype_take_the_ratio_gradient_through_autograd():
    """float32 timestamps with float64 inputs (the ratio in float32, then float64, as the cell and TF compute it):
    the kernel returns the ratio's gradient and autograd carries it on; equal to the cell's own loop."""
    cell = _cell({"use_peepholes": True, "leak": 0.05}, seed=17)
    times, x = _inputs(18, time_major=True)
    times = times.detach().float().requires_grad_()
    state, lens = _state(19), torch.tensor([7, 3, 0, 5])
    out, (c, h) = run_phased_cell(cell, (times, x), state, lens)
    want_out, (want_c, want_h) = _cell_loop(cell, times, x, state, lens, True)
    for g, w in zip((out, c, h), (want_out, want_c, want_h)):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    in_float32 = [times, cell.period, cell.phase]  # gradients from float32 sums (in another order)
    rest = [x, *state, *(p for p in cell.parameters() if all(p is not q for q in in_float32))]
    g_got = torch.autograd.grad(out.sum() + c.sum(), in_float32 + rest)
    g_want = torch.autograd.grad(want_out.sum() + want_c.sum(), in_float32 + rest)
    assert g_got[0].dtype == torch.float32
    for i, (g, w) in enumerate(zip(g_got, g_want)):
        tol = 2e-6 if i < len(in_float32) else 1e-10
        torch.testing.assert_close(g, w, rtol=tol, atol=tol)


def test_tensorflow_fixture_replay_runs_the_kernel(monkeypatch):
    """The shared fixture test's replay of the float32 case goes through dynamic_rnn, hence the kernel."""
    spy = _Spy(monkeypatch)
    diffs, _ = replay_custom(*load_case("phased", FIXTURES))
    assert spy.calls == 1 and max(diffs.values()) <= 1e-5


@pytest.mark.parametrize("peep", [False, True])
def test_gradcheck(peep):
    """Numerical gradients of everything but period and phase (the modulo's gradient is TF's stop_gradient, not
    the numerical one); those two are checked against the cell's autograd above and TF's fixtures."""
    cell = _cell({"use_peepholes": peep, "leak": 0.1}, seed=3)
    times, x = (t.detach().transpose(0, 1)[:4, :3].clone().requires_grad_() for t in _inputs(4))
    c0, h0 = (s[:3].detach().clone().requires_grad_() for s in _state(5))
    lens = torch.tensor([4, 1, 3])
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    mk, mb, ik, ib, ok, ob, period, phase, ron = params

    def run(times, x, mk, mb, ik, ib, ok, ob, ron, c0, h0):
        return phased_lstm_sequence(
            times, x, (mk, mb, ik, ib, ok, ob), (period, phase, ron), c0, h0, 0.1, lens
        )

    assert torch.autograd.gradcheck(run, (times, x, mk, mb, ik, ib, ok, ob, ron, c0, h0))


def test_float32_close_to_float64():
    cell = _cell({"use_peepholes": True}, seed=8)
    times, x = (t.detach() for t in _inputs(9))
    want, _ = rk.dynamic_rnn(cell, (times, x))
    got, _ = rk.dynamic_rnn(cell.float(), (times.float(), x.float()))
    torch.testing.assert_close(got.double(), want, rtol=0, atol=2e-5)


def test_double_backward_equals_the_cell_loop():
    """create_graph=True through the kernel: a gradient penalty's gradient equals the cell loop's."""
    cell = _cell({"use_peepholes": True, "leak": 0.05}, seed=10)
    times, x = _inputs(11)
    lens, state = torch.tensor([7, 2, 0, 4]), _state(12)

    def penalty(run):
        out = run()
        (g,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
        return torch.autograd.grad(g.square().sum(), [times, x, *cell.parameters()])

    got = penalty(
        lambda: rk.dynamic_rnn(cell, (times, x), sequence_length=lens, initial_state=state)[0]
    )
    want = penalty(lambda: _cell_loop(cell, times, x, state, lens, False)[0])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-10)


def test_leak_applies_in_training_and_evaluation_alike():
    """TF 1.15's cell has no training switch: the closed gate leaks in eval() too, through the kernel as well."""
    cell = _cell({"leak": 0.3}, seed=13)
    times, x = (t.detach() for t in _inputs(14))
    train = rk.dynamic_rnn(cell.train(), (times, x))[0]
    evaluated = rk.dynamic_rnn(cell.eval(), (times, x))[0]
    assert torch.equal(train, evaluated)
    closed = rk.dynamic_rnn(_cell({"leak": 0.0}, seed=13), (times, x))[0]
    assert not torch.allclose(closed, train)


def test_explain_names_the_kernel():
    assert kernel_for(_cell({}))[1].startswith(
        "kernels.phased_lstm_sequence (one autograd node per unroll"
    )
    assert "kernels.phased_lstm_sequence" in rk.fused.explain(_cell({}))


class _Overrides(PhasedLSTMCell):
    def _step_pair(self, time, x, state):
        return super()._step_pair(time, x, state)


def test_every_reason_the_step_loop_runs_instead():
    cell, times, x = _cell({}), *(t.detach() for t in _inputs(0))
    assert (
        kernel_for(cell, x)[1] == "the kernel takes a (times, inputs) pair of sequences, got Tensor"
    )
    assert (
        kernel_for(cell, (times, x, x))[1]
        == "the kernel takes a (times, inputs) pair of sequences, got tuple"
    )
    assert kernel_for(_Overrides(H, input_size=D), (times, x))[1] == (
        "_Overrides overrides _step_pair, which the kernel would skip"
    )
    cell.register_forward_hook(lambda *a: None)
    assert (
        kernel_for(cell, (times, x))[1] == "the cell has forward hooks, which must see every step"
    )
    assert kernel_for(_cell({}), (times.half(), x.half()))[1] == (
        "the native loops take float32 and float64; the inputs are torch.float16"
    )
    # a cell of one tensor given a pair (which it would reject itself) gets a reason, not the kernel
    assert (
        kernel_for(rk.GRUCell(H), (times, x))[1]
        == "the inputs are nested (the kernel takes one [B, T, D] tensor)"
    )


def test_an_overriding_subclass_runs_its_own_step_with_the_same_numbers(monkeypatch):
    cell = _cell({"use_peepholes": True}, seed=15)
    times, x = (t.detach() for t in _inputs(16))
    spy = _Spy(monkeypatch)
    want = rk.dynamic_rnn(cell, (times, x))[0]
    assert spy.calls == 1
    overridden = _Overrides(H, use_peepholes=True, input_size=D, dtype=torch.float64)
    overridden.load_state_dict(cell.state_dict())
    got = rk.dynamic_rnn(overridden, (times, x))[0]
    assert spy.calls == 1
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lengths", [None, [40, 0, 17, 33]], ids=str)
def test_swap_memory_runs_the_kernel_in_recomputed_chunks_of_the_pair(monkeypatch, lengths):
    """swap_memory=True cuts (times, x) alike into recomputed chunks of kernel calls (rnnkit._recompute):
    values and every gradient equal the plain kernel's; the checkpointed step loop never runs."""
    monkeypatch.setattr(dynamic, "run_steps_checkpointed", lambda *a, **k: pytest.fail("step loop"))
    cell, lens = _cell({"use_peepholes": True, "leak": 0.05}, seed=20), None
    if lengths is not None:
        lens = torch.tensor(lengths)
    gen = torch.Generator().manual_seed(21)
    times = torch.cumsum(
        torch.rand(B, 40, 1, generator=gen, dtype=torch.float64), 1
    ).requires_grad_()
    x = torch.randn(B, 40, D, generator=gen, dtype=torch.float64, requires_grad=True)
    state = _state(22)

    def run(swap):
        out, final = rk.dynamic_rnn(
            cell, (times, x), sequence_length=lens, initial_state=state, swap_memory=swap
        )
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()
        loss = loss + final.c.sum() - 2 * final.h.sum()
        grads = torch.autograd.grad(loss, [times, x, *state, *cell.parameters()])
        return [out.detach(), *(s.detach() for s in final), *grads]

    spy = _Spy(monkeypatch)
    plain = run(False)
    assert spy.calls == 1
    swapped = run(True)
    assert spy.calls > 3  # one call per chunk, each again when backward re-runs it
    for a, b in zip(plain, swapped):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)
    text = rk.fused.explain(cell, swap_memory=True)
    assert text.startswith("kernels.phased_lstm_sequence") and "in recomputed chunks" in text


def _arguments(**changes):
    cell, (times, x) = _cell({}), (t.detach().transpose(0, 1) for t in _inputs(0))
    weights = [cell.mask_kernel, cell.mask_bias, cell.input_kernel, cell.input_bias, cell.output_kernel,
               cell.output_bias]  # fmt: skip
    zero = torch.zeros(B, H, dtype=torch.float64)
    gate = (cell.period, cell.phase, cell.ratio_on)
    args = {"times": times, "x": x, "weights": weights, "time_gate": gate, "c0": zero, "h0": zero}
    for name, value in changes.items():
        if name in ("mask_kernel", "output_kernel"):
            args["weights"][0 if name == "mask_kernel" else 4] = value
        else:
            args[name] = value
    return args


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"times": torch.zeros(T, B, 2)}, ValueError,
         r"phased_lstm_sequence: expected times as a floating \[T, B, 1\] = \[7, 4, 1\] tensor on cpu, got "
         r"\[7, 4, 2\] torch.float32 on cpu"),
        ({"times": torch.zeros(T, B, 1, dtype=torch.int64)}, ValueError,
         r"phased_lstm_sequence: expected times as a floating .* got \[7, 4, 1\] torch.int64 on cpu"),
        ({"times": [0.0]}, ValueError, r"phased_lstm_sequence: expected times .* got \[0.0\]"),
        ({"mask_kernel": torch.zeros(D + H, 3 * H, dtype=torch.float64)}, ValueError,
         r"phased_lstm_sequence: expected mask_kernel of shape \[8, 10\], got \[8, 15\]"),
        ({"output_kernel": torch.zeros(D + 2 * H, H, dtype=torch.float64)}, ValueError,
         r"phased_lstm_sequence: expected output_kernel of shape \[8, 5\], got \[13, 5\]"),
        ({"h0": torch.zeros(B, H)}, TypeError,
         r"phased_lstm_sequence: expected h0 as a CPU float32 or float64 tensor like the inputs \(torch.float64\), "
         r"got torch.float32 on cpu"),
        ({"x": torch.zeros(T, B)}, ValueError,
         r"phased_lstm_sequence: expected x \[T, B, D\] and c0 \[B, H\], got \[7, 4\], \[4, 5\]"),
    ],
)  # fmt: skip
def test_bad_arguments_get_a_clear_error_not_a_native_call(changes, error, message):
    with pytest.raises(error, match=message):
        phased_lstm_sequence(**_arguments(**changes))
