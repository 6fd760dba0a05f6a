"""NOTE [native re-layout]: rnnkit.kernels installs C loops for the fused LSTM's TF -> torch weight shuffle and
its gradient. They must give the torch ops' bits exactly (both are copies), be the ones that run, and step aside
where they cannot (a dtype, double backward)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.cells import lstm_layout
from rnnkit.kernels.lstm_layout import NativeLstmLayout
from tests.kernels._native import needs_native

torch.set_num_threads(1)

pytestmark = needs_native

# (D, H, P): P != H is an LSTM with a projection; D > 4H walks the transposes' other loop order. With AVX the
# transposes move 8 x 8 (float) or 4 x 4 (double) blocks, the last one overlapping where a side is not a multiple
# of the block, in 16 x 16 or 8 x 8 tiles; a side shorter than a block takes the scalar loop. So: sides of one,
# under a block, exactly a block, a block and one, tiles with a remainder, and 4H == D (the orders' boundary).
SIZES = [
    (3, 5, 5),
    (28, 128, 128),
    (7, 33, 9),
    (70, 8, 40),
    (1, 1, 1),
    (1, 3, 3),
    (13, 3, 2),
    (8, 8, 8),
    (4, 2, 4),
    (9, 17, 23),
    (24, 6, 25),
    (41, 9, 45),
    (33, 40, 19),
]


def _params(d, h, p, dtype):
    gen = torch.Generator().manual_seed(d * 1000 + h)
    kernel = torch.randn(d + p, 4 * h, generator=gen, dtype=dtype)
    bias = torch.randn(4 * h, generator=gen, dtype=dtype)
    forget = torch.zeros(4 * h, dtype=dtype)
    forget[h : 2 * h] = 0.75
    return kernel, bias, forget


def _both_ways_exactly(d, h, p, dtype):
    """Run both C shuffles on random parameters and gradients; assert the torch ops' bits, contiguous results.
    Returns ``(kernel, torch-layout weights, their gradients, the TF-layout gradients)``."""
    kernel, bias, forget = _params(d, h, p, dtype)
    done = NativeLstmLayout().to_torch(kernel, bias, d, forget)
    want = lstm_layout._gather(kernel, bias, d, forget)
    assert done is not None
    got, keep = done
    assert keep is None  # new tensors unless leased
    for g, w in zip(got, want):
        assert g.is_contiguous() and g.shape == w.shape and torch.equal(g, w)
    grads = [torch.randn_like(w) for w in want]
    back = NativeLstmLayout().to_tf(*grads)
    assert back is not None
    torch.testing.assert_close(
        back[0], lstm_layout._swap_jf(torch.cat([grads[0].t(), grads[1].t()], 0), 1), rtol=0, atol=0
    )
    torch.testing.assert_close(back[1], lstm_layout._swap_jf(grads[2], 0), rtol=0, atol=0)
    return kernel, want, grads, back


@pytest.mark.parametrize("d,h,p", SIZES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_c_shuffles_equal_the_torch_ops_bit_for_bit(d, h, p, dtype):
    kernel, want, grads, back = _both_ways_exactly(d, h, p, dtype)
    # and the gradient is the forward's transpose: <to_torch(K), G> == <K, to_tf(G)> for the kernel part
    assert torch.allclose(
        sum((a * b).sum() for a, b in zip(want[:2], grads[:2])), (kernel * back[0]).sum(), rtol=1e-4
    )


def test_non_contiguous_inputs_and_gradients():
    kernel, bias, forget = _params(4, 6, 6, torch.float64)
    strided = kernel.t().contiguous().t()
    done = NativeLstmLayout().to_torch(strided, bias, 4, forget)
    assert done is not None and all(
        torch.equal(a, b) for a, b in zip(done[0], lstm_layout._gather(kernel, bias, 4, forget))
    )
    d_ih, d_hh = (
        torch.randn(6, 24, dtype=torch.float64).t(),
        torch.randn(24, 6, dtype=torch.float64),
    )
    d_b = torch.randn(24, dtype=torch.float64).expand(24)
    back = NativeLstmLayout().to_tf(d_ih, d_hh, d_b)
    assert back is not None
    assert torch.equal(back[0], lstm_layout._swap_jf(torch.cat([d_ih.t(), d_hh.t()], 0), 1))


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize("d,h,p", [(28, 128, 128), (64, 96, 120), (200, 70, 40)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_on_several_threads_the_gate_blocks_are_all_moved(threads, d, h, p, dtype):
    """From about 64K values the gate blocks are shared out among torch's OpenMP threads (layout_real.h): every
    block, both ways, bit for bit, whatever the number of threads (3 leaves one thread two blocks)."""
    from rnnkit.kernels import native

    assert all(native._torch_omp()), "torch's OpenMP runtime is not found in the process"
    assert (d + p) * 4 * h >= 65536  # the parallel path's threshold
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _both_ways_exactly(d, h, p, dtype)
    finally:
        torch.set_num_threads(before)


def test_what_it_cannot_take_it_leaves_to_the_torch_ops():
    kernel, bias, forget = _params(3, 4, 4, torch.float32)
    layout = NativeLstmLayout()
    assert layout.to_torch(kernel.bfloat16(), bias.bfloat16(), 3, forget.bfloat16()) is None
    assert layout.to_torch(kernel, bias.double(), 3, forget) is None  # mixed dtypes
    assert layout.to_torch(kernel.to("meta"), bias.to("meta"), 3, forget.to("meta")) is None
    assert (
        layout.to_torch(kernel, bias, 7, forget) is None
    )  # no h rows: not an LSTM kernel of this depth
    g = torch.randn(16, 3)
    assert layout.to_tf(g.bfloat16(), g.bfloat16(), torch.zeros(16).bfloat16()) is None


def test_rnnkit_installs_it_and_the_fused_path_runs_it(monkeypatch):
    import rnnkit as rk

    assert isinstance(lstm_layout._NATIVE[0], NativeLstmLayout)
    calls = {"to_torch": 0, "to_tf": 0}
    layout = lstm_layout._NATIVE[0]

    def counting(name):
        original = getattr(layout, name)

        def counted(*args):
            calls[name] += 1
            return original(*args)

        return counted

    for name in calls:
        monkeypatch.setattr(layout, name, counting(name))
    cell = rk.BasicLSTMCell(5, input_size=3)
    x = torch.randn(2, 4, 3)
    out, _ = rk.dynamic_rnn(cell, x)
    out.sum().backward()
    assert calls == {"to_torch": 1, "to_tf": 1}
    fused_grads = [p.grad.clone() for p in cell.parameters()]
    cell.zero_grad()
    rk.dynamic_rnn(cell, x, fused=False)[0].sum().backward()
    for a, p in zip(fused_grads, cell.parameters()):
        torch.testing.assert_close(a, p.grad)


def test_double_backward_goes_through_the_torch_ops():
    kernel, bias, forget = _params(3, 4, 4, torch.float64)
    kernel.requires_grad_()
    bias.requires_grad_()
    out = lstm_layout.tf_lstm_to_torch(kernel, bias, 3, forget)
    loss = sum((o**2).sum() for o in out)
    (g_kernel,) = torch.autograd.grad(loss, kernel, create_graph=True)
    (gg,) = torch.autograd.grad(g_kernel.sum(), kernel)
    torch.testing.assert_close(gg, torch.full_like(kernel, 2.0))  # d/dK sum(2 K) = 2 everywhere
