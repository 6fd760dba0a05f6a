"""Independent float64 NumPy versions of the TF 1.15 contrib cells and wrappers (the contract suite's oracle),
written from the contrib formulas. Weights are dicts of TF names relative to the cell's scope; steps return
``(output, new_state)`` with plain tuples (``(c, h)`` for the LSTM-like states).
"""

import numpy as np

from tests.reference.numpy_cells import ACT, sigmoid
from tests.reference.numpy_surface import layer_norm


def _cat(*xs):
    return np.concatenate(xs, 1)


def nas(w, x, state, num_proj=None, use_bias=False):
    c, m = state
    a = np.split(x @ w["kernel"], 8, axis=1)
    rec = m @ w["recurrent_kernel"] + (w["bias"] if use_bias else 0.0)
    b = np.split(rec, 8, axis=1)
    relu = ACT["relu"]
    l1 = [sigmoid(a[0] + b[0]), relu(a[1] + b[1]), sigmoid(a[2] + b[2]), relu(a[3] * b[3]),
          np.tanh(a[4] + b[4]), sigmoid(a[5] + b[5]), np.tanh(a[6] + b[6]), sigmoid(a[7] + b[7])]  # fmt: skip
    new_c = np.tanh(np.tanh(l1[0] * l1[1]) + c) * np.tanh(l1[2] + l1[3])
    new_m = np.tanh(new_c * np.tanh(np.tanh(l1[4] * l1[5]) + sigmoid(l1[6] + l1[7])))
    if num_proj:
        new_m = new_m @ w["projection_weights"]
    return new_m, (new_c, new_m)


def ugrnn(w, x, h, forget_bias=1.0, act="tanh"):
    g_act, c_act = np.split(_cat(x, h) @ w["kernel"] + w["bias"], 2, axis=1)
    g = sigmoid(g_act + forget_bias)
    new = g * h + (1 - g) * ACT[act](c_act)
    return new, new


def intersection(w, x, h, forget_bias=1.0, y_act="relu"):
    if "in_projection/kernel" in w:
        x = x @ w["in_projection/kernel"] + w["in_projection/bias"]
    gh, hc, gy, yc = np.split(_cat(x, h) @ w["kernel"] + w["bias"], 4, axis=1)
    gh, gy = sigmoid(gh + forget_bias), sigmoid(gy + forget_bias)
    return gy * x + (1 - gy) * ACT[y_act](yc), gh * h + (1 - gh) * np.tanh(hc)


def indrnn(w, x, h, act="tanh"):
    out = ACT[act](x @ w["kernel_w"] + h * w["kernel_u"] + w["bias"])
    return out, out


def indy_gru(w, x, h, act="tanh"):
    gates = sigmoid(x @ w["gates/kernel_w"] + np.tile(h, 2) * w["gates/kernel_u"] + w["gates/bias"])
    r, u = np.split(gates, 2, axis=1)
    c = ACT[act](x @ w["candidate/kernel"] + r * h * w["candidate/kernel_u"] + w["candidate/bias"])
    new = u * h + (1 - u) * c
    return new, new


def indy_lstm(w, x, state, forget_bias=1.0, act="tanh"):
    c, h = state
    i, j, f, o = np.split(x @ w["kernel_w"] + np.tile(h, 4) * w["kernel_u"] + w["bias"], 4, axis=1)
    new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * ACT[act](j)
    new_h = ACT[act](new_c) * sigmoid(o)
    return new_h, (new_c, new_h)


def sru(w, x, c, act="tanh"):
    x_bar, f, r, x_tx = np.split(x @ w["kernel"], 4, axis=1)
    f, r = np.split(sigmoid(_cat(f, r) + w["bias"]), 2, axis=1)
    new_c = f * c + (1 - f) * x_bar
    return r * ACT[act](new_c) + (1 - r) * x_tx, new_c


def _ln(w, v, gate, on):
    return layer_norm(v, w[f"{gate}/gamma"], w[f"{gate}/beta"]) if on else v


def layer_norm_lstm(w, x, state, peep=False, cell_clip=None, num_proj=None, proj_clip=None,
                    forget_bias=1.0, ln=False):  # fmt: skip
    c, m = state
    z = _cat(x, m) @ w["kernel"] + (0.0 if ln else w["bias"])
    i, j, f, o = np.split(z, 4, axis=1)
    i, j, f, o = (
        _ln(w, v, g, ln) for v, g in zip((i, j, f, o), ("input", "transform", "forget", "output"))
    )
    if peep:
        new_c = sigmoid(f + forget_bias + w["w_f_diag"] * c) * c + sigmoid(
            i + w["w_i_diag"] * c
        ) * np.tanh(j)
    else:
        new_c = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
    new_c = _ln(w, new_c, "state", ln)
    if cell_clip is not None:
        new_c = np.clip(new_c, -cell_clip, cell_clip)
    new_m = sigmoid(o + (w["w_o_diag"] * new_c if peep else 0.0)) * np.tanh(new_c)
    if num_proj:
        new_m = new_m @ w["projection/kernel"]
        if proj_clip is not None:
            new_m = np.clip(new_m, -proj_clip, proj_clip)
    return new_m, (new_c, new_m)


def cifg(
    w, x, state, peep=False, num_proj=None, proj_clip=None, forget_bias=1.0, ln=False, concat=None
):
    c, m = (state[:, :concat], state[:, concat:]) if concat else state
    z = _cat(x, m) @ w["W_0"] + (0.0 if ln else w["B"])
    j, f, o = (
        _ln(w, v, g, ln) for v, g in zip(np.split(z, 3, axis=1), ("transform", "forget", "output"))
    )
    f = sigmoid(f + forget_bias + (w["W_F_diag"] * c if peep else 0.0))
    new_c = _ln(w, f * c + (1 - f) * np.tanh(j), "state", ln)
    new_m = sigmoid(o + (w["W_O_diag"] * new_c if peep else 0.0)) * np.tanh(new_c)
    if num_proj:
        new_m = new_m @ w["W_P_0"]
        if proj_clip is not None:
            new_m = np.clip(new_m, -proj_clip, proj_clip)
    return new_m, (_cat(new_c, new_m) if concat else (new_c, new_m))


def glstm(w, x, state, groups=1, num_proj=None, forget_bias=1.0, act="tanh"):
    c, m = state
    xs, ms = np.split(x, groups, axis=1), np.split(m, groups, axis=1)
    parts = [
        np.split(_cat(xg, mg) @ w[f"group{g}/kernel"], 4, axis=1)
        for g, (xg, mg) in enumerate(zip(xs, ms))
    ]
    i, j, f, o = (
        np.concatenate([p[k] for p in parts], 1) + w[f"bias_{q}"] for k, q in enumerate("ijfo")
    )
    new_c = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
    new_m = sigmoid(o) * ACT[act](new_c)
    if num_proj:
        new_m = new_m @ w["projection/kernel"]
    return new_m, (new_c, new_m)


def _flat(state):
    if isinstance(state, np.ndarray):
        return [state]
    return [leaf for s in state for leaf in _flat(s)]


def attention(inner_step, w, x, state, attn_length, attn_size, concat_cell_size=None):
    """contrib AttentionCellWrapper around ``inner_step`` (its weights under the wrapper's scope)."""
    if concat_cell_size is None:
        cell_state, attns, window = state
    else:
        n = concat_cell_size
        cell_state, attns, window = (
            state[:, :n],
            state[:, n : n + attn_size],
            state[:, n + attn_size :],
        )
    window = window.reshape(-1, attn_length, attn_size)
    cell_in = _cat(x, attns) @ w["kernel"] + w["bias"]
    cell_out, new_cell_state = inner_step(w, cell_in, cell_state)
    query = np.concatenate(_flat(new_cell_state), 1)
    features = window @ w["attention/attn_w"][0, 0]
    y = query @ w["attention/kernel"] + w["attention/bias"]
    scores = (w["attention/attn_v"] * np.tanh(features + y[:, None, :])).sum(-1)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights = weights / weights.sum(-1, keepdims=True)
    new_attns = (weights[:, :, None] * window).sum(1)
    out = (
        _cat(cell_out, new_attns) @ w["attn_output_projection/kernel"]
        + w["attn_output_projection/bias"]
    )
    new_window = np.concatenate([window[:, 1:], out[:, None]], 1).reshape(x.shape[0], -1)
    if concat_cell_size is None:
        return out, (new_cell_state, new_attns, new_window)
    return out, _cat(new_cell_state, new_attns, new_window)


def highway(inner_step, w, x, state, coupled=True):
    """contrib HighwayWrapper: its variables beside the cell's scope (``w`` holds both)."""
    out, new_state = inner_step(w, x, state)
    carry = sigmoid(x @ w["carry_w"] + w["carry_b"])
    transform = 1 - carry if coupled else sigmoid(x @ w["transform_w"] + w["transform_b"])
    return x * carry + out * transform, new_state


def phased_lstm(w, inputs, state, peep=False, leak=0.001):
    """contrib PhasedLSTMCell, one step; ``inputs = (time [B, 1], x [B, D])``."""
    time, x = inputs
    c, h = state
    gates = sigmoid(
        _cat(x, h, *([c] if peep else [])) @ w["mask_gates/kernel"] + w["mask_gates/bias"]
    )
    i, f = np.split(gates, 2, axis=1)
    new_c = c * f + i * np.tanh(_cat(x, h) @ w["new_input/kernel"] + w["new_input/bias"])
    o = sigmoid(
        _cat(x, h, *([new_c] if peep else [])) @ w["output_gate/kernel"] + w["output_gate/bias"]
    )
    new_h = np.tanh(new_c) * o
    ratio = np.mod(time - w["phase"], w["period"]) / w["period"]
    r_on = w["ratio_on"]
    k = np.where(
        ratio < 0.5 * r_on,
        2 * ratio / r_on,
        np.where(ratio < r_on, 2 - 2 * ratio / r_on, leak * ratio),
    )
    new_c = k * new_c + (1 - k) * c
    new_h = k * new_h + (1 - k) * h
    return new_h, (new_c, new_h)


def conv_same(x, kernel):
    """Stride-1 SAME convolution of channels-last ``x [B, *S, Cin]`` with ``kernel [*K, Cin, Cout]`` (TF pads the
    extra element of an even window at the end)."""
    n = kernel.ndim - 2
    pads = [(0, 0)] + [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel.shape[:n]] + [(0, 0)]
    padded = np.pad(x, pads)
    out = 0.0
    for offsets in np.ndindex(*kernel.shape[:n]):
        window = (slice(None),) + tuple(slice(o, o + x.shape[1 + i]) for i, o in enumerate(offsets))
        out = out + padded[window] @ kernel[offsets]
    return out


def conv_lstm(w, x, state, forget_bias=1.0):
    """contrib ConvLSTMCell, one step on ``x [B, *S, C]``, ``state (c, h)`` each ``[B, *S, K]``."""
    c, h = state
    z = conv_same(np.concatenate([x, h], -1), w["kernel"]) + w.get("biases", 0.0)
    i, j, f, o = np.split(z, 4, axis=-1)
    new_c = sigmoid(f + forget_bias) * c + sigmoid(i) * np.tanh(j)
    new_h = np.tanh(new_c) * sigmoid(o)
    return new_h, (new_c, new_h)
