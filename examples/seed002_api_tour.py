"""Seed 002: a tour of the cell API, printing the shapes the seed prints.

BasicRNNCell (state = output), BasicLSTMCell (LSTMStateTuple(c, h)), dynamic_rnn over many steps,
a bidirectional unroll, a MultiRNNCell of LSTMCell(128) and LSTMCell(256), then the seed's closing
static_rnn LSTM trained on random data. Run: python examples/seed002_api_tour.py [--smoke]
"""

import argparse

import torch

import rnnkit as rk

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--smoke", action="store_true", help="a few training steps at the end (CI)")
args = ap.parse_args()
torch.manual_seed(0)

# 1. BasicRNNCell: one step; output and new state are the same tensor
cell = rk.BasicRNNCell(num_units=128)
print(cell.state_size)  # 128
inputs = torch.randn(32, 100)  # 32 is the batch size
h0 = cell.zero_state(batch_size=32, dtype=torch.float32)  # [32, 128] zeros
output, h1 = cell(inputs, h0)  # one step in time
print(h1.shape)  # torch.Size([32, 128])
print(torch.equal(output, h1))  # True

# 2. BasicLSTMCell: the state is LSTMStateTuple(c, h), the output is h
lstm_cell = rk.BasicLSTMCell(num_units=128)
print(lstm_cell.output_size)  # 128
print(lstm_cell.state_size)  # LSTMStateTuple(c=128, h=128)
h0 = lstm_cell.zero_state(batch_size=32, dtype=torch.float32)
new_h, new_state = lstm_cell(inputs, h0)
print(new_h.shape)  # torch.Size([32, 128])
print(new_state.h.shape, new_state.c.shape)  # torch.Size([32, 128]) torch.Size([32, 128])

# 3. dynamic_rnn: many steps in one call; outputs [batch, max_time, output_size]
data = torch.randn(32, 10, 100)  # [batch, max_time, depth]
outputs, state = rk.dynamic_rnn(rk.BasicRNNCell(64), data, dtype=torch.float32)
print(outputs.shape, state.shape)  # torch.Size([32, 10, 64]) torch.Size([32, 64])

# 4. bidirectional: forward and backward outputs, each [batch, max_time, units]
cell_fw, cell_bw = rk.BasicLSTMCell(64), rk.BasicLSTMCell(64)
if hasattr(rk, "bidirectional_dynamic_rnn"):
    (out_fw, out_bw), _ = rk.bidirectional_dynamic_rnn(cell_fw, cell_bw, data, dtype=torch.float32)
else:  # same result for full-length rows: run the backward cell on the time-reversed input
    out_fw, _ = rk.dynamic_rnn(cell_fw, data)
    out_bw = rk.dynamic_rnn(cell_bw, data.flip(1))[0].flip(1)
print(
    out_fw.shape, out_bw.shape, torch.cat([out_fw, out_bw], 2).shape
)  # [32, 10, 64] x2, [32, 10, 128]

# 5. MultiRNNCell: stacked LSTMCell(128) and LSTMCell(256)
multi_rnn_cell = rk.MultiRNNCell([rk.LSTMCell(size) for size in [128, 256]])
outputs, state = rk.dynamic_rnn(cell=multi_rnn_cell, inputs=data, dtype=torch.float32)
print(outputs.shape)  # torch.Size([32, 10, 256])
print(
    len(state), type(state[0]).__name__, state[1].c.shape
)  # 2 LSTMStateTuple torch.Size([32, 256])

# 6. the seed's closing program: static_rnn LSTM(128) on random data, Adam 0.01
input_size, hidden_size, output_size, batch_size, sequence_length = 100, 128, 10, 32, 20
lstm_cell = rk.BasicLSTMCell(hidden_size, input_size=input_size)
fc_weights = torch.nn.Parameter(torch.randn(hidden_size, output_size))
fc_bias = torch.nn.Parameter(torch.zeros(output_size))
opt = torch.optim.Adam([*lstm_cell.parameters(), fc_weights, fc_bias], lr=0.01)
for i in range(3 if args.smoke else 1000):
    inputs_data = torch.randn(batch_size, sequence_length, input_size)
    labels_data = torch.randn(batch_size, output_size)
    initial_state = lstm_cell.zero_state(batch_size, torch.float32)
    outs, states = rk.static_rnn(
        lstm_cell, list(inputs_data.unbind(1)), initial_state=initial_state
    )
    logits = outs[-1] @ fc_weights + fc_bias
    # TF's softmax_cross_entropy_with_logits accepts any label vector (here random, as in the seed)
    loss = -(labels_data * torch.log_softmax(logits, 1)).sum(1).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if i % 100 == 0 or args.smoke:
        print(f"Step {i}, Loss: {loss.item():f}")
