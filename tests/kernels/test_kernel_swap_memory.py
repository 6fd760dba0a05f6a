"""swap_memory=True on a cell with a sequence kernel: the kernel runs in recomputed chunks (rnnkit._recompute),
not the checkpointed step loop (3-4x slower). Values and every gradient equal the plain kernel's."""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
import rnnkit.unroll.dynamic as dynamic
from tests.kernels._native import needs_native


def _cells() -> dict[str, rk.RNNCell]:
    torch.manual_seed(11)
    return {
        "gru": rk.GRUCell(5, input_size=3).double(),
        "peephole_clip": rk.LSTMCell(
            5, use_peepholes=True, cell_clip=0.7, input_size=3, state_is_tuple=False
        ).double(),
        "sru": rk.contrib.rnn.SRUCell(4, input_size=3).double(),
        "layer_norm": rk.LayerNormBasicLSTMCell(4, input_size=3).double(),
    }


@pytest.mark.parametrize(
    "name",  # (the layer-norm kernel has a torch-op loop: it runs without the native loops too)
    [n if n == "layer_norm" else pytest.param(n, marks=needs_native) for n in _cells()],
)
@pytest.mark.parametrize("lengths", [None, [40, 0, 17]], ids=str)
def test_swap_memory_runs_the_kernel_in_chunks_with_the_plain_gradients(monkeypatch, name, lengths):
    cell = _cells()[name]
    monkeypatch.setattr(dynamic, "run_steps_checkpointed", lambda *a, **k: pytest.fail("step loop"))
    x = torch.randn(3, 40, 3, dtype=torch.float64, requires_grad=True)
    lens = None if lengths is None else torch.tensor(lengths)
    init = rk.nest.map_structure(
        lambda n: torch.randn(3, n, dtype=torch.float64, requires_grad=True), cell.state_size
    )

    def run(swap: bool) -> list[torch.Tensor]:
        out, state = rk.dynamic_rnn(
            cell, x, sequence_length=lens, initial_state=init, swap_memory=swap
        )
        flat = [out, *rk.nest.flatten(state)]
        loss = sum(
            (t * torch.linspace(-1, 1, t.numel(), dtype=t.dtype).view_as(t)).sum() for t in flat
        )
        leaves = [x, *rk.nest.flatten(init), *cell.parameters()]
        return [t.detach() for t in flat] + list(torch.autograd.grad(loss, leaves))

    chunks: list[int] = []
    apply = dynamic.run_in_recomputed_chunks

    def counting(*args, **kwargs):
        chunks.append(1)
        return apply(*args, **kwargs)

    plain = run(False)
    monkeypatch.setattr(dynamic, "run_in_recomputed_chunks", counting)
    swapped = run(True)
    assert chunks == [1]
    for a, b in zip(plain, swapped):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)


@needs_native
def test_explain_says_the_kernel_runs_in_recomputed_chunks():
    text = rk.fused.explain(rk.GRUCell(8), swap_memory=True)
    assert text.startswith("kernels.gru_sequence (one autograd node per unroll"), text
    assert "in recomputed chunks of about 3*ceil(sqrt(T)) steps (swap_memory=True)" in text
