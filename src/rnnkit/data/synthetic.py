"""Synthetic sequences of the seed programs: sin→cos windows (seed 000) and the t·sin(t) series (seed 004).

Everything here is a pure function of its arguments (the batch of step k is the same whether a run
is fresh or resumed), returning NumPy float64 arrays; the tasks convert to tensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def sine_batch(
    step: int, batch_size: int = 50, time_steps: int = 20, offset: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window ``step`` of seed 000's endless sin→cos stream.

    Index grid ``n = offset + step*T + [0, B*T)`` laid out row-major as ``[B, T]``; ``xs = n / (10π)``.
    Row b of window k+1 continues row b of window k, which is why the final state of one window is
    the right initial state of the next (truncated back-propagation through time).

    Returns:
        x ``[B, T, 1]`` = sin(xs), y ``[B, T, 1]`` = cos(xs), xs ``[B, T]``.
    """
    start = offset + step * time_steps
    n = np.arange(start, start + time_steps * batch_size, dtype=np.float64)
    xs = n.reshape(batch_size, time_steps) / (10 * np.pi)
    return np.sin(xs)[..., None], np.cos(xs)[..., None], xs


def series(t: np.ndarray) -> np.ndarray:
    """Seed 004's series ``f(t) = t·sin(t)/3 + 2·sin(5t)``."""
    return t * np.sin(t) / 3 + 2 * np.sin(5 * t)


class SeriesWindows:
    """Windows of ``n_steps + 1`` points of :func:`series`, spaced ``resolution`` apart.

    ``[t_min, t_max]`` is the time line; windows that touch a ``heldout`` interval are never drawn
    for training, and the evaluation windows lie inside those intervals only.
    """

    def __init__(
        self,
        n_steps: int = 20,
        resolution: float = 0.1,
        t_min: float = 0.0,
        t_max: float = 30.0,
        heldout: Sequence[Sequence[float]] = ((6.0, 10.0), (18.0, 22.0)),
    ) -> None:
        self.n_steps = n_steps
        self.resolution = resolution
        self.t_min, self.t_max = t_min, t_max
        self.heldout = [tuple(map(float, h)) for h in heldout]
        self.span = n_steps * resolution  # first to last point of a window
        if self.span > t_max - t_min:
            raise ValueError(
                f"SeriesWindows: expected n_steps*resolution <= t_max-t_min, got {self.span}"
            )

    def _overlaps(self, starts: np.ndarray) -> np.ndarray:
        bad = np.zeros(starts.shape, dtype=bool)
        for lo, hi in self.heldout:
            bad |= (starts < hi) & (starts + self.span > lo)
        return bad

    def train_times(self, batch_size: int, seed: int, step: int) -> np.ndarray:
        """Times ``[B, n_steps+1]`` of a random training batch; a pure function of (seed, step)."""
        rng = np.random.default_rng([seed, step])
        out = np.empty(0)
        while out.size < batch_size:
            s = rng.uniform(self.t_min, self.t_max - self.span, size=2 * batch_size)
            out = np.concatenate([out, s[~self._overlaps(s)]])
        return self.times(out[:batch_size])

    def test_times(self) -> np.ndarray:
        """Times ``[N, n_steps+1]`` of every evaluation window (start every ``resolution``)."""
        starts = []
        for lo, hi in self.heldout:
            n = math.floor((hi - lo - self.span) / self.resolution + 1e-9) + 1
            starts += [lo + i * self.resolution for i in range(max(n, 0))]
        if not starts:
            raise ValueError("SeriesWindows: the held-out intervals are shorter than one window")
        return self.times(np.asarray(starts))

    def times(self, starts: np.ndarray) -> np.ndarray:
        return starts[:, None] + self.resolution * np.arange(self.n_steps + 1)[None, :]


def next_step_pairs(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-step-ahead pairs of a window: inputs ``f(t[:, :-1])``, targets ``f(t[:, 1:])``, ``[N, T, 1]``."""
    f = series(t)
    return f[:, :-1, None], f[:, 1:, None]


def seed004_window(shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seed 004's own setup: inputs are the times ``linspace(12, 15, 101)[shift:shift+100]``, targets f(t).

    ``shift=0`` is the one window it trains on, ``shift=1`` its shifted-window check. Shapes ``[1, 100, 1]``.
    """
    t = np.linspace(12, 15, 101)[shift : shift + 100][None, :, None]
    return t, series(t)
