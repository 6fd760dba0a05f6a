"""Which cells a sequence kernel computes exactly, and running it from an unroll.

``kernel_for(cell, like)`` returns a runner or the reason there is none; ``dynamic_rnn`` calls the runner in place
of its step loop (``fused=None`` or ``False`` alike: the kernel *is* the loop's implementation for that cell, same
numbers to float rounding), and ``rk.fused.explain`` reports the choice. ``like`` (the inputs) decides what
depends on the tensors: the native kernels run on CPU float32/float64 outside autocast, traces and exports (the
layer-normalised LSTMs' kernel then runs its torch-op loop instead).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..cells.block import LSTMBlockCell
from ..cells.contrib.conv_lstm import _ConvLSTMCell
from ..cells.contrib.ind import IndRNNCell, IndyGRUCell, IndyLSTMCell
from ..cells.contrib.lstm_like import GLSTMCell, NASCell
from ..cells.contrib.norm_lstm import CoupledInputForgetGateLSTMCell, LayerNormLSTMCell
from ..cells.contrib.phased import PhasedLSTMCell
from ..cells.contrib.simple import IntersectionRNNCell, SRUCell, UGRNNCell
from ..cells.dropout import DropoutWrapper
from ..cells.fused_spec import has_hooks
from ..cells.gru import GRUCell
from ..cells.layer_norm_lstm import LayerNormBasicLSTMCell
from ..cells.lstm import LSTMCell
from ..cells.state import LSTMStateTuple
from . import _inputs
from .cifg_lstm import cifg_lstm_sequence
from .conv_lstm import run_conv_lstm_cell
from .glstm import glstm_sequence
from .gru import gru_sequence
from .indy import indrnn_sequence, indy_gru_sequence, indy_lstm_sequence
from .intersection import intersection_sequence
from .layer_norm_lstm import layer_norm_lstm_sequence
from .nas import nas_sequence
from .peephole_lstm import peephole_lstm_sequence
from .phased import run_phased_cell
from .sru_ugrnn import sru_sequence, ugrnn_sequence

__all__ = ["kernel_for", "SequenceRunner", "without_identity_dropout"]

#: ``runner(inputs [B, T, D] or [T, B, D] (padding zeroed; for a cell in ``_inputs.PAIRS`` a ``(times, inputs)``
#: pair of them), state, lengths or None, time_major)`` → ``(outputs, final_state)`` as the step loop returns them.
SequenceRunner = Callable[[Any, Any, "torch.Tensor | None", bool], tuple[torch.Tensor, Any]]

_GATES = ("input", "transform", "forget", "output")
# The methods whose override would change the math the kernel hard-codes.
_MATH = (
    "forward",
    "input_projection",
    "recurrent_step",
    "_step",
    "_norm",
    "_dropout",
    "_activation",
    "_step_pair",
    "_conv",
)


def without_identity_dropout(cell: Any) -> Any:
    """``cell`` with every outer ``DropoutWrapper`` that drops nothing removed: one in ``eval()`` mode, or with
    every keep probability 1 (its call is then exactly its cell's, so the same fused kernel or sequence kernel
    computes it). A wrapper with hooks stays (hooks must see every step)."""
    while isinstance(cell, DropoutWrapper) and not has_hooks(cell) and cell.drops_nothing():
        cell = cell.cell
    return cell


def _common_reason(cell: Any, cls: type) -> str | None:
    """Why a kernel written for ``cls`` may not run ``cell`` (an overridden step or hooks), else None."""
    overridden = [m for m in _MATH if getattr(type(cell), m, None) is not getattr(cls, m, None)]
    if overridden:
        return f"{type(cell).__name__} overrides {overridden[0]}, which the kernel would skip"
    if has_hooks(cell):
        return "the cell has forward hooks, which must see every step"
    return None


def _layer_norm_reason(cell: LayerNormBasicLSTMCell | LayerNormLSTMCell) -> str | None:
    """Both layer-normalised LSTMs: the basic one's recurrent dropout, the contrib one's projection (and its
    ``_project``) are what the kernel lacks."""
    if isinstance(cell, LayerNormLSTMCell):
        reason = _common_reason(cell, LayerNormLSTMCell)
        if reason is None and type(cell)._project is not LayerNormLSTMCell._project:
            reason = f"{type(cell).__name__} overrides _project, which the kernel would skip"
    else:
        reason = _common_reason(cell, LayerNormBasicLSTMCell)
    if reason is not None:
        return reason
    if not cell.layer_norm:
        return "layer_norm=False (the kernel is for the layer-normalised cell)"
    if cell.activation_name != "tanh":
        return (
            f"activation {cell.activation_name or repr(cell._activation)}; the kernel has tanh only"
        )
    if isinstance(cell, LayerNormLSTMCell):
        return "num_proj (the kernel has no projection)" if cell.num_proj is not None else None
    if cell.training and cell._keep_value(cell.dropout_keep_prob) < 1.0:
        return "recurrent dropout is active (train mode, dropout_keep_prob < 1)"
    return None


def _run_layer_norm(
    cell: LayerNormBasicLSTMCell | LayerNormLSTMCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    """Both layer-normalised LSTMs: the same parameter names, the contrib one's peepholes and clip optional;
    the native loops where they can take the inputs, else the same recurrence in torch ops."""
    d = cell.input_size
    xk = F.linear(x, cell.kernel[:d].t())  # all steps' input half in one matmul, [T, B, 4H]
    gamma4 = torch.stack([getattr(cell, f"{g}_gamma") for g in _GATES])
    beta4 = torch.stack([getattr(cell, f"{g}_beta") for g in _GATES])
    gamma_s, beta_s = cell.state_gamma, cell.state_beta
    assert isinstance(gamma_s, torch.Tensor) and isinstance(beta_s, torch.Tensor)  # built above
    peepholes, clip = None, None
    if isinstance(cell, LayerNormLSTMCell):
        if cell.use_peepholes:
            peepholes = torch.stack([cell.w_i_diag, cell.w_f_diag, cell.w_o_diag])
        clip = cell.cell_clip
    c0, h0 = state
    out, c, h = layer_norm_lstm_sequence(
        xk, cell.kernel[d:], gamma4, beta4, gamma_s, beta_s, c0, h0, lengths,
        forget_bias=cell.forget_bias, peepholes=peepholes, cell_clip=clip, native=_inputs.native_reason(x) is None,
    )  # fmt: skip
    return out, LSTMStateTuple(c, h)


def _activation_reason(
    cls: type, allowed: tuple[str, ...] = ("tanh",)
) -> Callable[[Any], str | None]:
    """The reason function of a kernel written for ``cls`` with these activations only."""

    def reason(cell: Any) -> str | None:
        why = _common_reason(cell, cls)
        if why is None and cell.activation_name not in allowed:
            name = cell.activation_name or repr(cell._activation)
            why = f"activation {name}; the kernel has {' and '.join(allowed)} only"
        return why

    return reason


def _lstm_reason(cell: LSTMCell) -> str | None:
    reason = _activation_reason(LSTMCell)(cell)
    if reason is None and cell.num_proj is not None:
        reason = "num_proj (the kernel has no projection)"
    return reason


def _run_indrnn(
    cell: IndRNNCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    relu = cell.activation_name == "relu"
    out, h = indrnn_sequence(x, cell.kernel_w, cell.bias, cell.kernel_u, state, lengths, relu=relu)
    return out, h


def _run_indy_gru(
    cell: IndyGRUCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    out, h = indy_gru_sequence(
        x, cell.gates_kernel_w, cell.gates_bias, cell.gates_kernel_u, cell.candidate_kernel_w,
        cell.candidate_bias, cell.candidate_kernel_u, state, lengths,
    )  # fmt: skip
    return out, h


def _run_indy_lstm(
    cell: IndyLSTMCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    c0, h0 = state
    out, c, h = indy_lstm_sequence(
        x, cell.kernel_w, cell.bias, cell.kernel_u, c0, h0, cell.forget_bias, lengths
    )
    return out, LSTMStateTuple(c, h)


def _run_nas(cell: NASCell, x: torch.Tensor, state: Any, lengths: Any) -> tuple[torch.Tensor, Any]:
    c0, m0 = state
    out, c, m = nas_sequence(
        x, cell.kernel, cell.recurrent_kernel, cell.bias, c0, m0, lengths, cell.projection_weights
    )
    return out, LSTMStateTuple(c, m)


def _run_glstm(
    cell: GLSTMCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    c0, m0 = state
    biases = [cell.bias_i, cell.bias_j, cell.bias_f, cell.bias_o]
    out, c, m = glstm_sequence(
        x, cell._group_kernels(), biases, cell.projection_kernel, c0, m0, cell.forget_bias,
        str(cell.activation_name), lengths,
    )  # fmt: skip
    return out, LSTMStateTuple(c, m)


def _intersection_reason(cell: IntersectionRNNCell) -> str | None:
    reason = _common_reason(cell, IntersectionRNNCell)
    if reason is None and cell.y_activation_name not in ("relu", "tanh"):
        name = cell.y_activation_name or repr(cell._y_activation)
        reason = f"y_activation {name}; the kernel has relu and tanh only"
    return reason


def _run_intersection(
    cell: IntersectionRNNCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    xp, zx = cell.input_projection(x)
    units, relu = cell.num_units, cell.y_activation_name == "relu"
    out, h = intersection_sequence(
        xp, zx, cell.kernel[units:], state, cell.forget_bias, relu=relu, lengths=lengths
    )
    return out, h


def _run_sru(cell: SRUCell, x: torch.Tensor, state: Any, lengths: Any) -> tuple[torch.Tensor, Any]:
    out, c = sru_sequence(x, cell.kernel, cell.bias, state, lengths)
    return out, c


def _run_ugrnn(
    cell: UGRNNCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    out, h = ugrnn_sequence(x, cell.kernel, cell.bias, state, cell.forget_bias, lengths)
    return out, h


def _run_gru(cell: GRUCell, x: torch.Tensor, state: Any, lengths: Any) -> tuple[torch.Tensor, Any]:
    out, h = gru_sequence(
        x,
        cell.gates_kernel,
        cell.gates_bias,
        cell.candidate_kernel,
        cell.candidate_bias,
        state,
        lengths,
    )
    return out, h


def _run_lstm(
    cell: LSTMCell | LSTMBlockCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    pack: Callable[[torch.Tensor, torch.Tensor], Any]
    if isinstance(
        cell, LSTMBlockCell
    ):  # always a tuple state; its TF kernels pass the gradient through the clip
        (c0, m0), pack, clip_gradient = state, LSTMStateTuple, False
    else:
        (c0, m0), pack, clip_gradient = cell._unpack(state), lambda c, m: cell._pack(c, m)[1], True
    peepholes = None
    if cell.use_peepholes:
        peepholes = torch.stack([cell.w_i_diag, cell.w_f_diag, cell.w_o_diag])
    out, c, m = peephole_lstm_sequence(
        x, cell.kernel, cell.bias, peepholes, c0, m0, cell.forget_bias, cell.cell_clip, lengths,
        clip_gradient=clip_gradient,
    )  # fmt: skip
    return out, pack(c, m)


def _cifg_reason(cell: CoupledInputForgetGateLSTMCell) -> str | None:
    reason = _activation_reason(CoupledInputForgetGateLSTMCell)(cell)
    if reason is None and type(cell)._project is not CoupledInputForgetGateLSTMCell._project:
        reason = f"{type(cell).__name__} overrides _project, which the kernel would skip"
    if reason is None and cell.layer_norm:
        reason = "layer_norm=True (the kernel is for the cell without layer normalisation)"
    return reason


def _run_cifg(
    cell: CoupledInputForgetGateLSTMCell, x: torch.Tensor, state: Any, lengths: Any
) -> tuple[torch.Tensor, Any]:
    units = cell.num_units
    c0, m0 = state if cell.state_is_tuple else (state[:, :units], state[:, units:])
    peepholes = torch.stack([cell.w_f_diag, cell.w_o_diag]) if cell.use_peepholes else None
    proj = cell.projection_kernel if cell.num_proj is not None else None
    out, c, m = cifg_lstm_sequence(
        x, cell.kernel, cell.bias, peepholes, proj, c0, m0, cell.forget_bias,
        cell.proj_clip if proj is not None else None, lengths,
    )  # fmt: skip
    return out, (LSTMStateTuple(c, m) if cell.state_is_tuple else torch.cat([c, m], 1))


_LAYER_NORM = "kernels.layer_norm_lstm_sequence: native loops on CPU float32/float64 where they load, torch ops elsewhere"

# cell class → (why the kernel may not run this cell, or None; the runner; its description; native loops?)
_KERNELS: dict[
    type, tuple[Callable[[Any], str | None], Callable[..., tuple[torch.Tensor, Any]], str, bool]
] = {
    GRUCell: (_activation_reason(GRUCell), _run_gru, "kernels.gru_sequence", True),
    LSTMCell: (_lstm_reason, _run_lstm, "kernels.peephole_lstm_sequence", True),
    LSTMBlockCell: (
        _activation_reason(LSTMBlockCell),
        _run_lstm,
        "kernels.peephole_lstm_sequence",
        True,
    ),
    LayerNormBasicLSTMCell: (
        _layer_norm_reason,
        _run_layer_norm,
        _LAYER_NORM,
        False,
    ),
    LayerNormLSTMCell: (
        _layer_norm_reason,
        _run_layer_norm,
        _LAYER_NORM,
        False,
    ),
    IndRNNCell: (
        _activation_reason(IndRNNCell, ("tanh", "relu")),
        _run_indrnn,
        "kernels.indrnn_sequence",
        True,
    ),
    IndyGRUCell: (
        _activation_reason(IndyGRUCell),
        _run_indy_gru,
        "kernels.indy_gru_sequence",
        True,
    ),
    IndyLSTMCell: (
        _activation_reason(IndyLSTMCell),
        _run_indy_lstm,
        "kernels.indy_lstm_sequence",
        True,
    ),
    SRUCell: (_activation_reason(SRUCell), _run_sru, "kernels.sru_sequence", True),
    UGRNNCell: (_activation_reason(UGRNNCell), _run_ugrnn, "kernels.ugrnn_sequence", True),
    NASCell: (lambda cell: _common_reason(cell, NASCell), _run_nas, "kernels.nas_sequence", True),
    GLSTMCell: (
        _activation_reason(GLSTMCell, ("tanh", "relu")),
        _run_glstm,
        "kernels.glstm_sequence",
        True,
    ),
    IntersectionRNNCell: (
        _intersection_reason,
        _run_intersection,
        "kernels.intersection_sequence",
        True,
    ),
    PhasedLSTMCell: (
        lambda cell: _common_reason(cell, PhasedLSTMCell),
        run_phased_cell,
        "kernels.phased_lstm_sequence",
        True,
    ),
    CoupledInputForgetGateLSTMCell: (_cifg_reason, _run_cifg, "kernels.cifg_lstm_sequence", True),
    # Conv1DLSTMCell, Conv2DLSTMCell, Conv3DLSTMCell, ConvLSTMCell (CUDA too: not only native loops)
    _ConvLSTMCell: (
        lambda cell: _common_reason(cell, _ConvLSTMCell),
        run_conv_lstm_cell,
        "kernels.conv_lstm_sequence: torch's convolutions, the steps' pointwise work native on CPU float32/float64",
        False,
    ),
}


def kernel_for(cell: Any, like: Any = None) -> tuple[SequenceRunner | None, str]:
    """``(runner, description)`` for a built cell a sequence kernel computes, else ``(None, reason)``.

    ``like``: the inputs (one tensor, or the ``(times, inputs)`` pair of a cell in ``_inputs.PAIRS``), when known;
    without them the answer is the cell's alone (``rk.fused.explain``), and the native kernels' description says
    what they need of the inputs."""
    cell = without_identity_dropout(cell)
    for cls, (why_not, runner, name, native_loops) in _KERNELS.items():
        if not isinstance(cell, cls):
            continue
        tensor, reason = _inputs.inputs_reason(cls, like)
        reason = reason or why_not(cell) or (_inputs.trace_reason() if like is not None else None)
        reason = reason or (_inputs.native_reason(tensor) if native_loops else None)
        if reason is not None:
            return None, reason

        def run(
            inputs: Any, state: Any, lengths: Any, time_major: bool
        ) -> tuple[torch.Tensor, Any]:
            # the runners take and give time-major sequences; the layout is changed here, once for all
            out, final = runner(
                cell, inputs if time_major else _inputs.time_major(inputs), state, lengths
            )
            return (
                out if time_major else out.transpose(0, 1)
            ), final  # a view, as the fused path returns

        where = ", native loops on CPU float32/float64" if native_loops else ""
        return run, f"{name} (one autograd node per unroll{where})"
    return None, f"no sequence kernel for {type(cell).__name__}"
