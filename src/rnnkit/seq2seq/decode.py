"""``dynamic_decode`` (TF 1.15's ``tf.contrib.seq2seq.dynamic_decode``): run a ``Decoder`` until every row is
finished or ``maximum_iterations`` steps ran.

Loop (TF's while-loop, as plain Python)::

    finished, inputs, state = decoder.initialize();  lengths = 0
    while not all(finished) and t < maximum_iterations:
        out, new_state, inputs, step_finished = decoder.step(t, inputs, state)
        lengths = where(finished, lengths, t + 1)           # a row's length counts its finishing step
        if impute_finished: out = where(finished, 0, out); new_state = where(finished, state, new_state)
        finished = finished | step_finished                 # (beam search tracks its own: step_finished)
        outputs.append(out); state = new_state; t += 1
    outputs, state = decoder.finalize(stack(outputs), state, lengths)   # when the decoder has finalize

Returns ``(final_outputs, final_state, final_sequence_lengths)``; outputs ``[B, T, ...]`` (``[T, B, ...]``
with ``output_time_major``), lengths ``[B]`` int32 (beam search: ``[B, beam]`` from its state). Gradients flow
when enabled; under ``torch.no_grad``/``torch.inference_mode`` nothing is recorded.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import nest
from .._checks import describe
from .basic_decoder import Decoder

__all__ = ["dynamic_decode"]


def _check_max_iterations(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        if value.dim() != 0:
            raise ValueError(
                f"dynamic_decode: expected maximum_iterations to be a scalar, got shape {tuple(value.shape)}"
            )
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"dynamic_decode: expected maximum_iterations to be an int >= 0, got {describe(value)}"
        )
    return value


def _zeros_like_step(decoder: Decoder, template: Any) -> Any:
    return nest.map_structure(torch.zeros_like, template)


def _copy_finished(finished: torch.Tensor, new: Any, old: Any) -> Any:
    """``old`` for finished rows, ``new`` otherwise; scalars and non-tensors (histories) pass through."""
    if not isinstance(new, torch.Tensor) or new.dim() == 0:
        return new
    keep_old = finished.reshape(*finished.shape, *([1] * (new.dim() - finished.dim())))
    return torch.where(keep_old, old, new)


def _empty_outputs(decoder: Decoder, batch: int, like: torch.Tensor) -> Any:
    """Zero-step outputs ``[0, B, ...]`` from the decoder's ``output_size`` (``maximum_iterations=0``)."""

    def empty(size: Any) -> torch.Tensor:
        shape = (size,) if isinstance(size, int) else tuple(size)
        return like.new_zeros((0, batch, *shape))

    def is_size(x: Any) -> bool:
        return isinstance(x, int) or (isinstance(x, tuple) and all(isinstance(i, int) for i in x))

    sizes = decoder.output_size
    fields = [empty(s) for s in sizes] if isinstance(sizes, tuple) and not is_size(sizes) else None
    return type(sizes)(*fields) if fields is not None else empty(sizes)


def dynamic_decode(
    decoder: Decoder,
    output_time_major: bool = False,
    impute_finished: bool = False,
    maximum_iterations: Any = None,
    parallel_iterations: int = 32,
    swap_memory: bool = False,
    scope: str | None = None,
) -> tuple[Any, Any, torch.Tensor]:
    """Run ``decoder`` to the end (see the module docstring).

    Args:
        decoder: a ``Decoder`` (``BasicDecoder``, ``BeamSearchDecoder``).
        output_time_major: outputs ``[T, B, ...]`` instead of ``[B, T, ...]``.
        impute_finished: zero the outputs of finished rows and copy their state through (not with beam search,
            which reorders its beams: a ValueError, where TF failed inside the graph).
        maximum_iterations: an int >= 0; None runs until every row is finished.
        parallel_iterations, swap_memory, scope: accepted for TF compatibility (no effect; names come from
            ``rk.tf_variables(decoder, scope="decoder")``).
    """
    if not isinstance(decoder, Decoder):
        raise TypeError(f"dynamic_decode: expected a Decoder, got {describe(decoder)}")
    limit = _check_max_iterations(maximum_iterations)
    finished, inputs, state = decoder.initialize()
    lengths = torch.zeros(finished.shape, dtype=torch.int32, device=finished.device)
    if limit == 0:
        finished = torch.ones_like(finished)
    own = decoder.tracks_own_finished
    if impute_finished and own:
        # TF 1.15 failed inside the graph here (a [B, beam] condition against [B, beam, ...] states).
        raise ValueError(
            f"dynamic_decode: expected impute_finished=False with {type(decoder).__name__} (it reorders its "
            "beams and tracks their finished flags itself), got True"
        )
    outputs: list[Any] = []
    time = 0
    while not bool(finished.all()) and (limit is None or time < limit):
        step_out, new_state, inputs, step_finished = decoder.step(time, inputs, state)
        own_lengths = getattr(new_state, "lengths", None) if own else None
        if own_lengths is not None:
            lengths = own_lengths.to(torch.int32)
        else:
            lengths = torch.where(finished, lengths, torch.full_like(lengths, time + 1))
        if impute_finished:
            step_out = nest.map_structure(
                lambda out, f=finished: _copy_finished(f, out, torch.zeros_like(out)), step_out
            )
            new_state = nest.map_structure(
                lambda new, old, f=finished: _copy_finished(f, new, old), new_state, state
            )
        finished = step_finished if own else (finished | step_finished)
        outputs.append(step_out)
        state = new_state
        time += 1
    if outputs:
        stacked = nest.map_structure(lambda *xs: torch.stack(xs, 0), *outputs)
    else:
        stacked = _empty_outputs(decoder, decoder.batch_size, _any_tensor(state, finished))
    try:
        stacked, state = decoder.finalize(stacked, state, lengths)
    except NotImplementedError:
        pass
    if not output_time_major:
        stacked = nest.map_structure(
            lambda x: x.transpose(0, 1) if isinstance(x, torch.Tensor) and x.dim() >= 2 else x,
            stacked,
        )
    return stacked, state, lengths


def _any_tensor(state: Any, fallback: torch.Tensor) -> torch.Tensor:
    for leaf in nest.flatten(state):
        if isinstance(leaf, torch.Tensor) and leaf.is_floating_point():
            return leaf
    return fallback.float()
