"""TF 1.15's contrib RNN cells and wrappers restated in TF ops on TF's own ``RNNCell`` (the oracle of
``tools/make_tf_fixtures_contrib.py``; needs TensorFlow).

Each class follows ``tensorflow/contrib/rnn/python/ops/rnn_cell.py`` (and ``core_rnn_cell._Linear``) at TF 1.15:
same class name (so TF's layer scope is the same snake-cased name), same ``get_variable`` calls in the same
order, same shapes, initialisers and math.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_tf_fixtures_surface import tf  # noqa: E402  (TF1 graph mode, set up there)

LSTMStateTuple = tf.nn.rnn_cell.LSTMStateTuple


def _var(name: str, shape: list, dtype: Any, init: Any = None) -> Any:
    return tf.get_variable(name, shape, dtype=dtype, initializer=init)


def _zeros() -> Any:
    return tf.zeros_initializer()


def _linear(args: list, size: int, bias: bool = True) -> Any:
    """core_rnn_cell._Linear: ``kernel [sum of widths, size]`` then ``bias [size]`` (zeros) in the scope."""
    x = tf.concat(args, 1) if len(args) > 1 else args[0]
    kernel = _var("kernel", [x.shape[-1], size], x.dtype)
    out = tf.matmul(x, kernel)
    if bias:
        out = tf.nn.bias_add(out, _var("bias", [size], x.dtype, _zeros()))
    return out


def _layer_norm(v: Any, scope: str, gain: float, shift: float) -> Any:
    """contrib ``_norm``: gamma, beta (float32, as TF's get_variable default), then layers.layer_norm."""
    with tf.variable_scope(scope):
        gamma = _var("gamma", [v.shape[-1]], tf.float32, tf.constant_initializer(gain))
        beta = _var("beta", [v.shape[-1]], tf.float32, tf.constant_initializer(shift))
    mean, variance = tf.nn.moments(v, [1], keepdims=True)
    return tf.nn.batch_normalization(v, mean, variance, beta, gamma, 1e-12)


class _Cell(tf.nn.rnn_cell.RNNCell):
    def __init__(self, state: Any, output: Any, name: str | None = None) -> None:
        super().__init__(name=name)
        self._state, self._output = state, output

    @property
    def state_size(self) -> Any:
        return self._state

    @property
    def output_size(self) -> Any:
        return self._output


class NASCell(_Cell):
    def __init__(self, num_units: int, num_proj: int | None = None, use_bias: bool = False) -> None:
        super().__init__(LSTMStateTuple(num_units, num_proj or num_units), num_proj or num_units)
        self._n, self._p, self._b = num_units, num_proj, use_bias

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, dt = self._n, inputs.dtype
        c_prev, m_prev = state
        w_m = _var("recurrent_kernel", [self._p or n, 8 * n], dt)
        w_x = _var("kernel", [inputs.shape[-1], 8 * n], dt)
        m_mat, x_mat = tf.matmul(m_prev, w_m), tf.matmul(inputs, w_x)
        if self._b:
            m_mat = tf.nn.bias_add(m_mat, _var("bias", [8 * n], dt, _zeros()))
        m, x = tf.split(m_mat, 8, axis=1), tf.split(x_mat, 8, axis=1)
        sig, tanh, relu = tf.sigmoid, tf.tanh, tf.nn.relu
        l1 = [sig(x[0] + m[0]), relu(x[1] + m[1]), sig(x[2] + m[2]), relu(x[3] * m[3]),
              tanh(x[4] + m[4]), sig(x[5] + m[5]), tanh(x[6] + m[6]), sig(x[7] + m[7])]  # fmt: skip
        l2_0 = tanh(tanh(l1[0] * l1[1]) + c_prev)
        l2_1, l2_2, l2_3 = tanh(l1[2] + l1[3]), tanh(l1[4] * l1[5]), sig(l1[6] + l1[7])
        new_c = l2_0 * l2_1
        new_m = tanh(new_c * tanh(l2_2 + l2_3))
        if self._p is not None:
            new_m = tf.matmul(new_m, _var("projection_weights", [n, self._p], dt))
        return new_m, LSTMStateTuple(new_c, new_m)


class UGRNNCell(_Cell):
    def __init__(self, num_units: int, forget_bias: float = 1.0, activation: Any = None) -> None:
        super().__init__(num_units, num_units)
        self._n, self._fb, self._act = num_units, forget_bias, activation or tf.tanh

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        g_act, c_act = tf.split(_linear([inputs, state], 2 * self._n), 2, axis=1)
        g = tf.sigmoid(g_act + self._fb)
        new = g * state + (1.0 - g) * self._act(c_act)
        return new, new


class IntersectionRNNCell(_Cell):
    def __init__(
        self, num_units: int, num_in_proj: int | None = None, forget_bias: float = 1.0,
        y_activation: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(num_units, num_units)
        self._n, self._proj, self._fb = num_units, num_in_proj, forget_bias
        self._y_act = y_activation or tf.nn.relu

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n = self._n
        if inputs.shape[-1] != n:
            assert self._proj, "TF 1.15 raises here"
            with tf.variable_scope("in_projection"):
                inputs = _linear([inputs], n)
        z = _linear([inputs, state], 4 * n)
        gh = tf.sigmoid(z[:, :n] + self._fb)
        gy = tf.sigmoid(z[:, 2 * n : 3 * n] + self._fb)
        new_state = gh * state + (1.0 - gh) * tf.tanh(z[:, n : 2 * n])
        new_y = gy * inputs + (1.0 - gy) * self._y_act(z[:, 3 * n :])
        return new_y, new_state


class IndRNNCell(_Cell):
    def __init__(self, num_units: int, activation: Any = None) -> None:
        super().__init__(num_units, num_units)
        self._n, self._act = num_units, activation or tf.tanh

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, dt = self._n, inputs.dtype
        w = _var("kernel_w", [inputs.shape[-1], n], dt)
        u = _var("kernel_u", [1, n], dt, tf.random_uniform_initializer(-1, 1))
        b = _var("bias", [n], dt, _zeros())
        out = self._act(tf.nn.bias_add(tf.matmul(inputs, w) + state * u, b))
        return out, out


class IndyGRUCell(_Cell):
    def __init__(self, num_units: int, activation: Any = None) -> None:
        super().__init__(num_units, num_units)
        self._n, self._act = num_units, activation or tf.tanh

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, dt, d = self._n, inputs.dtype, inputs.shape[-1]
        uni = tf.random_uniform_initializer(-1, 1)
        gw = _var("gates/kernel_w", [d, 2 * n], dt)
        gu = _var("gates/kernel_u", [1, 2 * n], dt, uni)
        gb = _var("gates/bias", [2 * n], dt, tf.constant_initializer(1.0))
        cw = _var("candidate/kernel", [d, n], dt)
        cu = _var("candidate/kernel_u", [1, n], dt, uni)
        cb = _var("candidate/bias", [n], dt, _zeros())
        gates = tf.nn.bias_add(tf.matmul(inputs, gw) + tf.tile(state, [1, 2]) * gu, gb)
        r, u = tf.split(tf.sigmoid(gates), 2, axis=1)
        cand = tf.nn.bias_add(tf.matmul(inputs, cw) + (r * state) * cu, cb)
        new_h = u * state + (1 - u) * self._act(cand)
        return new_h, new_h


class IndyLSTMCell(_Cell):
    def __init__(self, num_units: int, forget_bias: float = 1.0, activation: Any = None) -> None:
        super().__init__(LSTMStateTuple(num_units, num_units), num_units)
        self._n, self._fb, self._act = num_units, forget_bias, activation or tf.tanh

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, dt = self._n, inputs.dtype
        c, h = state
        w = _var("kernel_w", [inputs.shape[-1], 4 * n], dt)
        u = _var("kernel_u", [1, 4 * n], dt, tf.random_uniform_initializer(-1, 1))
        b = _var("bias", [4 * n], dt, _zeros())
        g = tf.nn.bias_add(tf.matmul(inputs, w) + tf.tile(h, [1, 4]) * u, b)
        i, j, f, o = tf.split(g, 4, axis=1)
        new_c = c * tf.sigmoid(f + self._fb) + tf.sigmoid(i) * self._act(j)
        new_h = self._act(new_c) * tf.sigmoid(o)
        return new_h, LSTMStateTuple(new_c, new_h)


class SRUCell(_Cell):
    def __init__(self, num_units: int, activation: Any = None) -> None:
        super().__init__(num_units, num_units)
        self._n, self._act = num_units, activation or tf.tanh

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, dt = self._n, inputs.dtype
        w = _var("kernel", [inputs.shape[-1], 4 * n], dt)
        b = _var("bias", [2 * n], dt, _zeros())
        x_bar, f_i, r_i, x_tx = tf.split(tf.matmul(inputs, w), 4, axis=1)
        f, r = tf.split(tf.sigmoid(tf.nn.bias_add(tf.concat([f_i, r_i], 1), b)), 2, axis=1)
        c = f * state + (1.0 - f) * x_bar
        return r * self._act(c) + (1.0 - r) * x_tx, c


class _NormLSTM(_Cell):
    def __init__(
        self, num_units: int, use_peepholes: bool = False, num_proj: int | None = None,
        proj_clip: float | None = None, forget_bias: float = 1.0, layer_norm: bool = False,
        norm_gain: float = 1.0, norm_shift: float = 0.0, cell_clip: float | None = None,
        activation: Any = None, state_is_tuple: bool = True,
    ) -> None:  # fmt: skip
        p = num_proj or num_units
        super().__init__(LSTMStateTuple(num_units, p) if state_is_tuple else num_units + p, p)
        self._n, self._peep, self._p, self._pclip = num_units, use_peepholes, num_proj, proj_clip
        self._fb, self._ln, self._g, self._s = forget_bias, layer_norm, norm_gain, norm_shift
        self._cclip, self._act, self._tuple = cell_clip, activation or tf.tanh, state_is_tuple

    def _norm(self, v: Any, scope: str) -> Any:
        return _layer_norm(v, scope, self._g, self._s) if self._ln else v

    def _project(self, m: Any, name: str) -> Any:
        m = tf.matmul(m, _var(name, [self._n, self._p], m.dtype))
        return m if self._pclip is None else tf.clip_by_value(m, -self._pclip, self._pclip)


class LayerNormLSTMCell(_NormLSTM):
    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, dt, sig, act = self._n, inputs.dtype, tf.sigmoid, self._act
        c_prev, m_prev = state
        args = tf.concat([inputs, m_prev], 1)
        z = tf.matmul(args, _var("kernel", [args.shape[-1], 4 * n], dt))
        bias = _var("bias", [4 * n], dt, _zeros())  # created even under layer_norm, unused there
        if not self._ln:
            z = tf.nn.bias_add(z, bias)
        i, j, f, o = tf.split(z, 4, axis=1)
        i, j = self._norm(i, "input"), self._norm(j, "transform")
        f, o = self._norm(f, "forget"), self._norm(o, "output")
        if self._peep:
            wf, wi, wo = (_var(k, [n], dt) for k in ("w_f_diag", "w_i_diag", "w_o_diag"))
            c = sig(f + self._fb + wf * c_prev) * c_prev + sig(i + wi * c_prev) * act(j)
        else:
            c = sig(f + self._fb) * c_prev + sig(i) * act(j)
        c = self._norm(c, "state")
        if self._cclip is not None:
            c = tf.clip_by_value(c, -self._cclip, self._cclip)
        m = sig(o + wo * c) * act(c) if self._peep else sig(o) * act(c)
        if self._p is not None:
            with tf.variable_scope("projection"):
                m = self._project(m, "kernel")
        return m, LSTMStateTuple(c, m)


class CoupledInputForgetGateLSTMCell(_NormLSTM):
    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, dt, sig, act = self._n, inputs.dtype, tf.sigmoid, self._act
        p = self._p or n
        c_prev, m_prev = state if self._tuple else (state[:, :n], state[:, n:])
        w = _var("W_0", [inputs.shape[-1] + p, 3 * n], dt)  # _get_concat_variable, one shard
        b = _var("B", [3 * n], dt, _zeros())
        z = tf.matmul(tf.concat([inputs, m_prev], 1), w)
        if not self._ln:
            z = tf.nn.bias_add(z, b)
        j, f, o = tf.split(z, 3, axis=1)
        j, f, o = self._norm(j, "transform"), self._norm(f, "forget"), self._norm(o, "output")
        if self._peep:
            wf, wo = _var("W_F_diag", [n], dt), _var("W_O_diag", [n], dt)
            f_act = sig(f + self._fb + wf * c_prev)
        else:
            f_act = sig(f + self._fb)
        c = self._norm(f_act * c_prev + (1 - f_act) * act(j), "state")
        m = sig(o + wo * c) * act(c) if self._peep else sig(o) * act(c)
        if self._p is not None:
            m = self._project(m, "W_P_0")
        return m, (LSTMStateTuple(c, m) if self._tuple else tf.concat([c, m], 1))


class GLSTMCell(_Cell):
    def __init__(
        self, num_units: int, num_proj: int | None = None, number_of_groups: int = 1,
        forget_bias: float = 1.0, activation: Any = None,
    ) -> None:  # fmt: skip
        p = num_proj or num_units
        super().__init__(LSTMStateTuple(num_units, p), p)
        self._n, self._p, self._g, self._fb = num_units, num_proj, number_of_groups, forget_bias
        self._act = activation or tf.tanh

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        n, g, dt = self._n, self._g, inputs.dtype
        c_prev, m_prev = state
        d_g, p_g = int(inputs.shape[-1]) // g, (self._p or n) // g
        parts: list[list[Any]] = [[], [], [], []]
        for k in range(g):
            with tf.variable_scope(f"group{k}"):
                x_k = tf.concat(
                    [inputs[:, k * d_g : (k + 1) * d_g], m_prev[:, k * p_g : (k + 1) * p_g]], 1
                )
                for q, part in enumerate(
                    tf.split(_linear([x_k], 4 * n // g, bias=False), 4, axis=1)
                ):
                    parts[q].append(part)
        biases = [_var(f"bias_{q}", [n], dt, _zeros()) for q in "ijfo"]
        i, j, f, o = (tf.nn.bias_add(tf.concat(ps, 1), b) for ps, b in zip(parts, biases))
        c = tf.sigmoid(f + self._fb) * c_prev + tf.sigmoid(i) * tf.tanh(j)
        m = tf.sigmoid(o) * self._act(c)
        if self._p is not None:
            with tf.variable_scope("projection"):
                m = _linear([m], self._p, bias=False)
        return m, LSTMStateTuple(c, m)


class AttentionCellWrapper(_Cell):
    def __init__(
        self, cell: Any, attn_length: int, attn_size: int | None = None,
        attn_vec_size: int | None = None, input_size: int | None = None, state_is_tuple: bool = True,
    ) -> None:  # fmt: skip
        a = attn_size or cell.output_size
        sizes = (cell.state_size, a, a * attn_length)
        super().__init__(sizes if state_is_tuple else sum(sizes), a)
        self._cell, self._len, self._a, self._v = cell, attn_length, a, attn_vec_size or a
        self._in, self._tuple = input_size, state_is_tuple

    def call(self, inputs: Any, state: Any) -> tuple[Any, Any]:
        a, length = self._a, self._len
        if self._tuple:
            state, attns, window = state
        else:
            s = self._cell.state_size
            state, attns, window = state[:, :s], state[:, s : s + a], state[:, s + a :]
        window = tf.reshape(window, [-1, length, a])
        x = _linear([inputs, attns], self._in or int(inputs.shape[-1]))
        cell_out, new_state = self._cell(x, state)
        query = tf.concat(tf.nest.flatten(new_state), 1) if self._tuple else new_state
        with tf.variable_scope("attention"):
            k = _var("attn_w", [1, 1, a, self._v], x.dtype)
            v = _var("attn_v", [self._v], x.dtype)
            hidden = tf.reshape(window, [-1, length, 1, a])
            features = tf.nn.conv2d(hidden, k, [1, 1, 1, 1], "SAME")
            y = tf.reshape(_linear([query], self._v), [-1, 1, 1, self._v])
            weights = tf.nn.softmax(tf.reduce_sum(v * tf.tanh(features + y), [2, 3]))
            new_attns = tf.reshape(
                tf.reduce_sum(tf.reshape(weights, [-1, length, 1, 1]) * hidden, [1, 2]), [-1, a]
            )
        with tf.variable_scope("attn_output_projection"):
            output = _linear([cell_out, new_attns], a)
        new_window = tf.reshape(
            tf.concat([window[:, 1:], tf.expand_dims(output, 1)], 1), [-1, length * a]
        )
        new = (new_state, new_attns, new_window)
        return output, (new if self._tuple else tf.concat(list(new), 1))


class HighwayWrapper(_Cell):
    """1.15's wrapper overrides ``__call__``: no scope of its own, its variables sit in the caller's."""

    def __init__(
        self, cell: Any, couple_carry_transform_gates: bool = True, carry_bias_init: float = 1.0
    ) -> None:
        super().__init__(cell.state_size, cell.output_size)
        self._cell, self._couple, self._carry = cell, couple_carry_transform_gates, carry_bias_init

    def zero_state(self, batch_size: int, dtype: Any) -> Any:
        return self._cell.zero_state(batch_size, dtype)

    def __call__(self, inputs: Any, state: Any, scope: Any = None) -> tuple[Any, Any]:
        outputs, new_state = self._cell(inputs, state, scope=scope)
        d, dt = int(inputs.shape[-1]), inputs.dtype
        carry_w = _var("carry_w", [d, d], dt)
        carry_b = _var("carry_b", [d], dt, tf.constant_initializer(self._carry))
        carry = tf.sigmoid(tf.nn.xw_plus_b(inputs, carry_w, carry_b))
        if self._couple:
            transform = 1 - carry
        else:
            t_w = _var("transform_w", [d, d], dt)
            t_b = _var("transform_b", [d], dt, tf.constant_initializer(-self._carry))
            transform = tf.sigmoid(tf.nn.xw_plus_b(inputs, t_w, t_b))
        return inputs * carry + outputs * transform, new_state


CELLS = {
    c.__name__: c
    for c in (NASCell, UGRNNCell, IntersectionRNNCell, IndRNNCell, IndyGRUCell, IndyLSTMCell, SRUCell,
              LayerNormLSTMCell, CoupledInputForgetGateLSTMCell, GLSTMCell)
}  # fmt: skip
WRAPPERS = {"AttentionCellWrapper": AttentionCellWrapper, "HighwayWrapper": HighwayWrapper}
