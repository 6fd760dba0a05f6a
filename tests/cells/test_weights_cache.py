"""NOTE [fused weights cache] (rnnkit/cells/_weights_cache.py): the re-laid-out LSTM weights kept between no-grad
fused calls are served only while the parameters hold exactly the values they were made from, whatever the
parameters' memory layout, and leave with their kernel. The cache serves only where the C re-layout cannot run;
the tests take it by leaving the torch ops alone (``torch_ops_only``), and check the C path beside it. The
reference of every check is the step loop (``fused=False``), which never reads the cache."""

from __future__ import annotations

import gc

import pytest
import torch

import rnnkit as rk
from rnnkit.cells import _weights_cache, lstm_layout

from ..kernels._native import needs_native

torch.set_num_threads(1)


@pytest.fixture
def torch_ops_only():
    """The re-layout without the C loops (a machine without a compiler, another device): the cache serves."""
    native = lstm_layout._NATIVE[0]
    lstm_layout.install_native(None)
    yield
    lstm_layout.install_native(native)


@pytest.fixture(params=["cache", pytest.param("native", marks=needs_native)])
def relayout(request):
    """Both no-grad paths: the torch ops with the cache, and the C re-layout on every call."""
    if request.param == "cache":
        request.getfixturevalue("torch_ops_only")
    return request.param


def _both(cell: rk.RNNCell, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        return rk.dynamic_rnn(cell, x, fused=True)[0], rk.dynamic_rnn(cell, x, fused=False)[0]


@pytest.mark.parametrize("num_proj", [None, 3])
def test_a_data_write_to_a_non_contiguous_kernel_is_seen(num_proj, relayout):
    """A kernel whose memory is transposed is compared with torch.equal, not memcmp: a ``.data`` write (no
    version bump) must still re-lay out the weights."""
    torch.manual_seed(0)
    cell = rk.LSTMCell(5, num_proj=num_proj, input_size=4)
    x = torch.randn(2, 6, 4)
    with torch.no_grad():
        rk.dynamic_rnn(cell, x)  # builds the cell
        cell.kernel.data = (
            cell.kernel.detach().t().contiguous().t()
        )  # the same values, transposed memory
    assert not cell.kernel.is_contiguous()
    fused, loop = _both(cell, x)
    torch.testing.assert_close(fused, loop)
    cell.kernel.data.mul_(-1.5)  # in place, through .data: no version bump
    fused_after, loop_after = _both(cell, x)
    assert not torch.equal(fused_after, fused)
    torch.testing.assert_close(fused_after, loop_after)


def test_a_bias_write_alone_is_seen(relayout):
    torch.manual_seed(1)
    cell = rk.BasicLSTMCell(5, input_size=4)
    x = torch.randn(3, 5, 4)
    first, _ = _both(cell, x)
    cell.bias.data[3] += 2.0  # one element of the bias only
    after, loop = _both(cell, x)
    assert not torch.equal(after, first)
    torch.testing.assert_close(after, loop)


def test_an_entry_is_used_while_exact_and_leaves_with_its_kernel(torch_ops_only):
    """The cache does serve a repeated call (the same weight tensors), and holds nothing of a deleted cell."""
    cell = rk.BasicLSTMCell(5, input_size=4)
    x = torch.randn(2, 3, 4)
    with torch.no_grad():
        rk.dynamic_rnn(cell, x)
        first = cell._torch_weights()
        again = cell._torch_weights()
        assert all(a is b for a, b in zip(first, again))
        cell.kernel.data.add_(0.25)
        changed = cell._torch_weights()
        assert changed[0] is not first[0]
    ident = id(cell.kernel)
    assert ident in _weights_cache._ENTRIES
    del cell, first, again, changed
    gc.collect()
    assert ident not in _weights_cache._ENTRIES


@needs_native
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_where_the_c_loops_re_lay_out_no_entry_is_kept(dtype):
    """The C re-layout is cheaper than the cache's check: a CPU float kernel keeps no entry (nor its snapshot),
    gets fresh weights on every no-grad call, and computes what the step loop does."""
    assert lstm_layout.native_relayout(torch.zeros(1, dtype=dtype))
    torch.manual_seed(3)
    cell = rk.BasicLSTMCell(6, input_size=5).to(dtype)
    x = torch.randn(3, 4, 5, dtype=dtype)
    with torch.no_grad():
        fused, loop = _both(cell, x)
        first, again = cell._torch_weights(), cell._torch_weights()
    torch.testing.assert_close(fused, loop)
    assert id(cell.kernel) not in _weights_cache._ENTRIES
    assert first[0] is not again[0] and torch.equal(first[0], again[0])
