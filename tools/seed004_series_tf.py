"""Seed 004's series program in TensorFlow (compat API), to see how often it stalls at the window's variance.

    TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/seed004_series_tf.py SEED ITERATIONS

Prints the training MSE every 1,000 iterations, then the final training and shifted-window MSE (BENCHMARKS.md).
"""

import sys
import time

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_eager_execution()
seed = int(sys.argv[1])
iters = int(sys.argv[2])
tf.set_random_seed(seed)
X = tf.placeholder(tf.float32, [None, 100, 1])
y = tf.placeholder(tf.float32, [None, 100, 1])
cell = tf.nn.rnn_cell.BasicRNNCell(num_units=100, activation=tf.nn.relu)
out, _ = tf.nn.dynamic_rnn(cell, X, dtype=tf.float32)
pred = tf.reshape(
    tf.layers.dense(
        tf.reshape(out, [-1, 100]), 1, kernel_initializer=tf.glorot_uniform_initializer()
    ),
    [-1, 100, 1],
)
loss = tf.reduce_mean(tf.square(pred - y))
op = tf.train.AdamOptimizer(1e-3).minimize(loss)
t = np.linspace(12, 15, 101)
xb = t[:-1][None, :, None]
yb = xb * np.sin(xb) / 3 + 2 * np.sin(5 * xb)
xn = t[1:][None, :, None]
yn = xn * np.sin(xn) / 3 + 2 * np.sin(5 * xn)
with tf.Session() as s:
    s.run(tf.global_variables_initializer())
    t0 = time.time()
    for i in range(iters):
        s.run(op, {X: xb, y: yb})
        if i % 1000 == 0 or i == iters - 1:
            print(seed, i, s.run(loss, {X: xb, y: yb}), flush=True)
    print(
        seed,
        "final train",
        s.run(loss, {X: xb, y: yb}),
        "shifted",
        s.run(loss, {X: xn, y: yn}),
        time.time() - t0,
    )
