"""Input / output dropout between fused kernel calls (``DropoutWrapper`` in train mode on a fusable stack).

TF's ``DropoutWrapper`` without state dropout and without ``variational_recurrent`` draws, at every step, an
independent mask for every element of the cell's input and output; the state passed on is never dropped. So a
stack of such wrappers equals: each layer's kernel over the whole sequence, with elementwise dropout of the
``[T, B, size]`` sequences between the calls (``SequenceDropout`` in ``cells/fused_spec.py``)::

    x_l = dropout(y_{l-1}, keep_out_{l-1}) then dropout(., keep_in_l);   dropout(v, k) = v / k * floor(k + u)

The masks are drawn before the first kernel call, one ``[T, B, size]`` block per dropout, in the value's dtype,
with the same formula as the wrapper's step (so a kept element is ``v / keep`` to the last bit).

NOTE [fused dropout masks]: a wrapper with ``seed=`` draws from its own generator; the step loop draws
``[B, size]`` per step, input before output. On CPU, ``torch.rand`` fills a tensor serially from the generator,
so one ``[T, B*size_in + B*size_out]`` draw split per step gives *the step loop's masks exactly*: a seeded
stack gets the same masks fused or not. Only the steps the step loop runs are drawn (``sequence_length``: up to
the longest row, at least one; later steps are masked away anyway). Without a seed the masks come from torch's
global generator, in another order than the step loop's (same law, different numbers); on CUDA the seeded
masks are reproducible but not the step loop's (Philox offsets advance per call).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..cells.fused_spec import FusedLayer, SequenceDropout

__all__ = ["apply", "dropouts", "draw_masks"]


def dropouts(layers: Sequence[FusedLayer]) -> list[tuple[SequenceDropout, int]]:
    """Every dropout of the stack in the order the step loop draws them at one step, with its step depth."""
    result: list[tuple[SequenceDropout, int]] = []
    for i, layer in enumerate(layers):
        size_in = layers[i - 1].out if i else -1  # -1: the inputs' depth, known at run time
        result += [(d, size_in) for d in layer.input_dropout]
        result += [(d, layer.out) for d in layer.output_dropout]
    return result


def apply(value: torch.Tensor, keep: float, mask: torch.Tensor) -> torch.Tensor:
    """The wrapper's formula, ``value / keep * mask`` with ``mask = floor(keep + u)``."""
    return value / keep * mask


def draw_masks(
    layers: Sequence[FusedLayer],
    inputs: torch.Tensor,
    sequence_length: torch.Tensor | None,
    time_major: bool,
) -> list[torch.Tensor]:
    """One 0/1 mask per dropout of ``layers`` (order of ``dropouts``), shaped like ``inputs`` with the dropped
    sequence's depth (``[B, T, size]``, ``[T, B, size]`` time-major); see NOTE [fused dropout masks]."""
    drops = dropouts(layers)
    time, batch = inputs.shape[:2] if time_major else (inputs.shape[1], inputs.shape[0])
    sizes = [inputs.shape[-1] if size < 0 else size for _, size in drops]
    for (drop, _), size in zip(drops, sizes):
        if drop.check is not None:
            drop.check(inputs.new_empty(0, size))
    steps = time
    if sequence_length is not None and batch:
        steps = min(time, max(int(sequence_length.max()), 1))  # as many steps as the step loop runs
    noise: list[torch.Tensor | None] = [None] * len(drops)
    by_generator: dict[int, tuple[torch.Generator | None, list[int]]] = {}
    for i, (drop, _) in enumerate(drops):
        gen = drop.generator(inputs.device)
        by_generator.setdefault(id(gen), (gen, []))[1].append(i)
    for gen, members in by_generator.values():
        if gen is None:  # the global generator: each dropout on its own
            for i in members:
                noise[i] = torch.rand(
                    steps, batch, sizes[i], dtype=inputs.dtype, device=inputs.device
                )
            continue
        # One wrapper's dropouts (input, output) share its generator: draw them as the loop does, step by step.
        flat = torch.rand(
            steps,
            batch * sum(sizes[i] for i in members),
            generator=gen,
            dtype=inputs.dtype,
            device=inputs.device,
        )
        for i, part in zip(members, flat.split([batch * sizes[i] for i in members], dim=1)):
            noise[i] = part.reshape(steps, batch, sizes[i])
    masks = []
    for (drop, _), u in zip(drops, noise):
        assert u is not None
        mask = torch.floor(drop.keep + u)
        if steps < time:  # steps past every row's length: their values are masked to zero anyway
            mask = torch.cat([mask, mask.new_ones(time - steps, batch, mask.shape[-1])])
        masks.append(mask if time_major else mask.transpose(0, 1))
    return masks
