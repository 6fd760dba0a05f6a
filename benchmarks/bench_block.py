"""Speed of the block cells, LSTMBlockFusedCell and the cuDNN layers vs torch.nn.LSTM/GRU and the step loop.

    PYTHONPATH=src python benchmarks/bench_block.py [--threads 1] [--repeats 3] [--device cpu]

Shape: B=128, T=28, D=28, H=128 (the mnist task's). Training = forward + backward of the mean of the last output +
an Adam step (steps/s); inference = the forward under ``torch.no_grad()`` (sequences/s). Each figure is the median
of ``--repeats`` timings of a calibrated number of calls (≈ 0.3 s each), on the process CPU clock (the shared
machine; ``--clock wall`` for a quiet one or a GPU).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

import rnnkit as rk

B, T, D, H = 128, 28, 28, 128


def _models(device: str) -> dict[str, tuple[torch.nn.Module, Callable]]:
    def unroll(cell, fused=None):
        return cell, lambda x: rk.dynamic_rnn(cell, x, time_major=True, fused=fused)[0]

    def layer(module):
        return module, lambda x: module(x)[0]

    kw = {"input_size": D, "device": device}
    return {
        "LSTMBlockCell auto (fused)": unroll(rk.LSTMBlockCell(H, **kw)),
        "LSTMBlockCell loop": unroll(rk.LSTMBlockCell(H, **kw), fused=False),
        "LSTMBlockCell peephole+clip (loop)": unroll(
            rk.LSTMBlockCell(H, use_peephole=True, cell_clip=3.0, **kw)
        ),
        "LSTMBlockFusedCell": layer(rk.LSTMBlockFusedCell(H, **kw)),
        "CudnnLSTM(1 layer)": layer(rk.CudnnLSTM(1, H, **kw)),
        "torch.nn.LSTM": layer(torch.nn.LSTM(D, H, device=device)),
        "naive LSTM loop": (lambda c: (c, lambda x: _naive(c, x)))(rk.LSTMBlockCell(H, **kw)),
        "GRUBlockCell (loop)": unroll(rk.GRUBlockCell(H, **kw)),
        "CudnnCompatibleGRUCell auto (fused)": unroll(rk.CudnnCompatibleGRUCell(H, **kw)),
        "CudnnCompatibleGRUCell loop": unroll(rk.CudnnCompatibleGRUCell(H, **kw), fused=False),
        "CudnnGRU(1 layer)": layer(rk.CudnnGRU(1, H, **kw)),
        "torch.nn.GRU": layer(torch.nn.GRU(D, H, device=device)),
    }


def _naive(cell: rk.LSTMBlockCell, x: torch.Tensor) -> torch.Tensor:
    """The LSTM step as a plain Python loop: ``cat([x_t, h]) @ W`` every step."""
    c = h = x.new_zeros(x.shape[1], H)
    outs = []
    for x_t in x.unbind(0):
        i, j, f, o = torch.addmm(cell.bias, torch.cat([x_t, h], 1), cell.kernel).chunk(4, 1)
        c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
        h = torch.tanh(c) * torch.sigmoid(o)
        outs.append(h)
    return torch.stack(outs)


def _path(name: str, module: torch.nn.Module) -> str:
    if name.startswith("naive"):
        return "plain Python loop"
    if name.endswith(" loop"):
        return "step loop (fused=False)"
    if isinstance(module, (rk.RNNCell, rk.LSTMBlockFusedCell, rk.CudnnLSTM, rk.CudnnGRU)):
        return rk.fused.explain(module)
    return "torch"


def _rate(
    fn: Callable[[], object], clock: Callable[[], float], repeats: int, sync: Callable[[], None]
) -> float:
    fn()
    sync()
    start, n = clock(), 0
    while clock() - start < 0.1:
        fn()
        n += 1
    sync()
    calls = max(1, int(n * 0.3 / max(clock() - start, 1e-9)))
    rates = []
    for _ in range(repeats):
        start = clock()
        for _ in range(calls):
            fn()
        sync()
        rates.append(calls / (clock() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    x = torch.randn(T, B, D, device=args.device)
    print(f"B={B} T={T} D={D} H={H}, {args.device}, {args.threads} thread(s), {args.clock} clock")
    print("| model | train steps/s | inference seq/s | path |\n|---|---|---|---|")
    for name, (module, forward) in _models(args.device).items():
        opt = torch.optim.Adam(module.parameters(), lr=1e-3)

        def train_step() -> None:
            opt.zero_grad()
            forward(x)[-1].mean().backward()
            opt.step()

        def infer() -> None:
            with torch.no_grad():
                forward(x)

        path = _path(name, module)
        train = _rate(train_step, clock, args.repeats, sync)
        seqs = _rate(infer, clock, args.repeats, sync) * B
        print(f"| {name} | {train:.3g} | {seqs:.4g} | {path} |", flush=True)


if __name__ == "__main__":
    main()
