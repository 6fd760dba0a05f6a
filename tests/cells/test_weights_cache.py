"""NOTE [fused weights cache] (rnnkit/cells/_weights_cache.py): the re-laid-out LSTM weights kept between no-grad
fused calls are served only while the parameters hold exactly the values they were made from, whatever the
parameters' memory layout, and leave with their kernel. The reference of every check is the step loop
(``fused=False``), which never reads the cache."""

from __future__ import annotations

import gc

import pytest
import torch

import rnnkit as rk
from rnnkit.cells import _weights_cache

torch.set_num_threads(1)


def _both(cell: rk.RNNCell, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        return rk.dynamic_rnn(cell, x, fused=True)[0], rk.dynamic_rnn(cell, x, fused=False)[0]


@pytest.mark.parametrize("num_proj", [None, 3])
def test_a_data_write_to_a_non_contiguous_kernel_is_seen(num_proj):
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


def test_a_bias_write_alone_is_seen():
    torch.manual_seed(1)
    cell = rk.BasicLSTMCell(5, input_size=4)
    x = torch.randn(3, 5, 4)
    first, _ = _both(cell, x)
    cell.bias.data[3] += 2.0  # one element of the bias only
    after, loop = _both(cell, x)
    assert not torch.equal(after, first)
    torch.testing.assert_close(after, loop)


def test_an_entry_is_used_while_exact_and_leaves_with_its_kernel():
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
