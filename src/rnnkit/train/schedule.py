"""Learning-rate schedules as pure functions of the step (nothing to checkpoint)."""

from __future__ import annotations

import math

SCHEDULES = ("constant", "onecycle", "cosine")


def lr_at(
    step: int, base_lr: float, total: int, schedule: str = "constant", warmup: float = 0.0
) -> float:
    """Learning rate for step ``step`` (0-based) of ``total``.

    ``constant``: ``base_lr``. ``cosine``: linear warm-up over ``warmup·total`` steps then cosine to 0.
    ``onecycle``: linear warm-up from ``base_lr/25`` to ``base_lr``, then cosine down to ``base_lr/1e4``.
    """
    if schedule == "constant":
        return base_lr
    if schedule not in SCHEDULES:
        raise ValueError(f"lr_at: expected schedule in {SCHEDULES}, got {schedule!r}")
    w = round(warmup * total)
    if schedule == "onecycle":
        lo, end = base_lr / 25, base_lr / 1e4
        if step < w:
            return lo + (base_lr - lo) * step / max(1, w)
        p = (step - w) / max(1, total - w)
        return end + (base_lr - end) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))
    if step < w:
        return base_lr * (step + 1) / w
    p = (step - w) / max(1, total - w)
    return base_lr * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))
