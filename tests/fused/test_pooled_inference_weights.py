"""NOTE [pooled kernel weights] (cells/fused_spec.py), outside autograd recording: a fused call re-lays out each
large LSTM layer's weights into buffers leased from the kernels' pool and returns them after its kernel call.
Every call must still compute with that call's parameters (an in-place step, a ``.data`` write), threads must
never share a leased set, and the public ``weights()`` keeps returning new tensors. (Recording calls:
``test_pooled_training_weights.py``.)"""

from __future__ import annotations

import threading

import pytest
import torch

import rnnkit as rk
from rnnkit.fused import fast, run
from rnnkit.kernels import _workspace, lstm_layout
from tests.fused._pooled import D, H, unpooled
from tests.kernels._native import needs_native

torch.set_num_threads(1)

pytestmark = needs_native


@pytest.fixture(autouse=True)
def small_leases(monkeypatch):
    """Lease from 64 KB up, so that these small shapes take the pooled route."""
    monkeypatch.setattr(lstm_layout, "_INFERENCE_LEASE_MIN_BYTES", 2**16)


def _stack() -> rk.MultiRNNCell:
    torch.manual_seed(0)
    stack = rk.MultiRNNCell([rk.BasicLSTMCell(H, input_size=D), rk.LSTMBlockCell(H, input_size=H)])
    with torch.no_grad():
        for _ in range(2):  # builds, then fills the native layout's function table
            rk.dynamic_rnn(stack, torch.randn(2, 3, D))
        for p in stack.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return stack


def _leases(monkeypatch) -> list[list[int]]:
    """The data pointers of each lease ``layer_weights`` hands out from now on (not the leases: holding one
    would keep its buffers out of the pool)."""
    seen: list[list[int]] = []
    original = run.layer_weights

    def recording(layers):
        weights, keep = original(layers)
        seen.extend([b.data_ptr() for b in k.buffers] for k in keep if k is not None)
        return weights, keep

    for module in (run, fast):  # the general path and the fast call (NOTE [fast fused call])
        monkeypatch.setattr(module, "layer_weights", recording)
    return seen


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_each_call_computes_with_its_parameters_in_reused_buffers(mode, monkeypatch):
    stack = _stack()
    x = torch.randn(4, 6, D)
    leases = _leases(monkeypatch)
    with mode():
        for step in range(3):
            stack.cells[0].kernel.add_(0.05)  # an in-place step
            stack.cells[1].bias.data = stack.cells[1].bias.data - 0.1 * step  # a `.data` write
            got = rk.dynamic_rnn(stack, x)[0]
            want = unpooled(stack, x, monkeypatch)
            assert torch.equal(got, want)
    assert len(leases) == 6  # both layers, every call
    assert leases[:2] == leases[-2:]  # the same buffers again
    assert _workspace.pooled_bytes() > 0  # and back in the pool after the calls


def test_a_recording_call_hands_the_caller_no_lease_and_the_public_weights_are_new_tensors(
    monkeypatch,
):
    stack = _stack()
    leases = _leases(monkeypatch)
    x = torch.randn(4, 6, D)
    out = rk.dynamic_rnn(stack, x)[0]
    out.sum().backward()
    assert leases == [] and stack.cells[0].kernel.grad is not None  # (the autograd node holds it)
    with torch.no_grad():
        layer = stack.cells[0].fused_spec().layers[0]
        a, b = layer.weights(), layer.weights()
    assert all(u.data_ptr() != v.data_ptr() for u, v in zip(a[:3], b[:3]))


def test_threads_calling_one_stack_each_get_their_own_buffers(monkeypatch):
    stack = _stack()
    inputs = [torch.randn(4, 30, D) for _ in range(4)]
    with torch.no_grad():
        want = [unpooled(stack, x, monkeypatch) for x in inputs]
    errors: list[int] = []

    def call(k: int) -> None:
        with torch.no_grad():
            for _ in range(20):
                if not torch.equal(rk.dynamic_rnn(stack, inputs[k])[0], want[k]):
                    errors.append(k)

    threads = [threading.Thread(target=call, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_kernel_under_the_no_grad_floor_gets_new_tensors_and_no_lease(monkeypatch):
    monkeypatch.setattr(lstm_layout, "_INFERENCE_LEASE_MIN_BYTES", 2**20)
    monkeypatch.setattr(
        lstm_layout, "_LEASE_MIN_BYTES", 2**16
    )  # (the recording floor does not apply)
    stack = _stack()
    leases = _leases(monkeypatch)
    x = torch.randn(4, 6, D)
    with torch.no_grad():
        got = rk.dynamic_rnn(stack, x)[0]
        want = unpooled(stack, x, monkeypatch)
    assert leases == [] and torch.equal(got, want)
    taken = []
    original = _workspace.lease
    monkeypatch.setattr(_workspace, "lease", lambda *a: taken.append(a) or original(*a))
    rk.dynamic_rnn(stack, x)[0].sum().backward()  # a recording call of the same stack leases
    assert len(taken) == 2
