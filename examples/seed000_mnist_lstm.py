"""Seed 000, part 1: MNIST rows through dense 28->128, BasicLSTMCell(128), dense 128->10.

The TF original: Adam 1e-3, batch 128, 100,000 samples (782 steps), training-batch accuracy printed
every 20 steps. (The seed added the input bias to the weight matrix before the matmul; this port
computes x @ W + b.) Run: python examples/seed000_mnist_lstm.py [--smoke]
"""

import argparse

import torch

import rnnkit as rk
from rnnkit.data.mnist import load_mnist

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--smoke", action="store_true", help="a few steps on a few images (CI)")
args = ap.parse_args()

torch.manual_seed(1)
n_inputs, n_steps, n_hidden, n_classes = 28, 28, 128, 10
batch_size, lr = (8, 1e-3) if args.smoke else (128, 1e-3)
training_iters = 3 * batch_size if args.smoke else 100_000

mnist = load_mnist()
end = 6000 if args.smoke else None  # smoke: convert only the images used
train_x = (
    torch.tensor(mnist.train_images[5000:end], dtype=torch.float32) / 255
)  # TF kept 5,000 for validation
train_y = torch.tensor(mnist.train_labels[5000:end])
test_x = torch.tensor(mnist.test_images, dtype=torch.float32) / 255
test_y = torch.tensor(mnist.test_labels)
if args.smoke:
    test_x, test_y = test_x[:100], test_y[:100]

w_in = torch.nn.Parameter(torch.randn(n_inputs, n_hidden))  # tf.random_normal
w_out = torch.nn.Parameter(torch.randn(n_hidden, n_classes))
b_in = torch.nn.Parameter(torch.full((n_hidden,), 0.1))
b_out = torch.nn.Parameter(torch.full((n_classes,), 0.1))
cell = rk.BasicLSTMCell(n_hidden, forget_bias=1.0, state_is_tuple=True, input_size=n_hidden)


def rnn(x):  # x: [B, 28 steps, 28 inputs]
    x_in = x.reshape(-1, n_inputs) @ w_in + b_in  # [B*28, 128]
    x_in = x_in.reshape(-1, n_steps, n_hidden)
    init_state = cell.zero_state(x.shape[0], dtype=torch.float32)
    outputs, _final_state = rk.dynamic_rnn(cell, x_in, initial_state=init_state, time_major=False)
    return outputs[:, -1] @ w_out + b_out  # the last step's output


opt = torch.optim.Adam([w_in, w_out, b_in, b_out, *cell.parameters()], lr=lr)
perm = torch.randperm(len(train_y))
step = 0
while step * batch_size < training_iters:
    idx = perm[step * batch_size : (step + 1) * batch_size]
    logits = rnn(train_x[idx])
    loss = torch.nn.functional.cross_entropy(logits, train_y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 20 == 0:
        print(
            f"step {step}: batch accuracy {(logits.argmax(1) == train_y[idx]).float().mean():.4f}"
        )
    step += 1

with torch.no_grad():
    acc = (
        torch.cat([rnn(test_x[i : i + 1000]).argmax(1) for i in range(0, len(test_y), 1000)])
        == test_y
    )
print(f"test accuracy after {step} steps: {acc.float().mean():.4f}")
