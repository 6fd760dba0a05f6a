"""Independent float64 NumPy versions of the TF 1.15 contrib pieces that TF 2.x can no longer run (the test
oracle): ``LayerNormBasicLSTMCell`` and the projection wrappers, written from the contrib formulas.

Weights are dicts of TF names relative to the cell's scope; steps return ``(output, new_state)`` with plain tuples.
"""

import numpy as np

from tests.reference.numpy_cells import ACT, sigmoid

EPS = 1e-12  # contrib layers.layer_norm: nn.batch_normalization(variance_epsilon=1e-12)


def layer_norm(v, gamma, beta):
    """contrib ``layers.layer_norm`` over the last axis: moments, then batch_normalization's formula."""
    mean = v.mean(axis=-1, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=-1, keepdims=True)
    inv = gamma / np.sqrt(var + EPS)
    return v * inv + (beta - mean * inv)


def layer_norm_basic_lstm(
    w, x, state, forget_bias=1.0, layer_norm_on=True, act="tanh", dropout_mask=None
):
    """One step; ``dropout_mask`` (already scaled by 1/keep) multiplies the candidate when given."""
    c, h = state
    z = np.concatenate([x, h], 1) @ w["kernel"]
    if not layer_norm_on:
        z = z + w["bias"]
    i, j, f, o = np.split(z, 4, axis=1)
    if layer_norm_on:
        i = layer_norm(i, w["input/gamma"], w["input/beta"])
        j = layer_norm(j, w["transform/gamma"], w["transform/beta"])
        f = layer_norm(f, w["forget/gamma"], w["forget/beta"])
        o = layer_norm(o, w["output/gamma"], w["output/beta"])
    g = ACT[act](j)
    if dropout_mask is not None:
        g = g * dropout_mask
    new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * g
    if layer_norm_on:
        new_c = layer_norm(new_c, w["state/gamma"], w["state/beta"])
    new_h = ACT[act](new_c) * sigmoid(o)
    return new_h, (new_c, new_h)


def output_projection(inner_step, w, x, state, act=None):
    """contrib OutputProjectionWrapper: the cell (its weights under the wrapper's scope), then ``_Linear``."""
    out, new_state = inner_step(w, x, state)
    projected = out @ w["kernel"] + w["bias"]
    return (ACT[act](projected) if act else projected), new_state


def input_projection(inner_step, w, x, state, act=None):
    """contrib InputProjectionWrapper: ``_Linear`` on the inputs, then the cell."""
    projected = x @ w["kernel"] + w["bias"]
    return inner_step(w, ACT[act](projected) if act else projected, state)
