"""``sequence_loss`` (TF 1.15's ``tf.contrib.seq2seq.sequence_loss``): weighted cross-entropy of ``[B, T, V]``
logits against ``[B, T]`` targets.

    ce[b, t] = weights[b, t] * crossent(logits[b, t], targets[b, t])
    average_across_timesteps and average_across_batch (default):  sum(ce) / (sum(weights) + 1e-12)
    sum_over_timesteps and sum_over_batch:                          sum(ce) / (count_nonzero(weights) + 1e-12)
    one average flag: sum over that axis / (sum of weights over it + 1e-12)     -> [T] or [B]
    one sum flag:     sum over that axis / (count_nonzero of weights over it + 1e-12)
    no flag:          ce itself [B, T]

(TF's "sum" flags divide by the number of non-zero weights: they are its weighted mean over real tokens.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .._checks import describe

__all__ = ["sequence_loss"]

_EPS = 1e-12  # TF's guard against all-zero weights


def _tensor(where: str, name: str, x: Any, rank: int, layout: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: expected {name} to be a {layout} tensor, got {describe(x)}")
    if x.dim() != rank:
        raise ValueError(
            f"{where}: expected {name} of rank {rank} {layout}, got shape {tuple(x.shape)}"
        )
    return x


def check_sequence_loss_inputs(
    where: str, logits: Any, targets: Any, weights: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    logits = _tensor(where, "logits", logits, 3, "[B, T, V]")
    targets = _tensor(where, "targets", targets, 2, "[B, T]")
    weights = _tensor(where, "weights", weights, 2, "[B, T]")
    if not logits.is_floating_point():
        raise TypeError(f"{where}: expected floating-point logits, got {logits.dtype}")
    if targets.is_floating_point() or targets.dtype == torch.bool:
        raise TypeError(f"{where}: expected integer targets, got {targets.dtype}")
    if targets.shape != logits.shape[:2] or weights.shape != logits.shape[:2]:
        raise ValueError(
            f"{where}: expected targets and weights of shape [B, T] = {tuple(logits.shape[:2])} (the logits'), "
            f"got {tuple(targets.shape)} and {tuple(weights.shape)}"
        )
    return logits, targets, weights


def cross_entropy(where: str, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """TF's ``sparse_softmax_cross_entropy_with_logits`` on ``[N, V]`` logits and ``[N]`` ids (checked)."""
    vocab = logits.shape[-1]
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= vocab):
        raise ValueError(
            f"{where}: expected targets in [0, {vocab}) (the logits' classes), got values in "
            f"[{int(targets.min())}, {int(targets.max())}]"
        )
    return torch.nn.functional.cross_entropy(logits, targets.long(), reduction="none")


def sequence_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    average_across_timesteps: bool = True,
    average_across_batch: bool = True,
    sum_over_timesteps: bool = False,
    sum_over_batch: bool = False,
    softmax_loss_function: Callable[..., torch.Tensor] | None = None,
    name: str | None = None,
) -> torch.Tensor:
    """Weighted sequence cross-entropy (see the module docstring for the reductions).

    Args:
        logits: ``[B, T, V]``; targets: ``[B, T]`` ints; weights: ``[B, T]`` floats (0 masks padding).
        softmax_loss_function: optional ``fn(labels=[N] ids, logits=[N, V]) -> [N]`` replacing the softmax
            cross-entropy (TF's keyword call).
    Returns: a scalar, ``[T]``, ``[B]`` or ``[B, T]`` tensor.
    """
    where = "sequence_loss"
    logits, targets, weights = check_sequence_loss_inputs(where, logits, targets, weights)
    if average_across_timesteps and sum_over_timesteps:
        raise ValueError(
            f"{where}: expected at most one of average_across_timesteps and sum_over_timesteps, got both True"
        )
    if average_across_batch and sum_over_batch:
        raise ValueError(
            f"{where}: expected at most one of average_across_batch and sum_over_batch, got both True"
        )
    batch, time, vocab = logits.shape
    flat_logits = logits.reshape(-1, vocab)
    flat_targets = targets.reshape(-1)
    if softmax_loss_function is None:
        crossent = cross_entropy(where, flat_logits, flat_targets)
    else:
        crossent = softmax_loss_function(labels=flat_targets, logits=flat_logits)
    crossent = crossent * weights.reshape(-1).to(crossent.dtype)
    weights = weights.to(crossent.dtype)
    if average_across_timesteps and average_across_batch:
        return crossent.sum() / (weights.sum() + _EPS)
    if sum_over_timesteps and sum_over_batch:
        return crossent.sum() / ((weights != 0).sum().to(crossent.dtype) + _EPS)
    crossent = crossent.reshape(batch, time)
    if average_across_timesteps or average_across_batch:
        axis = 0 if average_across_batch else 1
        return crossent.sum(axis) / (weights.sum(axis) + _EPS)
    if sum_over_timesteps or sum_over_batch:
        axis = 0 if sum_over_batch else 1
        return crossent.sum(axis) / ((weights != 0).sum(axis).to(crossent.dtype) + _EPS)
    return crossent
