"""Independent float64 NumPy versions of TF1's cell steps, written from the TF 1.15 formulas (the test oracle).

Each function takes a dict of TF-named weights (relative names: "kernel", "gates/kernel"...), the step input
x [B, D] and the previous state, and returns (output, new_state) with states as plain tuples (c, h).
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACT = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}


def basic_rnn(w, x, h, act="tanh"):
    out = ACT[act](np.concatenate([x, h], 1) @ w["kernel"] + w["bias"])
    return out, out


def gru(w, x, h, act="tanh"):
    gates = sigmoid(np.concatenate([x, h], 1) @ w["gates/kernel"] + w["gates/bias"])
    n = h.shape[1]
    r, u = gates[:, :n], gates[:, n:]
    c = ACT[act](np.concatenate([x, r * h], 1) @ w["candidate/kernel"] + w["candidate/bias"])
    new_h = u * h + (1 - u) * c
    return new_h, new_h


def basic_lstm(w, x, state, forget_bias=1.0, act="tanh"):
    c, h = state
    z = np.concatenate([x, h], 1) @ w["kernel"] + w["bias"]
    i, j, f, o = np.split(z, 4, axis=1)
    new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * ACT[act](j)
    new_h = ACT[act](new_c) * sigmoid(o)
    return new_h, (new_c, new_h)


def lstm(
    w,
    x,
    state,
    forget_bias=1.0,
    use_peepholes=False,
    cell_clip=None,
    num_proj=None,
    proj_clip=None,
    act="tanh",
):
    c, m = state
    z = np.concatenate([x, m], 1) @ w["kernel"] + w["bias"]
    i, j, f, o = np.split(z, 4, axis=1)
    if use_peepholes:
        new_c = sigmoid(f + forget_bias + w["w_f_diag"] * c) * c + sigmoid(
            i + w["w_i_diag"] * c
        ) * ACT[act](j)
    else:
        new_c = sigmoid(f + forget_bias) * c + sigmoid(i) * ACT[act](j)
    if cell_clip is not None:
        new_c = np.clip(new_c, -cell_clip, cell_clip)
    if use_peepholes:
        new_m = sigmoid(o + w["w_o_diag"] * new_c) * ACT[act](new_c)
    else:
        new_m = sigmoid(o) * ACT[act](new_c)
    if num_proj is not None:
        new_m = new_m @ w["projection/kernel"]
        if proj_clip is not None:
            new_m = np.clip(new_m, -proj_clip, proj_clip)
    return new_m, (new_c, new_m)


def unroll(step, x, state, lengths=None):
    """Plain loop over x [B, T, D] with TF's sequence_length rule; returns (outputs [B, T, O], final state)."""
    batch, time = x.shape[:2]
    outputs = []
    for t in range(time):
        out, new_state = step(x[:, t], state)
        if lengths is not None:
            keep = (t < np.asarray(lengths))[:, None]
            out = np.where(keep, out, 0.0)
            new_state = _where(keep, new_state, state)
        outputs.append(out)
        state = new_state
    return np.stack(outputs, 1), state


def _where(keep, new, old):
    if isinstance(new, tuple):
        return tuple(_where(keep, n, o) for n, o in zip(new, old))
    return np.where(keep, new, old)
