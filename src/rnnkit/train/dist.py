"""The process-group seam of the loop: one process today, DDP later.

The loop asks this object who writes files (``is_main``), which share of each batch is ours
(``rank``/``world_size``, used by :class:`rnnkit.train.sampler.EpochSampler`) and how to average a
metric over processes (``mean``). A DDP implementation replaces :class:`SingleProcess` with one
that calls ``torch.distributed.all_reduce``.
"""

from __future__ import annotations

import torch


class SingleProcess:
    rank = 0
    world_size = 1
    is_main = True

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Average of ``value`` over processes (here: itself)."""
        return value

    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to call for training steps (DDP would wrap it)."""
        return model
