"""How far a step loop can get ahead of a naive loop for TF's GRUCell and the peephole LSTMCell (issue 19).

    PYTHONPATH=src python benchmarks/bench_step_ceiling.py [--rounds 15] [--compile]

Shape: the mnist task's (B=128, T=28, D=28, H=128). One training pass = forward over all steps (outputs stacked
``[T, B, H]``, as ``dynamic_rnn`` returns them) + backward of the sum of the last output (no optimizer). Columns,
each the median of ``--rounds`` interleaved timings on the process CPU clock with one torch thread:

* ``naive``: the per-step math written the obvious way (``cat([x_t, h]) @ W``), what issue 19 compares against;
* ``rnnkit``: ``rk.dynamic_rnn(cell, x, fused=False)`` on the real cell: for these two cells the native sequence
  kernels (``rnnkit.kernels.gru_sequence`` / ``peephole_lstm_sequence``; the step loop where they cannot run,
  ``rk.fused.explain`` says which);
* ``split``: the same split written by hand in plain torch (input half precomputed, per-step autograd);
* ``compiled``: ``split`` with its step compiled by ``torch.compile`` (``--compile``; needs a C++ compiler);
* ``matmul floor``: only the matrix products that any exact step-by-step implementation must run (per step the
  recurrent product forward, its input gradient backward; the weight gradient as one product over all steps), no
  pointwise work and no autograd. ``naive / floor`` bounds what removing every other cost could give.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

import rnnkit as rk

B, T, D, H = 128, 28, 28, 128


def _params(*shapes: tuple[int, ...]) -> list[torch.Tensor]:
    return [(torch.randn(*s) * 0.05).requires_grad_() for s in shapes]


def _columns(naive: Callable, split: Callable, step: Callable) -> dict[str, Callable]:
    """The hand-written columns of one cell: the naive loop, the split loop, and (called only with
    ``--compile``) a factory of the split loop with its step compiled by ``torch.compile``."""
    return {
        "naive": naive,
        "split": split(step),
        "compiled": lambda: split(torch.compile(step, dynamic=False)),
    }


def _gru_steps() -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    wg, bg, wc, bc = _params((D + H, 2 * H), (2 * H,), (D + H, H), (H,))

    def naive(x: torch.Tensor) -> torch.Tensor:
        h, outputs = x.new_zeros(B, H), []
        for x_t in x.unbind(0):
            r, u = torch.sigmoid(torch.cat([x_t, h], 1) @ wg + bg).chunk(2, 1)
            c = torch.tanh(torch.cat([x_t, r * h], 1) @ wc + bc)
            h = u * h + (1 - u) * c
            outputs.append(h)
        return torch.stack(outputs)

    def step(
        xg: torch.Tensor, xc: torch.Tensor, h: torch.Tensor, ug: torch.Tensor, uc: torch.Tensor
    ):
        r, u = torch.sigmoid(torch.addmm(xg, h, ug)).chunk(2, 1)
        return u * h + (1 - u) * torch.tanh(torch.addmm(xc, r * h, uc))

    def split(step_fn: Callable) -> Callable[[torch.Tensor], torch.Tensor]:
        def run(x: torch.Tensor) -> torch.Tensor:
            flat = x.reshape(T * B, D)
            xg = torch.addmm(bg, flat, wg[:D]).view(T, B, 2 * H).unbind(0)
            xc = torch.addmm(bc, flat, wc[:D]).view(T, B, H).unbind(0)
            h, ug, uc, outputs = x.new_zeros(B, H), wg[D:], wc[D:], []
            for g_t, c_t in zip(xg, xc):
                h = step_fn(g_t, c_t, h, ug, uc)
                outputs.append(h)
            return torch.stack(outputs)

        return run

    return _columns(naive, split, step)


def _peephole_steps() -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    w, b, peep = _params((D + H, 4 * H), (4 * H,), (3, H))

    def cell(
        z: torch.Tensor, c: torch.Tensor, p: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        i, j, f, o = z.chunk(4, 1)
        c = torch.sigmoid(f + 1.0 + p[0] * c) * c + torch.sigmoid(i + p[1] * c) * torch.tanh(j)
        return torch.sigmoid(o + p[2] * c) * torch.tanh(c), c

    def naive(x: torch.Tensor) -> torch.Tensor:
        h = c = x.new_zeros(B, H)
        outputs = []
        for x_t in x.unbind(0):
            h, c = cell(torch.cat([x_t, h], 1) @ w + b, c, peep)
            outputs.append(h)
        return torch.stack(outputs)

    def step(x_t: torch.Tensor, h: torch.Tensor, c: torch.Tensor, u: torch.Tensor, p: torch.Tensor):
        return cell(torch.addmm(x_t, h, u), c, p)

    def split(step_fn: Callable) -> Callable[[torch.Tensor], torch.Tensor]:
        def run(x: torch.Tensor) -> torch.Tensor:
            xs = torch.addmm(b, x.reshape(T * B, D), w[:D]).view(T, B, 4 * H).unbind(0)
            h = c = x.new_zeros(B, H)
            u, outputs = w[D:], []
            for x_t in xs:
                h, c = step_fn(x_t, h, c, u, peep)
                outputs.append(h)
            return torch.stack(outputs)

        return run

    return _columns(naive, split, step)


def _floor(gates: list[int]) -> Callable[[torch.Tensor], None]:
    """The products alone: per step and recurrent weight ``[H, g H]``, ``h @ W`` forward and ``d @ W^T``
    backward, and the weight gradient of all steps as one ``[H, T B] @ [T B, g H]``."""
    ws = [torch.randn(H, g * H) for g in gates]
    hs = torch.randn(T * B, H)
    ds = [torch.randn(T * B, g * H) for g in gates]

    def run(_: torch.Tensor) -> None:
        with torch.no_grad():
            for t in range(T):
                rows = slice(t * B, (t + 1) * B)
                for w, d in zip(ws, ds):
                    hs[rows] @ w
                    d[rows] @ w.t()
            for d in ds:
                hs.t() @ d

    return run


def _rnnkit(cell: rk.RNNCell) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: rk.dynamic_rnn(cell, x, time_major=True, fused=False)[0]


def _train_once(fn: Callable[[torch.Tensor], object], x: torch.Tensor) -> float:
    start = time.process_time()
    out = fn(x)  # the outputs [T, B, H] (None for the floor)
    if isinstance(out, torch.Tensor):
        out[-1].sum().backward()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--compile", action="store_true", help="add the torch.compile column")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(T, B, D)
    cases = {
        "gru": (_gru_steps(), rk.GRUCell(H, input_size=D), [2, 1]),
        "peephole": (_peephole_steps(), rk.LSTMCell(H, use_peepholes=True, input_size=D), [4]),
    }
    for name, (steps, cell, gates) in cases.items():
        columns: dict[str, Callable] = {"naive": steps["naive"], "rnnkit": _rnnkit(cell)}
        columns["split"] = steps["split"]
        if args.compile:
            columns["compiled"] = steps["compiled"]()
        columns["matmul floor"] = _floor(gates)
        for fn in columns.values():  # warm-up (and compilation)
            _train_once(fn, x)
        times: dict[str, list[float]] = {k: [] for k in columns}
        for _ in range(args.rounds):
            for key, fn in columns.items():
                times[key].append(_train_once(fn, x))
        naive = statistics.median(times["naive"])
        print(f"{name}: ms per training pass (median of {args.rounds}), and naive / column")
        for key, ts in times.items():
            med = statistics.median(ts)
            print(f"  {key:13s} {med * 1e3:7.2f} ms   {naive / med:5.2f}x")


if __name__ == "__main__":
    main()
