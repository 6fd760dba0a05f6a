"""Seed 001: 2 x LSTMCell(256), dropout on each layer's output (keep 0.5), stepped by hand over 28 rows.

Prints the test accuracy, the outputs' shape for 5 images (28, 5, 256), and draws the class
probabilities after each row for one image (the 4x7 bar grid) with --plot.
Run: python examples/seed001_multilayer_dropout.py [--smoke] [--plot bars.png]
"""

import argparse

import numpy as np
import torch

import rnnkit as rk
from rnnkit.data.mnist import load_mnist

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--smoke", action="store_true", help="a few steps, small layers (CI)")
ap.add_argument("--plot", metavar="PNG", help="save the per-row probability bars of one image")
args = ap.parse_args()

torch.manual_seed(0)
lr, timestamp_size, num_hidden, lstm_num, num_classes = 1e-3, 28, 256, 2, 10
batch_size, steps = (8, 3) if args.smoke else (64, 2000)
if args.smoke:
    num_hidden = 16

mnist = load_mnist()
end = 6000 if args.smoke else None  # smoke: convert only the images used
train_x = torch.tensor(mnist.train_images[5000:end], dtype=torch.float32) / 255
train_y = torch.tensor(mnist.train_labels[5000:end])
test_x = torch.tensor(mnist.test_images, dtype=torch.float32) / 255
test_y = torch.tensor(mnist.test_labels)
if args.smoke:
    test_x, test_y = test_x[:100], test_y[:100]

mlstm_cell = rk.MultiRNNCell(
    [
        rk.DropoutWrapper(
            rk.LSTMCell(num_hidden, input_size=28 if i == 0 else num_hidden), output_keep_prob=0.5
        )
        for i in range(lstm_num)
    ],
    state_is_tuple=True,
)
W = torch.nn.Parameter(
    torch.nn.init.trunc_normal_(torch.empty(num_hidden, num_classes), std=0.1, a=-0.2, b=0.2)
)
b = torch.nn.Parameter(torch.full((num_classes,), 0.1))


def run_steps(X):
    """Step the stack by hand, as the seed does; returns the 28 outputs [B, H] and the final state."""
    state = mlstm_cell.zero_state(X.shape[0], dtype=torch.float32)
    outputs = []
    for timestamp in range(timestamp_size):
        output, state = mlstm_cell(X[:, timestamp, :], state)
        outputs.append(output)
    return outputs, state


opt = torch.optim.Adam([*mlstm_cell.parameters(), W, b], lr=lr)
perm = torch.randperm(len(train_y))
for i in range(steps):
    idx = perm[i * batch_size : (i + 1) * batch_size]
    mlstm_cell.train()
    outputs, _ = run_steps(train_x[idx])
    loss = torch.nn.functional.cross_entropy(outputs[-1] @ W + b, train_y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
    if i % 200 == 0:
        print(f"step {i}: loss {loss.item():.4f}")

mlstm_cell.eval()  # keep_prob 1.0 at test time
with torch.no_grad():
    pred = torch.cat(
        [
            (run_steps(test_x[j : j + 1000])[0][-1] @ W + b).argmax(1)
            for j in range(0, len(test_y), 1000)
        ]
    )
    print(f"test accuracy {(pred == test_y).float().mean():.4f}")
    outputs, _ = run_steps(train_x[:5])
    print("outputs shape=", np.asarray([o.numpy() for o in outputs]).shape)  # (28, 5, num_hidden)
    image = mnist.train_images[5004]
    outs, _ = run_steps(torch.tensor(image[None], dtype=torch.float32) / 255)
    probs = torch.softmax(torch.stack([o[0] for o in outs]) @ W + b, -1).numpy()  # [28, 10]
    print("most likely class after each row:", probs.argmax(1).tolist())
if args.plot:
    from rnnkit.plots import step_probability_bars

    step_probability_bars(args.plot, image, probs, int(mnist.train_labels[5004]))
