"""TF 1.15's ``tf.contrib.legacy_seq2seq`` (and contrib's ``EmbeddingWrapper``, ``OutputProjectionWrapper``,
``core_rnn_cell._Linear``) restated step for step in TF ops on ``tf.compat.v1``, for
``tools/make_legacy_seq2seq_fixtures.py`` (TF 2.x dropped contrib)."""

from __future__ import annotations

import math
from typing import Any

import tensorflow.compat.v1 as tf
from tf_contrib_wrappers import OutputProjectionWrapper, linear


# ------------------------------------------------------------------ TF 1.15's contrib pieces, restated
class EmbeddingWrapper(tf.nn.rnn_cell.RNNCell):
    def __init__(self, cell: Any, embedding_classes: int, embedding_size: int) -> None:
        super().__init__()
        self._cell, self._classes, self._size = cell, embedding_classes, embedding_size

    @property
    def state_size(self) -> Any:
        return self._cell.state_size

    @property
    def output_size(self) -> Any:
        return self._cell.output_size

    def zero_state(self, batch_size: int, dtype: Any) -> Any:
        return self._cell.zero_state(batch_size, dtype)

    def call(self, inputs: Any, state: Any) -> Any:
        sqrt3 = math.sqrt(3)
        embedding = tf.get_variable(
            "embedding",
            [self._classes, self._size],
            initializer=tf.random_uniform_initializer(-sqrt3, sqrt3),
        )
        embedded = tf.nn.embedding_lookup(embedding, tf.reshape(inputs, [-1]))
        return self._cell(embedded, state)


def sequence_loss_by_example(logits, targets, weights, average_across_timesteps=True):
    terms = []
    for logit, target, weight in zip(logits, targets, weights):
        crossent = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(target, [-1]), logits=logit
        )
        terms.append(crossent * weight)
    log_perps = tf.add_n(terms)
    if average_across_timesteps:
        log_perps /= tf.add_n(weights) + 1e-12
    return log_perps


def sequence_loss(
    logits, targets, weights, average_across_timesteps=True, average_across_batch=True
):
    cost = tf.reduce_sum(
        sequence_loss_by_example(logits, targets, weights, average_across_timesteps)
    )
    if average_across_batch:
        return cost / tf.cast(tf.shape(targets[0])[0], cost.dtype)
    return cost


def rnn_decoder(decoder_inputs, initial_state, cell, loop_function=None, scope=None):
    with tf.variable_scope(scope or "rnn_decoder"):
        state, outputs, prev = initial_state, [], None
        for i, inp in enumerate(decoder_inputs):
            if loop_function is not None and prev is not None:
                with tf.variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            if i > 0:
                tf.get_variable_scope().reuse_variables()
            output, state = cell(inp, state)
            outputs.append(output)
            if loop_function is not None:
                prev = output
    return outputs, state


def attention_decoder(
    decoder_inputs,
    initial_state,
    attention_states,
    cell,
    output_size=None,
    num_heads=1,
    loop_function=None,
    initial_state_attention=False,
):
    output_size = output_size or cell.output_size
    with tf.variable_scope("attention_decoder"):
        batch = tf.shape(decoder_inputs[0])[0]
        length, size = attention_states.shape[1], attention_states.shape[2]
        hidden = tf.reshape(attention_states, [-1, length, 1, size])
        features, v = [], []
        for a in range(num_heads):
            k = tf.get_variable(f"AttnW_{a}", [1, 1, size, size])
            features.append(tf.nn.conv2d(hidden, k, [1, 1, 1, 1], "SAME"))
            v.append(tf.get_variable(f"AttnV_{a}", [size]))

        def attention(query):
            query = tf.concat(tf.nest.flatten(query), 1)
            ds = []
            for a in range(num_heads):
                with tf.variable_scope(f"Attention_{a}"):
                    y = tf.reshape(linear([query], size), [-1, 1, 1, size])
                    s = tf.reduce_sum(v[a] * tf.tanh(features[a] + y), [2, 3])
                    w = tf.nn.softmax(s)
                    d = tf.reduce_sum(tf.reshape(w, [-1, length, 1, 1]) * hidden, [1, 2])
                    ds.append(tf.reshape(d, [-1, size]))
            return ds

        outputs, prev = [], None
        attns = [tf.zeros(tf.stack([batch, size])) for _ in range(num_heads)]
        state = initial_state
        if initial_state_attention:
            attns = attention(initial_state)
        for i, inp in enumerate(decoder_inputs):
            if i > 0:
                tf.get_variable_scope().reuse_variables()
            if loop_function is not None and prev is not None:
                with tf.variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            x = linear([inp] + attns, inp.shape[1])
            cell_output, state = cell(x, state)
            if i == 0 and initial_state_attention:
                with tf.variable_scope(tf.get_variable_scope(), reuse=True):
                    attns = attention(state)
            else:
                attns = attention(state)
            with tf.variable_scope("AttnOutputProjection"):
                output = linear([cell_output] + attns, output_size)
            if loop_function is not None:
                prev = output
            outputs.append(output)
    return outputs, state


def argmax_and_embed(embedding, output_projection=None):
    def loop_function(prev, _):
        if output_projection is not None:
            prev = tf.nn.xw_plus_b(prev, output_projection[0], output_projection[1])
        return tf.nn.embedding_lookup(embedding, tf.argmax(prev, 1))

    return loop_function


def encode(make_cell, encoder_inputs, n_enc, emb_size):
    enc_cell = EmbeddingWrapper(make_cell(), n_enc, emb_size)  # TF1 deep-copied the (unbuilt) cell
    return tf.nn.static_rnn(enc_cell, encoder_inputs, dtype=tf.float32)


def embedding_rnn_seq2seq(
    enc, dec, make_cell, n_enc, n_dec, emb_size, output_projection=None, feed_previous=False
):
    with tf.variable_scope("embedding_rnn_seq2seq"):
        _, state = encode(make_cell, enc, n_enc, emb_size)
        cell = (
            make_cell()
            if output_projection is not None
            else OutputProjectionWrapper(make_cell(), n_dec)
        )
        with tf.variable_scope("embedding_rnn_decoder"):
            embedding = tf.get_variable("embedding", [n_dec, emb_size])
            loop = argmax_and_embed(embedding, output_projection) if feed_previous else None
            emb = [tf.nn.embedding_lookup(embedding, i) for i in dec]
            return rnn_decoder(emb, state, cell, loop_function=loop)


def embedding_attention_seq2seq(
    enc,
    dec,
    make_cell,
    n_enc,
    n_dec,
    emb_size,
    num_heads=1,
    output_projection=None,
    feed_previous=False,
    initial_state_attention=False,
):
    with tf.variable_scope("embedding_attention_seq2seq"):
        outputs, state = encode(make_cell, enc, n_enc, emb_size)
        cell = make_cell()
        states = tf.concat([tf.reshape(e, [-1, 1, cell.output_size]) for e in outputs], 1)
        output_size = None
        if output_projection is None:
            cell = OutputProjectionWrapper(cell, n_dec)
            output_size = n_dec
        with tf.variable_scope("embedding_attention_decoder"):
            embedding = tf.get_variable("embedding", [n_dec, emb_size])
            loop = argmax_and_embed(embedding, output_projection) if feed_previous else None
            emb = [tf.nn.embedding_lookup(embedding, i) for i in dec]
            return attention_decoder(
                emb, state, states, cell, output_size, num_heads, loop, initial_state_attention
            )
