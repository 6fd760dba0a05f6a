"""Cells and unrolls under ``torch.autocast`` (bf16 on CPU), and the training ``Precision`` helper.

Mixed precision means: matmuls in bf16, parameters and the state carried from step to step in float32.
"""

from __future__ import annotations

import pytest
import torch

import rnnkit as rk
from rnnkit.train.precision import Precision
from rnnkit.unroll._loop import run_steps
from rnnkit.unroll.dynamic import split_time
from tests.registry import CASE_IDS, CASES, D

B, T = 4, 7
LENGTHS = [7, 0, 3, 5]


def _bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    "input_dtype", [torch.float32, torch.bfloat16], ids=["f32_inputs", "bf16_inputs"]
)
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_autocast_keeps_state_in_float32_and_is_close_to_float32(case, input_dtype, lengths):
    cell = case.make_cell()
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(0))
    ref_out, ref_state = rk.dynamic_rnn(cell, x, sequence_length=lengths)
    with _bf16():
        out, state = rk.dynamic_rnn(cell, x.to(input_dtype), sequence_length=lengths)
    # outputs: float32 from cells whose output is their state; a wrapper's output projection may stay in bf16
    assert out.dtype in (torch.float32, torch.bfloat16)
    out = out.float()
    for leaf in rk.nest.flatten(state):
        assert leaf.dtype == torch.float32
    rk.nest.assert_same_structure(ref_state, state)
    # bf16 matmuls: close to float32 (8-bit mantissa), but not identical (autocast really acted)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=6e-2)
    assert (out - ref_out).abs().max() > 1e-5
    out.sum().backward()
    for p in cell.parameters():
        assert p.dtype == torch.float32 and p.grad is not None and p.grad.dtype == torch.float32


def test_matmuls_run_in_bf16_under_autocast():
    cell = rk.BasicLSTMCell(4, input_size=D)
    seen = []
    x = torch.randn(B, D)
    with (
        _bf16(),
        torch.autograd.graph.saved_tensors_hooks(lambda t: seen.append(t.dtype) or t, lambda t: t),
    ):
        cell(x.requires_grad_(), cell.zero_state(B))
    assert torch.bfloat16 in seen  # the addmm saved its bf16 operands


def test_lazy_build_under_autocast_makes_float32_parameters():
    torch.manual_seed(0)
    cell = rk.MultiRNNCell([rk.GRUCell(5), rk.LSTMCell(4, num_proj=2)])
    with _bf16():
        out, state = rk.dynamic_rnn(cell, torch.randn(B, T, D, dtype=torch.bfloat16))
    assert all(p.dtype == torch.float32 for p in cell.parameters())
    assert out.dtype == torch.float32 and all(
        s.dtype == torch.float32 for s in rk.nest.flatten(state)
    )


def test_float32_initial_state_with_bf16_inputs():
    cell = rk.BasicLSTMCell(4, input_size=D)
    x = torch.randn(B, T, D, dtype=torch.bfloat16)
    init = cell.zero_state(B)
    with _bf16():
        _, state = rk.dynamic_rnn(cell, x, initial_state=init, dtype=torch.float32)
        outs, _ = rk.static_rnn(cell, list(x.unbind(1)), initial_state=init)
    assert state.c.dtype == torch.float32 and outs[-1].dtype == torch.float32
    # outside autocast the dtype rule still holds
    with pytest.raises(
        TypeError, match="dynamic_rnn: expected initial_state of dtype torch.bfloat16"
    ):
        rk.dynamic_rnn(cell, x, initial_state=init)


def test_swap_memory_under_autocast_equals_the_step_loop_under_autocast():
    # The reference is the plain masked step loop itself (dynamic_rnn's default path may be a faster kernel).
    cell = rk.BasicLSTMCell(6, input_size=D)
    x = torch.randn(B, 16, D, generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([16, 3, 9, 0])
    results = []
    for swap in (False, True):
        cell.zero_grad()
        with _bf16():
            if swap:
                out, state = rk.dynamic_rnn(cell, x, sequence_length=lengths, swap_memory=True)
            else:
                steps, batch, _, _ = split_time("test", x, False)
                outs, state = run_steps(cell, steps, cell.zero_state(B), lengths, batch)
                out = torch.stack(outs, 1)
        (out.sum() + state.c.sum()).backward()
        results.append((out.detach(), cell.kernel.grad.clone()))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=0, atol=0)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-6, atol=1e-6)


# ---- the Precision helper ----------------------------------------------------------------------------------


def test_precision_names_and_errors():
    assert Precision("32", "cpu").dtype is None and Precision(32, "cpu").name == "32"
    assert Precision("bf16-mixed", "cpu").dtype == torch.bfloat16
    with pytest.raises(
        ValueError, match="Precision: expected one of 32, bf16, 16-mixed, got 'half'"
    ):
        Precision("half", "cpu")
    with pytest.raises(
        ValueError, match="Precision: 16-mixed .* needs a CUDA device, got device 'cpu'; on a CPU"
    ):
        Precision("16-mixed", "cpu")


class _Classifier(torch.nn.Module):
    """LSTM over ``[B, T, 2]``, head on the last output: is the first feature's running sum positive at the end?"""

    def __init__(self) -> None:
        super().__init__()
        self.cell = rk.BasicLSTMCell(16, input_size=2)
        self.head = torch.nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = rk.dynamic_rnn(self.cell, x)
        return self.head(out[:, -1])


def _train(precision: str, steps: int = 100) -> float:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1024, 10, 2, generator=gen)
    y = (x[:, :, 0].sum(1) > 0).long()
    torch.manual_seed(0)
    model = _Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    prec = Precision(precision, "cpu")
    for _ in range(steps):
        idx = torch.randint(0, 768, (64,), generator=gen)
        with prec.autocast():
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        prec.backward(loss)
        prec.unscale_(opt)
        prec.step(opt)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    with torch.no_grad(), prec.autocast():
        return (model(x[768:]).argmax(1) == y[768:]).float().mean().item()


def test_bf16_training_reaches_the_float32_accuracy_band():
    acc32, acc16 = _train("32"), _train("bf16")
    assert acc32 > 0.9, acc32  # the task is learnable in this budget ...
    assert acc16 > 0.9 and abs(acc16 - acc32) < 0.05, (
        acc32,
        acc16,
    )  # ... and bf16 lands in the same band


def test_bidirectional_under_autocast_keeps_float32_states():
    # bidirectional_dynamic_rnn asks rnnkit.fused.decide directly: under autocast it must pick the step loop.
    fw, bw = rk.BasicLSTMCell(4, input_size=D), rk.BasicLSTMCell(4, input_size=D)
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(3))
    with _bf16():
        _, (s_fw, s_bw) = rk.bidirectional_dynamic_rnn(fw, bw, x)
    assert {t.dtype for t in (*s_fw, *s_bw)} == {torch.float32}
    with _bf16(), pytest.raises(ValueError, match="fused=True, but .* autocast is on"):
        rk.dynamic_rnn(fw, x, fused=True)
