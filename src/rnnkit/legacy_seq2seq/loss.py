"""TF 1.15's ``tf.contrib.legacy_seq2seq.sequence_loss_by_example`` and ``sequence_loss``: lists over time.

log_perp[b] = sum_t weights[t][b] * crossent(logits[t][b], targets[t][b])
average_across_timesteps:  log_perp[b] /= (sum_t weights[t][b] + 1e-12)
sequence_loss = sum_b log_perp[b]  (/ B with average_across_batch)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._checks import describe
from ..seq2seq.loss import cross_entropy

__all__ = ["sequence_loss_by_example", "sequence_loss"]


def _check_lists(where: str, logits: Any, targets: Any, weights: Any) -> None:
    for name, value in (("logits", logits), ("targets", targets), ("weights", weights)):
        if not isinstance(value, (list, tuple)):
            raise TypeError(
                f"{where}: expected {name} to be a list over time steps (TF1's legacy API), got {describe(value)}"
            )
    if not (len(logits) == len(targets) == len(weights)):
        raise ValueError(
            f"{where}: expected logits, targets and weights lists of one length, got "
            f"{len(logits)}, {len(targets)}, {len(weights)}"
        )
    if not logits:
        raise ValueError(f"{where}: expected at least one time step, got empty lists")


def _crossent(where: str, logit: Any, target: Any) -> torch.Tensor:
    if not isinstance(logit, torch.Tensor) or logit.dim() != 2:
        raise ValueError(
            f"{where}: expected every logits entry to be [B, V], got {describe(logit)}"
        )
    target = torch.as_tensor(target, device=logit.device).reshape(-1)
    if target.is_floating_point() or target.shape[0] != logit.shape[0]:
        raise ValueError(
            f"{where}: expected every targets entry to hold B={logit.shape[0]} integer ids, got {describe(target)}"
        )
    return cross_entropy(where, logit, target)


def sequence_loss_by_example(
    logits: Sequence[torch.Tensor],
    targets: Sequence[Any],
    weights: Sequence[Any],
    average_across_timesteps: bool = True,
    softmax_loss_function: Callable[..., torch.Tensor] | None = None,
    name: str | None = None,
) -> torch.Tensor:
    """The weighted log-perplexity of each example, ``[B]`` (see the module docstring).

    Args:
        logits: a list of T ``[B, V]`` tensors; targets: T ``[B]`` int tensors; weights: T ``[B]`` float tensors.
        softmax_loss_function: optional ``fn(labels=[B] ids, logits=[B, V]) -> [B]`` (TF's keyword call).
    """
    where = "sequence_loss_by_example"
    _check_lists(where, logits, targets, weights)
    terms = []
    for logit, target, weight in zip(logits, targets, weights):
        if softmax_loss_function is None:
            crossent = _crossent(where, logit, target)
        else:
            crossent = softmax_loss_function(labels=target, logits=logit)
        terms.append(
            crossent * torch.as_tensor(weight, dtype=crossent.dtype, device=crossent.device)
        )
    log_perps = torch.stack(terms).sum(0)  # TF's add_n
    if average_across_timesteps:
        total = torch.stack(
            [torch.as_tensor(w, dtype=log_perps.dtype, device=log_perps.device) for w in weights]
        ).sum(0)
        log_perps = log_perps / (total + 1e-12)  # TF's guard for all-zero weights
    return log_perps


def sequence_loss(
    logits: Sequence[torch.Tensor],
    targets: Sequence[Any],
    weights: Sequence[Any],
    average_across_timesteps: bool = True,
    average_across_batch: bool = True,
    softmax_loss_function: Callable[..., torch.Tensor] | None = None,
    name: str | None = None,
) -> torch.Tensor:
    """The summed ``sequence_loss_by_example``, divided by the batch size with ``average_across_batch``."""
    cost = sequence_loss_by_example(
        logits, targets, weights, average_across_timesteps, softmax_loss_function
    ).sum()
    if average_across_batch:
        return cost / torch.as_tensor(targets[0]).reshape(-1).shape[0]
    return cost
