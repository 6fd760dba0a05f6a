"""NOTE [fast fused call] (fused/fast.py): a plain dynamic_rnn call on a leaf cell planned before skips the plan;
it must give the general path's numbers bit for bit, and fall back whenever anything the plan depends on moved.
(Stacks of leaves: test_fast_call_stacks.py.)"""

from __future__ import annotations

import copy

import pytest
import torch

import rnnkit as rk
from rnnkit.activations import resolve_activation
from rnnkit.fused import fast
from tests.fused._calls import randomized, run_and_grads
from tests.fused._counting import count_calls
from tests.kernels._cell_loop import cell_loop
from tests.kernels._native import needs_native

torch.set_num_threads(1)


FUSABLE = {
    "basic_lstm": lambda: rk.BasicLSTMCell(6, forget_bias=0.4, input_size=3),
    "lstm": lambda: rk.LSTMCell(6, input_size=3),
    "basic_rnn": lambda: rk.BasicRNNCell(6, input_size=3),
    "cudnn_gru": lambda: rk.CudnnCompatibleGRUCell(6, input_size=3),
}


@pytest.fixture
def fast_calls(monkeypatch):
    """The number of kernel calls made by the fast path."""
    return count_calls(monkeypatch, fast, "kernel_call")


@pytest.mark.parametrize("name", list(FUSABLE))
@pytest.mark.parametrize("time_major", [False, True])
def test_the_second_call_is_fast_and_equals_the_general_path(name, time_major, fast_calls):
    torch.manual_seed(0)
    cell = randomized(FUSABLE[name]())
    x = torch.randn(5, 4, 3, requires_grad=True)
    first, first_grads = run_and_grads(
        cell, x, time_major=time_major
    )  # the general path, which plans
    assert fast_calls[0] == 0
    second, second_grads = run_and_grads(cell, x, time_major=time_major)
    assert fast_calls[0] == 1
    for a, b in zip([*first, *first_grads], [*second, *second_grads]):
        assert torch.equal(a, b)
    with torch.no_grad():  # (torch's inference kernel may round differently from its training one)
        general = rk.dynamic_rnn(copy.deepcopy(cell), x, time_major=time_major)[
            0
        ]  # a copy: no plan yet
        third = rk.dynamic_rnn(cell, x, time_major=time_major)[0]
    assert fast_calls[0] == 2 and torch.equal(third, general)


def test_config_epoch_moves_on_every_assignment():
    cell = rk.BasicLSTMCell(4, input_size=2)
    before = cell.config_epoch
    cell.forget_bias = 0.5
    assert cell.config_epoch > before
    before = cell.config_epoch
    cell.eval()
    assert cell.config_epoch > before


def test_a_changed_activation_is_planned_again(fast_calls):
    """relu has no fused kernel: after the change the step loop runs, with relu."""
    torch.manual_seed(1)
    cell = randomized(rk.BasicLSTMCell(6, input_size=3))
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    cell._activation, cell.activation_name = resolve_activation("test", "relu")
    got = rk.dynamic_rnn(cell, x)[0]
    assert fast_calls[0] == 0
    want = rk.dynamic_rnn(cell, x, fused=False)[0]
    assert torch.equal(got, want)
    assert not torch.allclose(got, rk.dynamic_rnn(_tanh_twin(cell), x)[0])


def _tanh_twin(cell):
    twin = copy.deepcopy(cell)
    twin._activation, twin.activation_name = resolve_activation("test", "tanh")
    return twin


def test_a_hook_added_later_sees_every_step(fast_calls):
    cell = rk.BasicLSTMCell(6, input_size=3)
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    seen = []
    cell.register_forward_hook(lambda module, args, out: seen.append(1))
    rk.dynamic_rnn(cell, x)
    assert fast_calls[0] == 0 and len(seen) == 5


def test_a_class_patched_after_the_first_call_is_seen(fast_calls):
    class Patched(rk.BasicLSTMCell):
        pass

    cell = Patched(6, input_size=3)
    x = torch.randn(4, 5, 3)
    plain = rk.dynamic_rnn(cell, x)[0]
    original = rk.BasicLSTMCell.recurrent_step

    def doubled(self, projected, state):
        out, new = original(self, projected, state)
        return out * 2, new

    Patched.recurrent_step = doubled
    got = rk.dynamic_rnn(cell, x)[0]
    assert fast_calls[0] == 0
    torch.testing.assert_close(got, plain * 2)


def test_a_copied_cell_computes_with_its_own_weights(fast_calls):
    torch.manual_seed(2)
    cell = randomized(rk.BasicLSTMCell(6, input_size=3))
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    rk.dynamic_rnn(cell, x)
    twin = copy.deepcopy(cell)
    with torch.no_grad():
        twin.kernel.mul_(-1)
    got = rk.dynamic_rnn(twin, x)[0]  # no plan of its own yet: the general path
    want = rk.dynamic_rnn(twin, x, fused=False)[0]
    torch.testing.assert_close(got, want)
    assert not torch.allclose(got, rk.dynamic_rnn(cell, x)[0])


def test_calls_that_are_not_plain_take_the_general_path(fast_calls):
    cell = rk.BasicLSTMCell(6, input_size=3)
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    rk.dynamic_rnn(cell, x, sequence_length=torch.tensor([5, 2, 5, 1]))
    rk.dynamic_rnn(cell, x, initial_state=cell.zero_state(4))
    rk.dynamic_rnn(cell, x, swap_memory=True)
    rk.dynamic_rnn(cell, x, fused=False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rk.dynamic_rnn(cell, x)
    assert fast_calls[0] == 0


def test_wrappers_are_never_remembered(fast_calls):
    x = torch.randn(4, 5, 3)
    wrapped = rk.DropoutWrapper(rk.BasicLSTMCell(6, input_size=3), output_keep_prob=0.5)
    for cell in (wrapped, wrapped.eval()):
        rk.dynamic_rnn(cell, x)
        rk.dynamic_rnn(cell, x)
    assert fast_calls[0] == 0  # (stacks: test_fast_call_stacks.py)


def test_bad_inputs_after_a_fast_call_get_the_general_messages():
    cell = rk.BasicLSTMCell(6, input_size=3)
    rk.dynamic_rnn(cell, torch.randn(4, 5, 3))
    with pytest.raises(
        ValueError, match=r"BasicLSTMCell: built for input_size=3, got inputs.shape\[-1\]=2"
    ):
        rk.dynamic_rnn(cell, torch.randn(4, 5, 2))
    with pytest.raises(
        TypeError, match="BasicLSTMCell: expected torch.float32 inputs .*got torch.float64"
    ):
        rk.dynamic_rnn(cell, torch.randn(4, 5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="dynamic_rnn: expected inputs of rank 3"):
        rk.dynamic_rnn(cell, torch.randn(4, 3))


def test_a_trace_after_fast_calls_records_torch_ops():
    cell = rk.BasicLSTMCell(6, input_size=3)
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    rk.dynamic_rnn(cell, x)

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = cell

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return rk.dynamic_rnn(self.cell, t)[0]

    traced = torch.jit.trace(Model(), (x,), check_trace=False)
    other = torch.randn(4, 5, 3)
    torch.testing.assert_close(traced(other), rk.dynamic_rnn(cell, other)[0])


def test_a_bad_fused_argument_is_refused_after_a_fast_call():
    cell = rk.BasicLSTMCell(6, input_size=3)
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    with pytest.raises(
        TypeError, match="dynamic_rnn: expected fused to be None, True or False, got 'yes'"
    ):
        rk.dynamic_rnn(cell, x, fused="yes")


def test_fast_calls_are_logged_at_debug_level(caplog):
    cell = rk.BasicLSTMCell(6, input_size=3)
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    with caplog.at_level("DEBUG", logger="rnnkit.fused"):
        rk.dynamic_rnn(cell, x)
    assert (
        "fused path, the plan of an earlier call (torch._VF.lstm(num_layers=1, hidden_size=6))"
        in caplog.text
    )


KERNEL_CELLS = {
    "gru": lambda: rk.GRUCell(6, input_size=3),
    "peepholes": lambda: rk.LSTMCell(6, use_peepholes=True, cell_clip=0.8, input_size=3),
    "layer_norm": lambda: rk.LayerNormBasicLSTMCell(6, input_size=3),
    "sru": lambda: rk.contrib.rnn.SRUCell(6, input_size=3),
}


@pytest.fixture
def kernel_choices(monkeypatch):
    """How many times the general path chose a sequence kernel (the fast path does not ask)."""
    from rnnkit.unroll import dynamic

    return count_calls(monkeypatch, dynamic, "kernel_for")


@needs_native
@pytest.mark.parametrize("name", list(KERNEL_CELLS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_remembered_sequence_kernel_equals_the_general_path(name, dtype, kernel_choices):
    torch.manual_seed(3)
    cell = randomized(KERNEL_CELLS[name]().to(dtype))
    x = torch.randn(4, 5, 3, dtype=dtype, requires_grad=True)
    first, first_grads = run_and_grads(cell, x)
    assert kernel_choices[0] == 1
    second, second_grads = run_and_grads(cell, x)
    assert kernel_choices[0] == 1  # not asked again
    for a, b in zip([*first, *first_grads], [*second, *second_grads]):
        assert torch.equal(a, b)


def test_a_remembered_kernel_asks_its_input_questions_again(kernel_choices):
    """Autocast or an ONNX-style trace: the kernel may not run; the general path decides (and says why)."""
    cell = rk.GRUCell(6, input_size=3)
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rk.dynamic_rnn(cell, x)
    assert kernel_choices[0] == 1  # autocast runs the step loop without asking for a kernel
    with pytest.raises(
        TypeError, match="GRUCell: expected torch.float32 inputs .*got torch.float64"
    ):
        rk.dynamic_rnn(cell, x.double())


def test_a_changed_cell_option_is_planned_again(kernel_choices):
    torch.manual_seed(4)
    cell = randomized(rk.LSTMCell(6, use_peepholes=True, input_size=3))
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    cell.cell_clip = 0.05  # the kernel reads the clip from the cell: a new plan, the new clip
    got = rk.dynamic_rnn(cell, x)[0]
    assert kernel_choices[0] == 2
    want = cell_loop(cell, x, cell.zero_state(4), None, False)[
        0
    ]  # the cell's own step, called per step
    torch.testing.assert_close(got, want)
    assert got.abs().max() < 0.06  # |m| <= tanh(0.05): the new clip


def test_a_cell_converted_after_its_first_call_is_planned_again():
    """``.to(dtype)`` replaces the parameters' data without an assignment (config_epoch stays): the native loops'
    own dtype question sends bfloat16 inputs to the step loop."""
    torch.manual_seed(5)
    cell = randomized(rk.GRUCell(6, input_size=3))
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(cell, x)
    cell.to(torch.bfloat16)
    got = rk.dynamic_rnn(cell, x.bfloat16())[0]
    want = cell_loop(cell, x.bfloat16(), cell.zero_state(4, torch.bfloat16), None, False)[0]
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(FUSABLE["basic_lstm"], id="fused"),
        pytest.param(lambda: rk.GRUCell(6, input_size=3), id="kernel", marks=needs_native),
    ],
)
def test_a_remembered_cell_is_freed_with_its_last_reference(make, fast_calls):
    """The remembered plan refers to its cell; it must not keep the cell alive (a weak dictionary whose values
    referred to their keys did, for every cell that ever took the fast call)."""
    import gc
    import weakref

    cell, x = make(), torch.randn(2, 4, 3)
    rk.dynamic_rnn(cell, x)
    rk.dynamic_rnn(cell, x)
    assert fast.REMEMBERED_PLAN in cell.__dict__
    alive = weakref.ref(cell)
    del cell
    gc.collect()
    assert alive() is None


def test_copies_and_pickles_leave_the_plan_behind():
    import pickle

    cell, x = FUSABLE["lstm"](), torch.randn(2, 4, 3)
    rk.dynamic_rnn(cell, x)
    assert fast.REMEMBERED_PLAN in cell.__dict__
    for other in (copy.copy(cell), copy.deepcopy(cell), pickle.loads(pickle.dumps(cell))):
        assert fast.REMEMBERED_PLAN not in other.__dict__
        torch.testing.assert_close(rk.dynamic_rnn(other, x)[0], rk.dynamic_rnn(cell, x)[0])
    assert fast.REMEMBERED_PLAN in cell.__dict__  # the original keeps its own


def test_only_cpu_calls_are_remembered():
    """(On the meta device here; CUDA is the case that matters: its memory must not wait for the collector.)"""
    cell = FUSABLE["basic_lstm"]().to("meta")
    with torch.no_grad():
        out, _ = rk.dynamic_rnn(cell, torch.randn(2, 4, 3, device="meta"))
    assert out.shape == (2, 4, 6)
    assert fast.REMEMBERED_PLAN not in cell.__dict__


@needs_native
def test_a_cell_with_its_own_zero_state_keeps_it_in_a_remembered_call(kernel_choices):
    """A subclass's ``zero_state`` is what the kernel starts from, on the fast call as on the first."""

    class Warm(rk.GRUCell):
        def zero_state(self, batch_size, dtype=None, device=None):
            return super().zero_state(batch_size, dtype, device) + 0.5

    torch.manual_seed(6)
    cell = Warm(6, input_size=3)
    x = torch.randn(4, 5, 3)
    first, _ = rk.dynamic_rnn(cell, x)
    second, _ = rk.dynamic_rnn(cell, x)
    assert kernel_choices[0] == 1  # the second call was the remembered one
    want = cell_loop(cell, x, cell.zero_state(4), None, False)[0]
    torch.testing.assert_close(first, want)
    assert torch.equal(second, first)
