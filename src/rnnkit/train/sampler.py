"""Resumable mini-batch sampling: the indices of step k are a pure function of (seed, k, rank)."""

from __future__ import annotations

import torch


class EpochSampler:
    """Shuffle ``n`` examples once per epoch and cut them into batches (the last partial one dropped).

    With ``world_size`` processes, each global batch of ``batch_size * world_size`` examples is split
    into contiguous per-rank slices, so the union over ranks is what one process would see with the
    larger batch. Because a batch depends only on (seed, step), resuming needs no sampler state.
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        if batch_size * world_size > n:
            raise ValueError(
                f"EpochSampler: expected batch_size*world_size <= {n} examples, "
                f"got {batch_size}*{world_size}"
            )
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.steps_per_epoch = n // (batch_size * world_size)
        self._epoch = -1
        self._perm = torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm, self._epoch = torch.randperm(self.n, generator=g), epoch
        start = (i * self.world_size + self.rank) * self.batch_size
        return self._perm[start : start + self.batch_size]
