"""Seed 004 (Hands-On ML ch. 14): RNNs in TF from two manual steps to a time-series model.

1. a two-step RNN written by hand (Wx, Wy, b, tanh) on a 4-instance mini-batch;
2. the same with BasicRNNCell(5) + static_rnn; 3. with dynamic_rnn; 4. variable lengths
(sequence_length [2, 1, 2, 2]: the short row's second output is zeros, its state is kept);
5. an MNIST classifier BasicRNNCell(150) + dense on the final state (Adam 1e-3, batch 150);
6. the series t·sin(t)/3 + 2·sin(5t) with BasicRNNCell(100, relu) + per-step projection, trained on
one window of t in [12, 15], then checked on the window shifted by one point.
Run: python examples/seed004_rnn_basics.py [--smoke] [--epochs N] [--iterations N]
"""

import argparse

import numpy as np
import torch

import rnnkit as rk
from rnnkit.data.mnist import load_mnist
from rnnkit.data.synthetic import seed004_window

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--smoke", action="store_true", help="tiny MNIST and series runs (CI)")
ap.add_argument("--epochs", type=int, default=100, help="MNIST epochs (the seed: 100)")
ap.add_argument(
    "--iterations", type=int, default=10_000, help="series iterations (the seed: 10,000)"
)
args = ap.parse_args()
torch.manual_seed(0)
n_inputs, n_neurons = 3, 5
x0_batch = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 0, 1]], dtype=torch.float32)  # t = 0
x1_batch = torch.tensor([[9, 8, 7], [0, 0, 0], [6, 5, 4], [3, 2, 1]], dtype=torch.float32)  # t = 1

# 1. by hand
Wx, Wy, b = (
    torch.randn(n_inputs, n_neurons),
    torch.randn(n_neurons, n_neurons),
    torch.zeros(1, n_neurons),
)
y0 = torch.tanh(x0_batch @ Wx + b)
y1 = torch.tanh(y0 @ Wy + x1_batch @ Wx + b)
print(y0, "\n" + "-" * 50 + "\n", y1)

# 2. static_rnn: a list of per-step inputs
basic_cell = rk.BasicRNNCell(num_units=n_neurons)
(y0, y1), states = rk.static_rnn(basic_cell, [x0_batch, x1_batch], dtype=torch.float32)
print(y0.shape, y1.shape)

# 3. dynamic_rnn: one [batch, n_steps, n_inputs] tensor
x_batch = torch.stack([x0_batch, x1_batch], 1)
outputs, states = rk.dynamic_rnn(basic_cell, x_batch, dtype=torch.float32)
print(outputs.detach())

# 4. variable lengths: the second instance has one step only
outputs, states = rk.dynamic_rnn(
    basic_cell, x_batch, dtype=torch.float32, sequence_length=[2, 1, 2, 2]
)
print(outputs.detach())  # row 1, step 1 is zeros
print(states.detach())  # row 1 holds its step-0 state

# 5. MNIST: BasicRNNCell(150), logits from the final state
n_epochs, batch_size = (1, 150) if args.smoke else (args.epochs, 150)
mnist = load_mnist()
end = 6000 if args.smoke else None  # smoke: convert only the images used
X_train = torch.tensor(mnist.train_images[5000:end], dtype=torch.float32) / 255
y_train = torch.tensor(mnist.train_labels[5000:end])
X_test = torch.tensor(mnist.test_images, dtype=torch.float32) / 255
y_test = torch.tensor(mnist.test_labels)
if args.smoke:
    X_train, y_train, X_test, y_test = X_train[:450], y_train[:450], X_test[:200], y_test[:200]
cell = rk.BasicRNNCell(num_units=150, input_size=28)
logits_layer = torch.nn.Linear(150, 10)  # fully_connected(states, 10, activation_fn=None)
opt = torch.optim.Adam([*cell.parameters(), *logits_layer.parameters()], lr=0.001)
for epoch in range(n_epochs):
    perm = torch.randperm(len(y_train))
    for it in range(len(y_train) // batch_size):
        idx = perm[it * batch_size : (it + 1) * batch_size]
        _, states = rk.dynamic_rnn(cell, X_train[idx], dtype=torch.float32)
        loss = torch.nn.functional.cross_entropy(logits_layer(states), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc_train = (logits_layer(states).argmax(1) == y_train[idx]).float().mean().item()
        acc_test = (
            (logits_layer(rk.dynamic_rnn(cell, X_test)[1]).argmax(1) == y_test)
            .float()
            .mean()
            .item()
        )
    print(epoch, "Train accuracy:", acc_train, "Test accuracy:", acc_test)

# 6. the time series: input t, target f(t), one window; then the window shifted by one point
n_iterations = 20 if args.smoke else args.iterations
cell = rk.BasicRNNCell(num_units=100, activation="relu", input_size=1)
proj = torch.nn.Linear(100, 1)
opt = torch.optim.Adam([*cell.parameters(), *proj.parameters()], lr=0.001)
X_batch, y_batch = (torch.tensor(a, dtype=torch.float32) for a in seed004_window(0))
for iteration in range(n_iterations):
    rnn_outputs, _ = rk.dynamic_rnn(cell, X_batch, dtype=torch.float32)
    loss = (
        (proj(rnn_outputs) - y_batch) ** 2
    ).mean()  # projection of the stacked [B*T, 100] outputs
    opt.zero_grad()
    loss.backward()
    opt.step()
    if iteration % 100 == 0:
        print(iteration, "\tMSE", loss.item())
X_new, y_true = (torch.tensor(a, dtype=torch.float32) for a in seed004_window(1))
with torch.no_grad():
    y_pred = proj(rk.dynamic_rnn(cell, X_new)[0])
print("shifted-window MSE:", float(((y_pred - y_true) ** 2).mean()))
print(
    "prediction (first 5):",
    np.round(y_pred[0, :5, 0].numpy(), 3),
    "truth:",
    np.round(y_true[0, :5, 0].numpy(), 3),
)
