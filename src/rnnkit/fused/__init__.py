"""The fused fast path: run cells that torch's RNN kernels compute exactly on those kernels.

A cell says itself whether a kernel computes it, through the public contract ``cell.fused_spec()``: a
``FusedSpec`` (kernel mode and sizes per layer, the weights in torch's layout, the state conversions) or a reason.
Today ``BasicLSTMCell`` / ``LSTMCell`` with tanh, no peepholes, no ``cell_clip`` / ``proj_clip`` (``num_proj`` →
torch's ``proj_size``), ``LSTMBlockCell`` and ``CudnnCompatibleLSTMCell`` without peepholes or clip run on
``torch._VF.lstm``, ``CudnnCompatibleGRUCell`` on ``gru``, ``BasicRNNCell`` with tanh or relu on ``rnn_tanh`` /
``rnn_relu``, and a ``MultiRNNCell`` of such cells (either ``state_is_tuple``) composes its layers' specs, consecutive layers of
one kind and size running in one kernel call. A cell with forward hooks never runs fused (the kernel would skip
the hooks).

The TF-layout parameters are re-laid out on every call, inside autograd, so gradients reach them::

    kernel [D+P, 4H] (gates i, j, f, o)  →  weight_ih = kernel[:D, (i, f, j, o)].T   [4H, D]
                                            weight_hh = kernel[D:, (i, f, j, o)].T   [4H, P]
    bias [4H]                            →  bias_ih = bias[(i, f, j, o)] + forget_bias on f;  bias_hh = 0
    projection/kernel [H, P]             →  weight_hr = projection/kernel.T          [P, H]

``sequence_length`` runs through packed sequences, which give TF's rule (zero outputs past a row's length, final
state at its last step); packed sequences reject length 0, so such rows run one step and are then replaced by
zeros / the initial state (``torch.where``, so no gradient flows through that step).

``DropoutWrapper`` in train mode with input / output dropout only keeps the kernels: one call per layer, with
elementwise dropout of the whole sequences between the calls (``fused/dropout.py``; seeded wrappers get the step
loop's masks on CPU). State dropout (the mask acts inside the recurrence) and ``variational_recurrent=True`` (one
mask for every step) keep the step loop.

Which path ran and why: ``explain(cell)``, and a ``logging.DEBUG`` record on the ``rnnkit.fused`` logger for
every unroll.
"""

from ..cells.fused_spec import FusedLayer, FusedSpec
from .plan import explain, fusable

__all__ = ["explain", "fusable", "FusedSpec", "FusedLayer"]
