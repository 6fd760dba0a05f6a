"""LSTMBlockFusedCell: TF's call (time-major, initial_state=(c, h), dtype, sequence_length; a list in, a list out),
its names, and the same numbers as LSTMBlockCell under dynamic_rnn (TF's BlockLSTM:
tests/tf_fixtures/test_tf_fixtures_block.py)."""

from __future__ import annotations

import torch

import rnnkit as rk
from rnnkit.kernels import native


def test_call_forms_names_and_equality_with_the_block_cell():
    torch.manual_seed(0)
    fused = rk.LSTMBlockFusedCell(4, forget_bias=0.5, input_size=3)
    assert list(rk.tf_variables(fused)) == ["lstm_fused_cell/kernel", "lstm_fused_cell/bias"]
    assert rk.fused.explain(fused) == "fused: torch._VF.lstm(num_layers=1, hidden_size=4)"
    cell = rk.LSTMBlockCell(4, forget_bias=0.5, input_size=3)
    rk.load_tf_variables(
        cell,
        dict(zip(rk.tf_variables(cell), [v.detach() for v in rk.tf_variables(fused).values()])),
    )
    x = torch.randn(6, 2, 3)
    init = (torch.randn(2, 4), torch.randn(2, 4))
    out, state = fused(x, initial_state=init, dtype=torch.float32, sequence_length=[6, 0])
    want, want_state = rk.dynamic_rnn(cell, x, initial_state=rk.LSTMStateTuple(*init), sequence_length=[6, 0],
                                      time_major=True)  # fmt: skip
    torch.testing.assert_close(out, want)
    assert isinstance(state, rk.LSTMStateTuple)
    torch.testing.assert_close(state.c[1], init[0][1])  # length 0: the initial state
    torch.testing.assert_close(state.h, want_state.h)
    outs, _ = fused(list(x.unbind(0)))
    assert isinstance(outs, list) and len(outs) == 6 and outs[0].shape == (2, 4)
    peep = rk.LSTMBlockFusedCell(4, use_peephole=True)
    assert "LSTMBlockCell uses peepholes" in peep.explain()
    # not torch's fused kernel: the native sequence kernel (rnnkit.kernels) where it can run
    if native.library() is not None:
        assert peep.explain().startswith(
            "step loop as one sequence kernel, kernels.peephole_lstm_sequence"
        )
    else:  # (RNNKIT_NATIVE=0, no compiler): the step loop, and why
        assert "no sequence kernel: the native loops are not available" in peep.explain()
