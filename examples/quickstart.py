"""A 20-second tour: a TF1-style LSTM stack with rnnkit, trained to sum a random sequence's signs.

Run: python examples/quickstart.py [--steps N]
"""

import argparse

import torch

import rnnkit as rk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    torch.manual_seed(0)
    cell = rk.MultiRNNCell(
        [rk.BasicLSTMCell(32, input_size=1), rk.LSTMCell(32, num_proj=16, input_size=32)]
    )
    head = torch.nn.Linear(16, 1)
    opt = torch.optim.Adam([*cell.parameters(), *head.parameters()], lr=1e-2)
    for step in range(1, args.steps + 1):
        x = torch.randn(64, 20, 1)
        lengths = torch.randint(1, 21, (64,))
        target = (torch.sign(x[..., 0]) * (torch.arange(20) < lengths[:, None])).sum(
            1, keepdim=True
        )
        outputs, state = rk.dynamic_rnn(cell, x, sequence_length=lengths)
        loss = torch.nn.functional.mse_loss(head(state[-1].h), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == 1:
            print(f"step {step:4d}  mse {loss.item():.4f}")
    print("TF variable names:", *rk.tf_variables(cell), sep="\n  ")


if __name__ == "__main__":
    main()
