"""The process-group seam of the training loop: what ``fit`` asks of "the processes of this run".

:class:`ProcessGroup` declares it: who writes files (``is_main``), which share of each batch is ours (``rank`` /
``world_size``, used by :class:`rnnkit.train.sampler.EpochSampler`), how to average a metric over processes
(``mean``) and which module a training step calls (``wrap_model``). :class:`SingleProcess` is the one-process
answer; :class:`rnnkit.train.distributed.Distributed` is the ``torch.distributed`` (DDP, ``torchrun``) one.
"""

from __future__ import annotations

from typing import Protocol

import torch


class ProcessGroup(Protocol):
    rank: int
    world_size: int

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run directory (rank 0)."""

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Average of ``value`` over processes (every process gets it)."""

    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to call for training steps (DDP wraps it so that gradients are averaged)."""


class SingleProcess:
    """The whole run in this process: rank 0 of 1, metrics are their own mean, the model is used as is."""

    rank = 0
    world_size = 1
    is_main = True

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Average of ``value`` over processes (here: itself)."""
        return value

    def wrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to call for training steps (the model itself)."""
        return model
