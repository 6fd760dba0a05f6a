"""The fused fast path: run cell stacks that torch's RNN kernels compute exactly on those kernels.

A stack is *fusable* when every layer is one of (exact types, no subclasses, no forward hooks):

* ``BasicLSTMCell`` / ``LSTMCell`` with tanh, no peepholes, no ``cell_clip`` / ``proj_clip``
  (``num_proj`` → torch's ``proj_size``) → ``torch._VF.lstm``;
* ``BasicRNNCell`` with tanh or relu → ``torch._VF.rnn_tanh`` / ``rnn_relu``;
* a ``MultiRNNCell`` of such cells (either ``state_is_tuple``), consecutive layers of one kind and size running
  in one kernel call.

The TF-layout parameters are re-laid out on every call, inside autograd, so gradients reach them::

    kernel [D+P, 4H] (gates i, j, f, o)  →  weight_ih = kernel[:D, (i, f, j, o)].T   [4H, D]
                                            weight_hh = kernel[D:, (i, f, j, o)].T   [4H, P]
    bias [4H]                            →  bias_ih = bias[(i, f, j, o)] + forget_bias on f;  bias_hh = 0
    projection/kernel [H, P]             →  weight_hr = projection/kernel.T          [P, H]

``sequence_length`` runs through packed sequences, which give TF's rule (zero outputs past a row's length, final
state at its last step); packed sequences reject length 0, so such rows run one step and are then replaced by
zeros / the initial state (``torch.where``, so no gradient flows through that step).

Which path ran and why: ``explain(cell)``, and a ``logging.DEBUG`` record on the ``rnnkit.fused`` logger for
every unroll.
"""

from .plan import FusedPlan, decide, explain, fusable, logger, plan
from .run import one_call_bidirectional, run_fused, run_fused_bidirectional

__all__ = [
    "FusedPlan",
    "decide",
    "explain",
    "fusable",
    "logger",
    "plan",
    "run_fused",
    "run_fused_bidirectional",
    "one_call_bidirectional",
]
