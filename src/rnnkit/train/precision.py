"""Training precision: ``--precision {32,bf16,16-mixed}`` through ``torch.autocast`` (and a grad scaler for fp16).

* ``32``: everything in float32 (the default).
* ``bf16``: the forward pass runs under ``torch.autocast(device, torch.bfloat16)`` on CPU or CUDA: matmuls in
  bfloat16, parameters, optimizer state and the RNN state carried from step to step in float32
  (``rnnkit.cells.base.keep_state_dtype``). bfloat16 has float32's exponent range, so no loss scaling is needed.
* ``16-mixed``: autocast to float16 with ``torch.amp.GradScaler`` (float16's small range makes small gradients
  underflow without a scaled loss). CUDA only: there is no fast float16 matmul on CPUs, so it is refused there.

The loop uses it as::

    prec = Precision("bf16", device)
    with prec.autocast():
        loss = model_loss(...)
    prec.backward(loss)
    prec.unscale_(optimizer)        # before gradient clipping
    prec.step(optimizer)            # optimizer.step(), or the scaler's step + update
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

__all__ = ["PRECISIONS", "Precision"]

#: Accepted names -> canonical name (Lightning's spellings are accepted too).
PRECISIONS = {
    "32": "32",
    "32-true": "32",
    "fp32": "32",
    "bf16": "bf16",
    "bf16-mixed": "bf16",
    "16-mixed": "16-mixed",
    "16": "16-mixed",
    "fp16": "16-mixed",
}


class Precision:
    """What a training step needs to run at a given precision on ``device``.

    Args:
        name: ``"32"``, ``"bf16"`` or ``"16-mixed"`` (aliases: ``32-true``, ``bf16-mixed``, ``16``, ``fp16``).
        device: the device the model trains on.

    Raises:
        ValueError: an unknown name, or ``16-mixed`` on a device other than CUDA.
    """

    def __init__(self, name: str | int, device: torch.device | str) -> None:
        canonical = PRECISIONS.get(str(name))
        if canonical is None:
            raise ValueError(f"Precision: expected one of 32, bf16, 16-mixed, got {name!r}")
        self.device = torch.device(device)
        if canonical == "16-mixed" and self.device.type != "cuda":
            raise ValueError(
                f"Precision: 16-mixed (float16 with a gradient scaler) needs a CUDA device, got device "
                f"{self.device.type!r}; on a CPU use --precision bf16"
            )
        self.name = canonical
        self.dtype = {"32": None, "bf16": torch.bfloat16, "16-mixed": torch.float16}[canonical]
        self.scaler = torch.amp.GradScaler("cuda") if canonical == "16-mixed" else None

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context for the forward pass and loss (a no-op at ``32``)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        """Bring gradients back to their true scale (call before clipping them)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """``optimizer.step()``; with a scaler, skip the step on inf/NaN gradients and adapt the scale."""
        if self.scaler is None:
            optimizer.step()
        else:
            self.scaler.step(optimizer)
            self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        """The scaler's state (for checkpoints; empty without a scaler)."""
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)

    def __repr__(self) -> str:
        return f"Precision({self.name!r}, device={str(self.device)!r})"
