"""contrib's cells with native sequence kernels (IndRNN, IndyGRU, IndyLSTM, SRU, UGRNN, NAS, IntersectionRNN,
CoupledInputForgetGateLSTM, GLSTM with 2 groups, LayerNormLSTM with layer_norm, with and without peepholes and
clip, PhasedLSTM) and the core LayerNormBasicLSTMCell (the same kernel as LayerNormLSTM): rnnkit against a naive
per-step loop of the same math in plain torch (issue 19, item 2).

    PYTHONPATH=src python benchmarks/bench_contrib_cells.py [--rounds 15] [--only NAME ...]

Shape: the mnist task's (B=128, T=28, D=28, H=128); PhasedLSTMCell's inputs also have a time channel
``[T, B, 1]``. One training pass = forward over all steps (outputs stacked ``[T, B, H]``) + backward of the sum of
the last output (no optimizer); the median of ``--rounds`` interleaved timings on the process CPU clock, one torch
thread. Both sides compute the same numbers (checked first).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

import rnnkit as rk
from rnnkit.cells import contrib

B, T, D, H = 128, 28, 28, 128


def _naive(cell: torch.nn.Module) -> Callable[[Any], torch.Tensor]:
    """The cell's math written the obvious way, one autograd node per op and step."""

    def indrnn(x: torch.Tensor) -> torch.Tensor:
        h, outs = x.new_zeros(B, H), []
        for x_t in x.unbind(0):
            h = torch.tanh(x_t @ cell.kernel_w + h * cell.kernel_u + cell.bias)
            outs.append(h)
        return torch.stack(outs)

    def indy_gru(x: torch.Tensor) -> torch.Tensor:
        h, outs = x.new_zeros(B, H), []
        for x_t in x.unbind(0):
            g = torch.sigmoid(
                x_t @ cell.gates_kernel_w
                + torch.cat([h, h], 1) * cell.gates_kernel_u
                + cell.gates_bias
            )
            r, u = g.chunk(2, 1)
            c = torch.tanh(
                x_t @ cell.candidate_kernel_w
                + r * h * cell.candidate_kernel_u
                + cell.candidate_bias
            )
            h = u * h + (1 - u) * c
            outs.append(h)
        return torch.stack(outs)

    def indy_lstm(x: torch.Tensor) -> torch.Tensor:
        c = h = x.new_zeros(B, H)
        outs = []
        for x_t in x.unbind(0):
            z = x_t @ cell.kernel_w + torch.cat([h, h, h, h], 1) * cell.kernel_u + cell.bias
            i, j, f, o = z.chunk(4, 1)
            c = c * torch.sigmoid(f + cell.forget_bias) + torch.sigmoid(i) * torch.tanh(j)
            h = torch.tanh(c) * torch.sigmoid(o)
            outs.append(h)
        return torch.stack(outs)

    def sru(x: torch.Tensor) -> torch.Tensor:
        c, outs = x.new_zeros(B, H), []
        for x_t in x.unbind(0):
            x_bar, f, r, x_tx = (x_t @ cell.kernel).chunk(4, 1)
            f, r = torch.sigmoid(torch.cat([f, r], 1) + cell.bias).chunk(2, 1)
            c = f * c + (1 - f) * x_bar
            outs.append(r * torch.tanh(c) + (1 - r) * x_tx)
        return torch.stack(outs)

    def ugrnn(x: torch.Tensor) -> torch.Tensor:
        h, outs = x.new_zeros(B, H), []
        for x_t in x.unbind(0):
            g, c = (torch.cat([x_t, h], 1) @ cell.kernel + cell.bias).chunk(2, 1)
            g = torch.sigmoid(g + cell.forget_bias)
            h = g * h + (1 - g) * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs)

    def nas(x: torch.Tensor) -> torch.Tensor:
        c = m = x.new_zeros(B, H)
        outs, sig, tanh = [], torch.sigmoid, torch.tanh
        for x_t in x.unbind(0):
            a, b = (x_t @ cell.kernel).chunk(8, 1), (m @ cell.recurrent_kernel).chunk(8, 1)
            l0, l1 = sig(a[0] + b[0]), torch.relu(a[1] + b[1])
            l2, l3 = sig(a[2] + b[2]), torch.relu(a[3] * b[3])
            l4, l5, l6, l7 = (
                tanh(a[4] + b[4]),
                sig(a[5] + b[5]),
                tanh(a[6] + b[6]),
                sig(a[7] + b[7]),
            )
            c = tanh(tanh(l0 * l1) + c) * tanh(l2 + l3)
            m = tanh(c * tanh(tanh(l4 * l5) + sig(l6 + l7)))
            outs.append(m)
        return torch.stack(outs)

    naive = {"IndRNNCell": indrnn, "IndyGRUCell": indy_gru, "IndyLSTMCell": indy_lstm}

    def intersection(x: torch.Tensor) -> torch.Tensor:
        h, outs = x.new_zeros(B, H), []
        xp = x @ cell.in_kernel + cell.in_bias
        for x_t in xp.unbind(0):
            gh, hc, gy, yc = (torch.cat([x_t, h], 1) @ cell.kernel + cell.bias).chunk(4, 1)
            gh, gy = torch.sigmoid(gh + cell.forget_bias), torch.sigmoid(gy + cell.forget_bias)
            h = gh * h + (1 - gh) * torch.tanh(hc)
            outs.append(gy * x_t + (1 - gy) * torch.relu(yc))
        return torch.stack(outs)

    def glstm(x: torch.Tensor) -> torch.Tensor:
        c = m = x.new_zeros(B, H)
        outs, groups = [], cell.number_of_groups
        kernels = [getattr(cell, f"group{g}_kernel") for g in range(groups)]
        bias = torch.cat([cell.bias_i, cell.bias_j, cell.bias_f, cell.bias_o])
        for x_t in x.unbind(0):
            parts = [
                (torch.cat([x_g, m_g], 1) @ k).chunk(4, 1)
                for x_g, m_g, k in zip(x_t.chunk(groups, 1), m.chunk(groups, 1), kernels)
            ]
            z = torch.cat([torch.cat([p[q] for p in parts], 1) for q in range(4)], 1) + bias
            i, j, f, o = z.chunk(4, 1)
            c = torch.sigmoid(f + cell.forget_bias) * c + torch.sigmoid(i) * torch.tanh(j)
            m = torch.sigmoid(o) * torch.tanh(c)
            outs.append(m)
        return torch.stack(outs)

    def ln(
        v: torch.Tensor, gate: str
    ) -> torch.Tensor:  # TF's layer norm, as the bench's other LN loop
        gamma, beta = getattr(cell, f"{gate}_gamma"), getattr(cell, f"{gate}_beta")
        mean = v.mean(-1, keepdim=True)
        inv = torch.rsqrt((v - mean).square().mean(-1, keepdim=True) + 1e-12) * gamma
        return v * inv + (beta - mean * inv)

    def ln_lstm(x: torch.Tensor) -> torch.Tensor:
        c = m = x.new_zeros(B, H)
        outs, sig = [], torch.sigmoid
        peep, clip = getattr(cell, "use_peepholes", False), getattr(cell, "cell_clip", None)
        for x_t in x.unbind(0):
            i, j, f, o = (torch.cat([x_t, m], 1) @ cell.kernel).chunk(4, 1)
            i, j, f, o = ln(i, "input"), ln(j, "transform"), ln(f, "forget"), ln(o, "output")
            if peep:
                f, i = f + cell.w_f_diag * c, i + cell.w_i_diag * c
            c = ln(sig(f + cell.forget_bias) * c + sig(i) * torch.tanh(j), "state")
            c = c.clamp(-clip, clip) if clip is not None else c
            m = sig(o + cell.w_o_diag * c if peep else o) * torch.tanh(c)
            outs.append(m)
        return torch.stack(outs)

    def cifg(x: torch.Tensor) -> torch.Tensor:
        c = m = x.new_zeros(B, H)
        outs, peep = [], cell.use_peepholes
        for x_t in x.unbind(0):
            j, f, o = (torch.cat([x_t, m], 1) @ cell.kernel + cell.bias).chunk(3, 1)
            f = torch.sigmoid(f + cell.forget_bias + (cell.w_f_diag * c if peep else 0))
            c = f * c + (1 - f) * torch.tanh(j)
            m = torch.sigmoid(o + (cell.w_o_diag * c if peep else 0)) * torch.tanh(c)
            outs.append(m)
        return torch.stack(outs)

    def phased(inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        times, x = inputs
        c = h = x.new_zeros(B, H)
        outs, peep = [], cell.use_peepholes
        for t_t, x_t in zip(times.unbind(0), x.unbind(0)):
            xh = torch.cat([x_t, h], 1)
            gates = torch.cat([xh, c], 1) @ cell.mask_kernel if peep else xh @ cell.mask_kernel
            i, f = torch.sigmoid(gates + cell.mask_bias).chunk(2, 1)
            new_c = c * f + i * torch.tanh(xh @ cell.input_kernel + cell.input_bias)
            o = torch.cat([xh, new_c], 1) @ cell.output_kernel if peep else xh @ cell.output_kernel
            new_h = torch.tanh(new_c) * torch.sigmoid(o + cell.output_bias)
            shifted = t_t - cell.phase
            r = ((torch.remainder(shifted, cell.period) - shifted).detach() + shifted) / cell.period
            k_up = 2 * r / cell.ratio_on
            k = torch.where(r < cell.ratio_on, 2 - k_up, cell.leak * r)
            k = torch.where(r < 0.5 * cell.ratio_on, k_up, k)
            c, h = k * new_c + (1 - k) * c, k * new_h + (1 - k) * h
            outs.append(h)
        return torch.stack(outs)

    naive |= {
        "PhasedLSTMCell": phased,
        "GLSTMCell": glstm,
        "CoupledInputForgetGateLSTMCell": cifg,
        "LayerNormLSTMCell": ln_lstm,
        "LayerNormBasicLSTMCell": ln_lstm,  # the same formula without peepholes and clip
        "SRUCell": sru,
        "UGRNNCell": ugrnn,
        "NASCell": nas,
        "IntersectionRNNCell": intersection,
    }
    return naive[type(cell).__name__]


def _train_once(fn: Callable[[Any], torch.Tensor], x: Any) -> float:
    start = time.process_time()
    fn(x)[-1].sum().backward()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--only", nargs="*", help="the rows to run (their labels), default all")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(T, B, D)
    # PhasedLSTMCell's inputs: (times [T, B, 1], x), timestamps increasing by 0.2 to 2 per step
    times = torch.cumsum(torch.rand(T, B, 1) * 1.8 + 0.2, 0)
    cells = {
        "IndRNNCell": contrib.IndRNNCell(H, input_size=D),
        "IndyGRUCell": contrib.IndyGRUCell(H, input_size=D),
        "IndyLSTMCell": contrib.IndyLSTMCell(H, input_size=D),
        "SRUCell": contrib.SRUCell(H, input_size=D),
        "UGRNNCell": contrib.UGRNNCell(H, input_size=D),
        "NASCell": contrib.NASCell(H, input_size=D),
        "IntersectionRNNCell": contrib.IntersectionRNNCell(H, num_in_proj=H, input_size=D),
        "CIFG-LSTM": contrib.CoupledInputForgetGateLSTMCell(H, input_size=D),
        "CIFG-LSTM+peep": contrib.CoupledInputForgetGateLSTMCell(
            H, use_peepholes=True, input_size=D
        ),
        "GLSTMCell": contrib.GLSTMCell(H, number_of_groups=2, input_size=D),
        "LayerNormLSTM": contrib.LayerNormLSTMCell(H, layer_norm=True, input_size=D),
        "LayerNormLSTM+peep+clip": contrib.LayerNormLSTMCell(
            H, layer_norm=True, use_peepholes=True, cell_clip=1.0, input_size=D
        ),
        "LayerNormBasicLSTM": rk.LayerNormBasicLSTMCell(H, input_size=D),
        "PhasedLSTM": contrib.PhasedLSTMCell(H, input_size=D),
        "PhasedLSTM+peep": contrib.PhasedLSTMCell(H, use_peepholes=True, input_size=D),
    }
    for label, cell in cells.items():
        if args.only and label not in args.only:
            continue
        inputs = (times, x) if isinstance(cell, contrib.PhasedLSTMCell) else x
        columns = {
            "naive": _naive(cell),
            "rnnkit": lambda x, cell=cell: rk.dynamic_rnn(cell, x, time_major=True)[0],
        }
        # with peepholes and clip both float32 sides drift ~2e-5 from the float64 result over the 28 steps
        tol = 1e-4 if label == "LayerNormLSTM+peep+clip" else 1e-5
        torch.testing.assert_close(
            columns["rnnkit"](inputs), columns["naive"](inputs), rtol=tol, atol=tol
        )
        for fn in columns.values():
            _train_once(fn, inputs)
        taken: dict[str, list[float]] = {k: [] for k in columns}
        for _ in range(args.rounds):
            for key, fn in columns.items():
                taken[key].append(_train_once(fn, inputs))
        naive, ours = (statistics.median(taken[k]) for k in ("naive", "rnnkit"))
        print(
            f"{label:13s} naive {naive * 1e3:6.2f} ms   rnnkit {ours * 1e3:6.2f} ms   {naive / ours:5.2f}x"
        )
        print(f"  rnnkit path: {rk.fused.explain(cell)[:100]}")


if __name__ == "__main__":
    main()
