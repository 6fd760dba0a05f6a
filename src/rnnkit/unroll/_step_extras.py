"""Per-row resets and every step's state, as wrappers of the step function the loop runs.

Both features work by changing what one step does, so every loop that runs steps (``run_steps``, its
checkpointed form for ``swap_memory``) gets them unchanged, ``sequence_length`` rule included:

* ``resetting_step``: the step's input is ``(x_t, reset_t)``; rows where ``reset_t [B, 1]`` is True start the
  step from the unroll's initial state instead of the carried one. A row past its length is not stepped, so the
  loop keeps its carried state there (a reset inside the padding changes nothing, as no step "runs").
* ``recording_step``: the step's output becomes ``(output, new_state)``, so the loop's output rule (zeros past
  each row's length) applies to the states too; ``split_recorded`` separates the two after stacking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .. import nest
from .._checks import describe
from .._sequence import where_rows

__all__ = ["check_reset", "recording_step", "resetting_step"]

Step = Callable[[Any, Any], tuple[Any, Any]]


def check_reset(
    where: str, reset: Any, batch: int, time: int, time_major: bool, device: torch.device
) -> torch.Tensor:
    """``reset`` as a bool tensor ``[B, T]`` (``[T, B]`` when time-major) on ``device``."""
    layout, shape = ("[T, B]", (time, batch)) if time_major else ("[B, T]", (batch, time))
    if isinstance(reset, np.ndarray):
        reset = torch.from_numpy(reset)
    if not isinstance(reset, torch.Tensor) or reset.dtype != torch.bool:
        raise TypeError(
            f"{where}: expected reset to be a bool tensor {layout}, got {describe(reset)}"
        )
    if tuple(reset.shape) != shape:
        raise ValueError(
            f"{where}: expected reset of shape {layout} = {list(shape)}, got {list(reset.shape)}"
        )
    return reset.to(device)


def resetting_step(step: Step, initial_state: Any) -> Step:
    """``step`` whose input is ``(x_t, reset_t [B, 1])``: rows with ``reset_t`` start from ``initial_state``."""

    def run(inputs: Any, state: Any) -> tuple[Any, Any]:
        x, reset = inputs
        state = nest.map_structure(lambda init, s: where_rows(reset, init, s), initial_state, state)
        return step(x, state)

    return run


def recording_step(step: Step) -> Step:
    """``step`` whose output is ``(output, new_state)``: the loop then collects every step's state."""

    def run(inputs: Any, state: Any) -> tuple[Any, Any]:
        output, new_state = step(inputs, state)
        return (output, new_state), new_state

    return run
