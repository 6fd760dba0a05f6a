"""Seed 003: the same MNIST classifier unrolled by static_rnn and by dynamic_rnn.

static: BasicLSTMCell(256) over a list of 28 [B, 28] rows, Adam 0.01, batch 100, test accuracy
every 10 steps; once it reaches 0.90 the weights are saved (safetensors, TF variable names) and
training stops. dynamic: BasicLSTMCell(100) over [B, 28, 28], Adam 1e-4, batch 100, 6 epochs.
(The seed applied softmax twice in the dynamic program; this port uses the logits once.)
Run: python examples/seed003_static_vs_dynamic.py [--smoke] [--save DIR]
"""

import argparse
import datetime
from pathlib import Path

import torch
from safetensors.torch import save_file

import rnnkit as rk
from rnnkit.data.mnist import load_mnist

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--smoke", action="store_true", help="a few steps, small test set (CI)")
ap.add_argument("--save", default=".", metavar="DIR", help="where the static model is saved")
args = ap.parse_args()
torch.manual_seed(0)

mnist = load_mnist()
end = 6000 if args.smoke else None  # smoke: convert only the images used
train_x = torch.tensor(mnist.train_images[5000:end], dtype=torch.float32) / 255
train_y = torch.tensor(mnist.train_labels[5000:end])
test_x = torch.tensor(mnist.test_images, dtype=torch.float32) / 255
test_y = torch.tensor(mnist.test_labels)
if args.smoke:
    test_x, test_y = test_x[:100], test_y[:100]
batch_size = 100
steps_per_epoch = len(train_y) // batch_size


def batches(seed):
    perm = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(seed))
    for i in range(steps_per_epoch):
        idx = perm[i * batch_size : (i + 1) * batch_size]
        yield train_x[idx], train_y[idx]


def accuracy(logits_fn):
    with torch.no_grad():
        pred = torch.cat(
            [logits_fn(test_x[i : i + 1000]).argmax(1) for i in range(0, len(test_y), 1000)]
        )
    return (pred == test_y).float().mean().item()


# static_rnn: a Python list of 28 tensors [B, 28], one per image row
rnn_size = 16 if args.smoke else 256
w = torch.nn.Parameter(0.01 * torch.randn(rnn_size, 10))
b = torch.nn.Parameter(0.1 * torch.randn(10))
lstm_cell = rk.BasicLSTMCell(rnn_size, input_size=28)


def static_logits(X):
    outputs, _ = rk.static_rnn(lstm_cell, list(X.unbind(1)), dtype=torch.float32)
    return outputs[-1] @ w + b


opt = torch.optim.Adam([w, b, *lstm_cell.parameters()], lr=0.01)
for step, (bx, by) in enumerate(batches(0)):
    loss = torch.nn.functional.cross_entropy(static_logits(bx), by)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0:
        acc = accuracy(static_logits)
        print(datetime.datetime.now().strftime("%c"), " step:", step, " accuracy:", acc)
        if acc >= 0.90 or args.smoke:  # smoke: save at the first check
            names = {"Variable": w, "Variable_1": b, **rk.tf_variables(lstm_cell)}
            path = Path(args.save) / f"0.9mnist.model-{step}.safetensors"
            save_file({k: v.detach().contiguous() for k, v in names.items()}, str(path))
            print("saved", path, "with", list(names))
            break

# dynamic_rnn: one [B, 28, 28] tensor; final_state.h is the last output
lstm_size = 8 if args.smoke else 100
weight = torch.nn.Parameter(
    torch.nn.init.trunc_normal_(torch.empty(lstm_size, 10), std=0.1, a=-0.2, b=0.2)
)
biases = torch.nn.Parameter(torch.full((10,), 0.1))
cell = rk.BasicLSTMCell(lstm_size, input_size=28)


def dynamic_logits(X):
    _outputs, final_state = rk.dynamic_rnn(cell, X, dtype=torch.float32)
    return final_state.h @ weight + biases  # final_state[1] is h


opt = torch.optim.Adam([weight, biases, *cell.parameters()], lr=1e-4)
for epoch in range(1 if args.smoke else 6):
    for i, (bx, by) in enumerate(batches(100 + epoch)):
        loss = torch.nn.functional.cross_entropy(dynamic_logits(bx), by)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i % 100 == 0:
            print(f"{i}/{steps_per_epoch}")
        if args.smoke and i == 2:
            break
    print(f"Iter{epoch} ,Testing Accuracy = {accuracy(dynamic_logits)}")
