"""contrib's convolutional LSTMs (kernels.conv_lstm_sequence) against a naive per-step loop of the same math in
plain torch (issue 19, item 2).

    PYTHONPATH=src python benchmarks/bench_conv_lstm.py [--rounds 15]

Shapes: small realistic ones (not bench_contrib_cells.py's mnist rows, which are not images): Conv2D B=16, T=10,
16x16 pixels, 4 -> 16 channels, 3x3 window; Conv1D B=16, T=10, 64 samples, 4 -> 16, window 5; Conv3D B=4, T=10,
8x8x8, 4 -> 16, 3x3x3. Inputs batch-major and channels-last, as TF's. One training pass = forward over all steps
(outputs stacked) + backward of their sum (no optimizer); the median of ``--rounds`` interleaved timings on the
process CPU clock, one torch thread. Both naive loops compute the same numbers as rnnkit (checked first):
``naive`` is the obvious port (each step's frame moved to torch's NCHW, ``conv(cat([x, h]))``), ``naive_cl`` the
same loop with its state in channels-last memory (what a torch user who knows oneDNN's preference would write).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import rnnkit as rk

B, T, C, K = 16, 10, 4, 16
CASES = {  # name: (cell class, batch, spatial shape, window)
    "Conv2DLSTMCell": (rk.Conv2DLSTMCell, B, (16, 16), (3, 3)),
    "Conv1DLSTMCell": (rk.Conv1DLSTMCell, B, (64,), (5,)),
    "Conv3DLSTMCell": (rk.Conv3DLSTMCell, 4, (8, 8, 8), (3, 3, 3)),
}


def _naive(cell: rk.Conv2DLSTMCell, channels_last: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """The cell's math written the obvious way (odd windows: torch's symmetric padding is TF's SAME)."""
    n = len(cell.kernel_shape)
    conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    pads = [k // 2 for k in cell.kernel_shape]

    def loop(x: torch.Tensor) -> torch.Tensor:  # x [B, T, *S, C]
        weight = cell.kernel.permute(n + 1, n, *range(n))  # [*k, C+K, 4K] -> [4K, C+K, *k]
        zeros = x.new_zeros(x.shape[0], *x.shape[2:-1], K)  # channels-last memory
        c = h = zeros.movedim(-1, 1) if channels_last else zeros.movedim(-1, 1).contiguous()
        outs = []
        for x_t in x.unbind(1):
            z = conv(torch.cat([x_t.movedim(-1, 1), h], 1), weight, cell.biases, padding=pads)
            i, j, f, o = z.chunk(4, 1)
            c = torch.sigmoid(f + cell.forget_bias) * c + torch.sigmoid(i) * torch.tanh(j)
            h = torch.tanh(c) * torch.sigmoid(o)
            outs.append(h)
        return torch.stack(outs, 1).movedim(2, -1)  # [B, T, *S, K]

    return loop


def _train_once(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    start = time.process_time()
    fn(x).sum().backward()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for name, (cls, batch, spatial, window) in CASES.items():
        cell = cls(input_shape=[*spatial, C], output_channels=K, kernel_shape=list(window))
        with torch.no_grad():
            cell.biases.uniform_(-0.5, 0.5)  # type: ignore[union-attr]
        x = torch.randn(batch, T, *spatial, C)
        columns = {
            "naive": _naive(cell, False),
            "naive_cl": _naive(cell, True),
            "rnnkit": lambda x, cell=cell: rk.dynamic_rnn(cell, x)[0],
        }
        for fn in columns.values():
            torch.testing.assert_close(fn(x), columns["rnnkit"](x), rtol=1e-5, atol=1e-5)
            _train_once(fn, x)
        times: dict[str, list[float]] = {k: [] for k in columns}
        for _ in range(args.rounds):
            for key, fn in columns.items():
                times[key].append(_train_once(fn, x))
        naive, naive_cl, ours = (statistics.median(times[k]) for k in columns)
        print(
            f"{name:15s} naive {naive * 1e3:7.2f} ms   naive_cl {naive_cl * 1e3:7.2f} ms   "
            f"rnnkit {ours * 1e3:7.2f} ms   {naive / ours:5.2f}x naive, {naive_cl / ours:5.2f}x naive_cl"
        )
        print(f"  rnnkit path: {rk.fused.explain(cell)[:100]}")


if __name__ == "__main__":
    main()
