"""Naive loops: each benchmarked cell's math written the obvious way, one autograd node per op and step.

They are the reference of ``rnnkit bench --cells`` (``cells.py``): what a user would write in plain torch without
rnnkit. Each reads the cell's own parameters (the same numbers as rnnkit's run, which ``cells.py`` checks before
timing) and returns the outputs stacked ``[T, B, H]`` for time-major inputs ``x [T, B, D]``; the convolutional
loop takes TF's batch-major, channels-last ``[B, T, *S, C]`` and returns ``[B, T, *S, K]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["naive_loop", "naive_conv_loop"]

sig, tanh = torch.sigmoid, torch.tanh


def _zeros(x: torch.Tensor, cell: Any) -> torch.Tensor:
    return x.new_zeros(x.shape[1], cell.num_units)


def _indrnn(cell: Any, x: torch.Tensor) -> torch.Tensor:
    h, outs = _zeros(x, cell), []
    for x_t in x.unbind(0):
        h = tanh(x_t @ cell.kernel_w + h * cell.kernel_u + cell.bias)
        outs.append(h)
    return torch.stack(outs)


def _indy_gru(cell: Any, x: torch.Tensor) -> torch.Tensor:
    h, outs = _zeros(x, cell), []
    for x_t in x.unbind(0):
        g = sig(
            x_t @ cell.gates_kernel_w + torch.cat([h, h], 1) * cell.gates_kernel_u + cell.gates_bias
        )
        r, u = g.chunk(2, 1)
        c = tanh(
            x_t @ cell.candidate_kernel_w + r * h * cell.candidate_kernel_u + cell.candidate_bias
        )
        h = u * h + (1 - u) * c
        outs.append(h)
    return torch.stack(outs)


def _indy_lstm(cell: Any, x: torch.Tensor) -> torch.Tensor:
    c = h = _zeros(x, cell)
    outs = []
    for x_t in x.unbind(0):
        z = x_t @ cell.kernel_w + torch.cat([h, h, h, h], 1) * cell.kernel_u + cell.bias
        i, j, f, o = z.chunk(4, 1)
        c = c * sig(f + cell.forget_bias) + sig(i) * tanh(j)
        h = tanh(c) * sig(o)
        outs.append(h)
    return torch.stack(outs)


def _sru(cell: Any, x: torch.Tensor) -> torch.Tensor:
    c, outs = _zeros(x, cell), []
    for x_t in x.unbind(0):
        x_bar, f, r, x_tx = (x_t @ cell.kernel).chunk(4, 1)
        f, r = sig(torch.cat([f, r], 1) + cell.bias).chunk(2, 1)
        c = f * c + (1 - f) * x_bar
        outs.append(r * tanh(c) + (1 - r) * x_tx)
    return torch.stack(outs)


def _ugrnn(cell: Any, x: torch.Tensor) -> torch.Tensor:
    h, outs = _zeros(x, cell), []
    for x_t in x.unbind(0):
        g, c = (torch.cat([x_t, h], 1) @ cell.kernel + cell.bias).chunk(2, 1)
        g = sig(g + cell.forget_bias)
        h = g * h + (1 - g) * tanh(c)
        outs.append(h)
    return torch.stack(outs)


def _nas(cell: Any, x: torch.Tensor) -> torch.Tensor:
    c = m = _zeros(x, cell)
    outs = []
    for x_t in x.unbind(0):
        a, b = (x_t @ cell.kernel).chunk(8, 1), (m @ cell.recurrent_kernel).chunk(8, 1)
        l0, l1 = sig(a[0] + b[0]), torch.relu(a[1] + b[1])
        l2, l3 = sig(a[2] + b[2]), torch.relu(a[3] * b[3])
        l4, l5, l6, l7 = tanh(a[4] + b[4]), sig(a[5] + b[5]), tanh(a[6] + b[6]), sig(a[7] + b[7])
        c = tanh(tanh(l0 * l1) + c) * tanh(l2 + l3)
        m = tanh(c * tanh(tanh(l4 * l5) + sig(l6 + l7)))
        outs.append(m)
    return torch.stack(outs)


def _intersection(cell: Any, x: torch.Tensor) -> torch.Tensor:
    h, outs = _zeros(x, cell), []
    for x_t in (x @ cell.in_kernel + cell.in_bias).unbind(0):
        gh, hc, gy, yc = (torch.cat([x_t, h], 1) @ cell.kernel + cell.bias).chunk(4, 1)
        gh, gy = sig(gh + cell.forget_bias), sig(gy + cell.forget_bias)
        h = gh * h + (1 - gh) * tanh(hc)
        outs.append(gy * x_t + (1 - gy) * torch.relu(yc))
    return torch.stack(outs)


def _glstm(cell: Any, x: torch.Tensor) -> torch.Tensor:
    c = m = _zeros(x, cell)
    outs, groups = [], cell.number_of_groups
    kernels = [getattr(cell, f"group{g}_kernel") for g in range(groups)]
    bias = torch.cat([cell.bias_i, cell.bias_j, cell.bias_f, cell.bias_o])
    for x_t in x.unbind(0):
        parts = [
            (torch.cat([x_g, m_g], 1) @ k).chunk(4, 1)
            for x_g, m_g, k in zip(x_t.chunk(groups, 1), m.chunk(groups, 1), kernels)
        ]
        z = torch.cat([torch.cat([p[q] for p in parts], 1) for q in range(4)], 1) + bias
        i, j, f, o = z.chunk(4, 1)
        c = sig(f + cell.forget_bias) * c + sig(i) * tanh(j)
        m = sig(o) * tanh(c)
        outs.append(m)
    return torch.stack(outs)


def _layer_norm(cell: Any, v: torch.Tensor, gate: str) -> torch.Tensor:
    """TF's layer normalisation of one gate, with the cell's ``<gate>_gamma`` / ``<gate>_beta``."""
    gamma, beta = getattr(cell, f"{gate}_gamma"), getattr(cell, f"{gate}_beta")
    mean = v.mean(-1, keepdim=True)
    inv = torch.rsqrt((v - mean).square().mean(-1, keepdim=True) + 1e-12) * gamma
    return v * inv + (beta - mean * inv)


def _ln_lstm(cell: Any, x: torch.Tensor) -> torch.Tensor:
    """contrib's LayerNormLSTMCell (peepholes and clip optional) and LayerNormBasicLSTMCell (neither)."""
    c = m = _zeros(x, cell)
    outs = []
    peep, clip = getattr(cell, "use_peepholes", False), getattr(cell, "cell_clip", None)
    for x_t in x.unbind(0):
        z = (torch.cat([x_t, m], 1) @ cell.kernel).chunk(4, 1)
        i, j, f, o = (
            _layer_norm(cell, v, g) for v, g in zip(z, ("input", "transform", "forget", "output"))
        )
        if peep:
            f, i = f + cell.w_f_diag * c, i + cell.w_i_diag * c
        c = _layer_norm(cell, sig(f + cell.forget_bias) * c + sig(i) * tanh(j), "state")
        c = c.clamp(-clip, clip) if clip is not None else c
        m = sig(o + cell.w_o_diag * c if peep else o) * tanh(c)
        outs.append(m)
    return torch.stack(outs)


def _cifg(cell: Any, x: torch.Tensor) -> torch.Tensor:
    c = m = _zeros(x, cell)
    outs, peep = [], cell.use_peepholes
    for x_t in x.unbind(0):
        j, f, o = (torch.cat([x_t, m], 1) @ cell.kernel + cell.bias).chunk(3, 1)
        f = sig(f + cell.forget_bias + (cell.w_f_diag * c if peep else 0))
        c = f * c + (1 - f) * tanh(j)
        m = sig(o + (cell.w_o_diag * c if peep else 0)) * tanh(c)
        outs.append(m)
    return torch.stack(outs)


def _phased(cell: Any, inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    times, x = inputs
    c = h = _zeros(x, cell)
    outs, peep = [], cell.use_peepholes
    for t_t, x_t in zip(times.unbind(0), x.unbind(0)):
        xh = torch.cat([x_t, h], 1)
        gates = torch.cat([xh, c], 1) @ cell.mask_kernel if peep else xh @ cell.mask_kernel
        i, f = sig(gates + cell.mask_bias).chunk(2, 1)
        new_c = c * f + i * tanh(xh @ cell.input_kernel + cell.input_bias)
        o = torch.cat([xh, new_c], 1) @ cell.output_kernel if peep else xh @ cell.output_kernel
        new_h = tanh(new_c) * sig(o + cell.output_bias)
        shifted = t_t - cell.phase
        r = ((torch.remainder(shifted, cell.period) - shifted).detach() + shifted) / cell.period
        k_up = 2 * r / cell.ratio_on
        k = torch.where(r < cell.ratio_on, 2 - k_up, cell.leak * r)
        k = torch.where(r < 0.5 * cell.ratio_on, k_up, k)
        c, h = k * new_c + (1 - k) * c, k * new_h + (1 - k) * h
        outs.append(h)
    return torch.stack(outs)


_LOOPS: dict[str, Callable[[Any, Any], torch.Tensor]] = {
    "IndRNNCell": _indrnn,
    "IndyGRUCell": _indy_gru,
    "IndyLSTMCell": _indy_lstm,
    "SRUCell": _sru,
    "UGRNNCell": _ugrnn,
    "NASCell": _nas,
    "IntersectionRNNCell": _intersection,
    "GLSTMCell": _glstm,
    "LayerNormLSTMCell": _ln_lstm,
    "LayerNormBasicLSTMCell": _ln_lstm,  # the same formula without peepholes and clip
    "CoupledInputForgetGateLSTMCell": _cifg,
    "PhasedLSTMCell": _phased,
}


def naive_loop(cell: Any) -> Callable[[Any], torch.Tensor]:
    """The naive loop of ``cell``'s math over time-major inputs (``(times, x)`` for PhasedLSTMCell)."""
    name = type(cell).__name__
    if name not in _LOOPS:
        raise ValueError(f"naive_loop: expected one of {', '.join(_LOOPS)}, got {name}")
    loop = _LOOPS[name]
    return lambda inputs: loop(cell, inputs)


def naive_conv_loop(cell: Any, channels_last: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """The convolutional LSTM's math (odd windows: torch's symmetric padding is TF's SAME): each step's frame moved
    to torch's channels-first layout and ``conv(cat([x, h]))``; ``channels_last``: the state kept in channels-last
    memory (what a torch user who knows oneDNN's preference would write)."""
    n = len(cell.kernel_shape)
    conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    pads = [k // 2 for k in cell.kernel_shape]
    units = cell.output_channels

    def loop(x: torch.Tensor) -> torch.Tensor:  # x [B, T, *S, C]
        weight = cell.kernel.permute(n + 1, n, *range(n))  # [*k, C+K, 4K] -> [4K, C+K, *k]
        zeros = x.new_zeros(x.shape[0], *x.shape[2:-1], units)  # channels-last memory
        c = h = zeros.movedim(-1, 1) if channels_last else zeros.movedim(-1, 1).contiguous()
        outs = []
        for x_t in x.unbind(1):
            z = conv(torch.cat([x_t.movedim(-1, 1), h], 1), weight, cell.biases, padding=pads)
            i, j, f, o = z.chunk(4, 1)
            c = sig(f + cell.forget_bias) * c + sig(i) * tanh(j)
            h = tanh(c) * sig(o)
            outs.append(h)
        return torch.stack(outs, 1).movedim(2, -1)  # [B, T, *S, K]

    return loop
