"""Seed 000, part 2: read sin(x), predict cos(x) with a BasicLSTMCell(10), carrying the state.

Windows of 20 steps x 50 rows; row b of window k+1 continues row b of window k, so the final state
of one window is fed as the initial state of the next (detached: truncated BPTT). Adam 0.006,
1000 steps; the cost printed is the seed's (sum of squared errors / batch size).
Run: python examples/seed000_sine_cos.py [--smoke] [--plot out.png]
"""

import argparse

import torch

import rnnkit as rk
from rnnkit.data.synthetic import sine_batch

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--smoke", action="store_true", help="a few steps (CI)")
ap.add_argument("--plot", metavar="PNG", help="save prediction vs cos of the last window")
args = ap.parse_args()

torch.manual_seed(1)
TIME_STEPS, BATCH_SIZE, CELL_SIZE, LR = 20, 50, 10, 0.006
steps = 5 if args.smoke else 1000


class LSTMRNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ws_in = torch.nn.Parameter(torch.randn(1, CELL_SIZE))  # in_hidden/weights
        self.bs_in = torch.nn.Parameter(torch.full((CELL_SIZE,), 0.1))
        self.cell = rk.BasicLSTMCell(
            CELL_SIZE, forget_bias=1.0, state_is_tuple=True, input_size=CELL_SIZE
        )
        self.ws_out = torch.nn.Parameter(torch.randn(CELL_SIZE, 1))  # out_hidden/weights
        self.bs_out = torch.nn.Parameter(torch.full((1,), 0.1))

    def forward(self, xs, init_state):  # xs: [B, T, 1]
        l_in = xs @ self.ws_in + self.bs_in  # [B, T, 10]
        outputs, final_state = rk.dynamic_rnn(self.cell, l_in, initial_state=init_state)
        return outputs @ self.ws_out + self.bs_out, final_state


model = LSTMRNN()
opt = torch.optim.Adam(model.parameters(), lr=LR)
state = model.cell.zero_state(BATCH_SIZE)
for i in range(steps):
    seq, res, xs = (
        torch.as_tensor(a, dtype=torch.float32) for a in sine_batch(i, BATCH_SIZE, TIME_STEPS)
    )
    pred, state = model(seq, state)
    state = rk.LSTMStateTuple(state.c.detach(), state.h.detach())  # carry the state, cut the graph
    cost = ((pred - res) ** 2).sum() / BATCH_SIZE
    opt.zero_grad()
    cost.backward()
    opt.step()
    if i % 20 == 0:
        print(f"cost: {cost.item():.4f}")

if args.plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.plot(xs[0], res[0, :, 0], "r", xs[0], pred.detach()[0, :, 0], "b--")
    plt.ylim(-1.2, 1.2)
    plt.savefig(args.plot)
print(f"final cost after {steps} steps: {cost.item():.4f}")
