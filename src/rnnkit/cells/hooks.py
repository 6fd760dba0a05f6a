"""The per-sequence hook: how cells learn that a new unroll call has started.

NOTE [begin_sequence]: some cells keep state that must last exactly one unroll call and no longer — the variational
masks of ``DropoutWrapper(variational_recurrent=True)`` are drawn once per sequence and shared by all its steps.
Every rnnkit unroll (``dynamic_rnn``, ``static_rnn``, ``raw_rnn`` and the bidirectional/stacked unrolls built on them)
calls ``begin_sequence(cell)`` once before its first step; it calls ``_begin_sequence()`` on every module inside
``cell`` (wrappers nested in ``MultiRNNCell`` included) that defines it. A hand-written step loop calls
``rk.begin_sequence(cell)`` itself before each new sequence (until it does, the masks of the previous sequence stay).
This is the PyTorch counterpart of TF1 drawing the noise once per ``session.run``.
"""

from __future__ import annotations

from torch import nn

__all__ = ["begin_sequence"]


def begin_sequence(cell: nn.Module) -> None:
    """Tell every module inside ``cell`` that a new sequence (unroll call) starts: see NOTE [begin_sequence]."""
    if not isinstance(cell, nn.Module):
        raise TypeError(
            f"begin_sequence: expected a cell (a torch.nn.Module), got {type(cell).__name__}"
        )
    for module in cell.modules():
        hook = getattr(module, "_begin_sequence", None)
        if callable(hook):
            hook()
