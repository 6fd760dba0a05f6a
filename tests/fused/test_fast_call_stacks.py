"""NOTE [fast fused call] (fused/fast.py) for a ``MultiRNNCell`` of leaf cells that one kernel call computes: the
second plain call skips the plan and gives the general path's numbers bit for bit; anything the plan depends on in
any layer (its options, the cell object in the slot, hooks, its dtype) sends the call back to the general path."""

from __future__ import annotations

import copy

import pytest
import torch

import rnnkit as rk
from rnnkit.fused import fast
from tests.fused._calls import randomized, run_and_grads
from tests.fused._counting import count_calls

torch.set_num_threads(1)

STACKS = {
    "lstm": lambda: [
        rk.BasicLSTMCell(6, forget_bias=0.4, input_size=3),
        rk.LSTMCell(6, input_size=6),
    ],
    "three_lstm": lambda: (
        [rk.BasicLSTMCell(5, input_size=3) for _ in range(1)]
        + [rk.LSTMBlockCell(5, input_size=5), rk.BasicLSTMCell(5, input_size=5)]
    ),
    "gru": lambda: [
        rk.CudnnCompatibleGRUCell(6, input_size=3),
        rk.CudnnCompatibleGRUCell(6, input_size=6),
    ],
    "rnn": lambda: [rk.BasicRNNCell(6, input_size=3), rk.BasicRNNCell(6, input_size=6)],
}


@pytest.fixture
def fast_calls(monkeypatch):
    """The number of kernel calls made by the fast path."""
    return count_calls(monkeypatch, fast, "kernel_call")


def _stack(name: str, state_is_tuple: bool = True) -> rk.MultiRNNCell:
    torch.manual_seed(0)
    return randomized(rk.MultiRNNCell(STACKS[name](), state_is_tuple=state_is_tuple))


@pytest.mark.parametrize("name", list(STACKS))
@pytest.mark.parametrize("time_major", [False, True])
def test_the_second_call_is_fast_and_equals_the_general_path(name, time_major, fast_calls):
    stack = _stack(name)
    x = torch.randn(5, 4, 3, requires_grad=True)
    first, first_grads = run_and_grads(stack, x, time_major=time_major)  # plans
    assert fast_calls[0] == 0
    second, second_grads = run_and_grads(stack, x, time_major=time_major)
    assert fast_calls[0] == 1
    assert len(first) == len(second) and len(first_grads) == len(second_grads)
    for a, b in zip([*first, *first_grads], [*second, *second_grads]):
        assert torch.equal(a, b)
    with torch.no_grad():  # (torch's inference kernel may round differently from its training one)
        general = rk.dynamic_rnn(copy.deepcopy(stack), x, time_major=time_major)  # a copy: no plan
        fast_one = rk.dynamic_rnn(stack, x, time_major=time_major)
    assert fast_calls[0] == 2
    for a, b in zip(rk.nest.flatten(general), rk.nest.flatten(fast_one)):
        assert torch.equal(a, b)


def test_a_concatenated_state_comes_back_concatenated(fast_calls):
    torch.manual_seed(0)
    layers = [
        rk.BasicLSTMCell(6, state_is_tuple=False, input_size=3),
        rk.BasicLSTMCell(6, state_is_tuple=False, input_size=6),
    ]
    stack = rk.MultiRNNCell(layers, state_is_tuple=False)
    x = torch.randn(4, 5, 3)
    want = rk.dynamic_rnn(stack, x)
    got = rk.dynamic_rnn(stack, x)
    assert fast_calls[0] == 1 and got[1].shape == (4, 24)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_a_changed_layer_option_is_planned_again(fast_calls):
    stack = _stack("lstm")
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(stack, x)
    stack.cells[1].forget_bias = 2.5  # moves that layer's epoch only
    got = rk.dynamic_rnn(stack, x)[0]
    assert fast_calls[0] == 0
    assert torch.equal(got, rk.dynamic_rnn(copy.deepcopy(stack), x)[0])


def test_a_layer_replaced_in_its_slot_is_planned_again(fast_calls):
    stack = _stack("lstm")
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(stack, x)
    torch.manual_seed(5)
    # the same class made the same way (so the same epoch), set in the ModuleList (the stack's epoch stays)
    stack.cells[1] = rk.LSTMCell(6, input_size=6)
    got = rk.dynamic_rnn(stack, x)[0]
    assert fast_calls[0] == 0
    assert torch.equal(got, rk.dynamic_rnn(copy.deepcopy(stack), x)[0])
    stack.cells[1] = rk.GRUCell(6, input_size=6)  # no fused kernel for it: the step loop
    torch.testing.assert_close(
        rk.dynamic_rnn(stack, x)[0], rk.dynamic_rnn(stack, x, fused=False)[0]
    )
    assert fast_calls[0] == 0


def test_a_hook_on_a_layer_sees_every_step(fast_calls):
    stack = _stack("lstm")
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(stack, x)
    seen = []
    stack.cells[1].register_forward_hook(lambda module, args, out: seen.append(1))
    rk.dynamic_rnn(stack, x)
    assert fast_calls[0] == 0 and len(seen) == 5


def test_bad_inputs_and_a_converted_layer_get_the_general_messages(fast_calls):
    stack = _stack("lstm")
    rk.dynamic_rnn(stack, torch.randn(4, 5, 3))
    with pytest.raises(
        ValueError, match=r"BasicLSTMCell: built for input_size=3, got inputs.shape\[-1\]=2"
    ):
        rk.dynamic_rnn(stack, torch.randn(4, 5, 2))
    stack.cells[1].double()  # parameters changed in place: no epoch moves
    with pytest.raises(
        TypeError, match="LSTMCell: expected torch.float64 inputs .*got torch.float32"
    ):
        rk.dynamic_rnn(stack, torch.randn(4, 5, 3))
    assert fast_calls[0] == 0


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [rk.BasicLSTMCell(6, input_size=3), rk.CudnnCompatibleGRUCell(6, input_size=6)],
        lambda: [rk.BasicLSTMCell(6, input_size=3), rk.BasicLSTMCell(4, input_size=6)],
        lambda: [rk.BasicLSTMCell(6, input_size=3), rk.LSTMCell(6, num_proj=4, input_size=6)],
        lambda: [
            rk.DropoutWrapper(rk.BasicLSTMCell(6, input_size=3)),
            rk.BasicLSTMCell(6, input_size=6),
        ],
        lambda: [
            rk.MultiRNNCell([rk.BasicLSTMCell(6, input_size=3)]),
            rk.BasicLSTMCell(6, input_size=6),
        ],
    ],
    ids=["two_kinds", "two_sizes", "projection", "wrapper", "nested_stack"],
)
def test_stacks_of_more_than_one_kernel_call_or_not_of_leaves_are_not_remembered(
    layers, fast_calls
):
    stack = rk.MultiRNNCell(layers())
    x = torch.randn(4, 5, 3)
    first = rk.dynamic_rnn(stack, x)[0]
    second = rk.dynamic_rnn(stack, x)[0]
    assert fast_calls[0] == 0 and torch.equal(first, second)


def test_a_subclass_of_the_stack_is_not_remembered(fast_calls):
    class Doubled(rk.MultiRNNCell):
        def fused_spec(self):
            return "the stack's own formula"

        def forward(self, inputs, state):
            out, new = super().forward(inputs, state)
            return out * 2, new

    stack = Doubled([rk.BasicLSTMCell(6, input_size=3), rk.BasicLSTMCell(6, input_size=6)])
    x = torch.randn(4, 5, 3)
    rk.dynamic_rnn(stack, x)
    rk.dynamic_rnn(stack, x)
    assert fast_calls[0] == 0
