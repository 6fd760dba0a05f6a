"""TF 1.15's ``Decoder`` interface and ``BasicDecoder`` (a cell, a helper and an optional output layer)."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from .. import nest
from .._checks import describe
from ..cells.base import RNNCell
from .helpers import Helper
from .layers import NamedVariables, module_tf_variables

__all__ = ["Decoder", "BasicDecoder", "BasicDecoderOutput"]


class BasicDecoderOutput(NamedTuple):
    """One step of a ``BasicDecoder``: ``rnn_output [B, V]`` (after the output layer) and ``sample_id [B]``."""

    rnn_output: Any
    sample_id: Any


def _required(doc: str) -> Any:
    """A read-only property of the ``Decoder`` interface that every decoder defines (TF's abstract properties):
    reading it on a decoder that does not raises ``NotImplementedError``. It is typed ``Any`` here; a decoder's
    own property declares the precise type."""

    def undefined(self: Decoder) -> Any:
        raise NotImplementedError

    return property(undefined, doc=doc)


class Decoder(nn.Module):
    """TF's ``Decoder`` interface, driven by ``dynamic_decode``.

    ``initialize() -> (finished [B], inputs, state)``; ``step(time, inputs, state) -> (outputs, next_state,
    next_inputs, finished)``; optional ``finalize(outputs, final_state, sequence_lengths)``.
    ``tracks_own_finished``: True when the decoder reorders rows itself (beam search), so ``dynamic_decode``
    must neither OR the finished flags nor copy finished rows through.
    """

    batch_size = _required("``B``: how many sequences are decoded side by side.")
    output_size = _required("One step's output size without the batch, nested like the outputs.")
    output_dtype = _required("One step's output dtype, nested like the outputs.")

    @property
    def tracks_own_finished(self) -> bool:
        return False

    def initialize(self, name: Any = None) -> tuple[torch.Tensor, Any, Any]:
        raise NotImplementedError

    def step(
        self, time: int, inputs: Any, state: Any, name: Any = None
    ) -> tuple[Any, Any, Any, Any]:
        raise NotImplementedError

    def finalize(
        self, outputs: Any, final_state: Any, sequence_lengths: torch.Tensor
    ) -> tuple[Any, Any]:
        raise NotImplementedError

    def named_tf_variables(self, prefix: str = "") -> NamedVariables:
        """The cell's then the output layer's variables under ``prefix`` (``decoder/`` in ``dynamic_decode``)."""
        yield from module_tf_variables(self.cell, prefix)
        layer = getattr(self, "output_layer", None)
        if layer is not None:
            yield from module_tf_variables(layer, prefix)


def check_output_layer(where: str, output_layer: Any) -> Any:
    if output_layer is not None and not callable(output_layer):
        raise TypeError(
            f"{where}: expected output_layer to be a callable layer (Dense, nn.Linear...), got "
            f"{describe(output_layer)}"
        )
    return output_layer


def layer_output_size(layer: Any, size: Any) -> Any:
    """The output layer's size, read from ``units`` / ``out_features`` (else the cell's ``size``)."""
    if layer is None:
        return size
    for attr in ("units", "out_features"):
        value = getattr(layer, attr, None)
        if isinstance(value, int):
            return value
    return size


class BasicDecoder(Decoder):
    r"""One cell step per decoding step, the helper choosing inputs and finish::

        cell_out, state = cell(inputs, state); logits = output_layer(cell_out)
        ids = helper.sample(t, logits, state); finished, inputs, state = helper.next_inputs(...)

    Args: ``cell`` (an rnnkit cell, e.g. an ``AttentionWrapper``), ``helper``, ``initial_state`` (nested like
    ``cell.state_size`` with batch ``helper.batch_size``), ``output_layer`` (optional: ``rk.seq2seq.Dense``
    keeps TF's ``[in, out]`` kernel and TF name; any torch module such as ``nn.Linear`` works too, its weight
    being the transpose of TF's kernel).
    Outputs: ``BasicDecoderOutput(rnn_output, sample_id)``.
    """

    def __init__(
        self, cell: RNNCell, helper: Helper, initial_state: Any, output_layer: Any = None
    ) -> None:
        super().__init__()
        where = "BasicDecoder"
        if not isinstance(cell, RNNCell):
            raise TypeError(f"{where}: expected cell to be an rnnkit RNNCell, got {describe(cell)}")
        if not isinstance(helper, Helper):
            raise TypeError(f"{where}: expected helper to be a Helper, got {describe(helper)}")
        self.cell = cell
        self.helper = helper
        self.output_layer = check_output_layer(where, output_layer)
        flat = nest.flatten(initial_state)
        if not flat or not all(
            isinstance(x, torch.Tensor) or not hasattr(x, "shape") for x in flat
        ):
            raise TypeError(
                f"{where}: expected initial_state tensors, got {describe(initial_state)}"
            )
        nest.assert_same_structure(cell.state_size, initial_state, where=f"{where} (initial_state)")
        rows = [x.shape[0] for x in flat if isinstance(x, torch.Tensor) and x.dim() >= 1]
        try:
            batch: int | None = helper.batch_size
        except ValueError:  # a CustomHelper knows it only once initialized
            batch = None
        if batch is not None and rows and any(r != batch for r in rows):
            raise ValueError(
                f"{where}: expected initial_state with batch size {helper.batch_size} (the helper's), got "
                f"{sorted(set(rows))}"
            )
        self.initial_state = initial_state

    @property
    def batch_size(self) -> int:
        return self.helper.batch_size

    @property
    def output_size(self) -> BasicDecoderOutput:
        return BasicDecoderOutput(
            rnn_output=layer_output_size(self.output_layer, self.cell.output_size),
            sample_id=self.helper.sample_ids_shape,
        )

    def initialize(self, name: Any = None) -> tuple[torch.Tensor, Any, Any]:
        finished, first_inputs = self.helper.initialize()
        return finished, first_inputs, self.initial_state

    def step(
        self, time: int, inputs: Any, state: Any, name: Any = None
    ) -> tuple[Any, Any, Any, Any]:
        cell_outputs, cell_state = self.cell(inputs, state)
        if self.output_layer is not None:
            cell_outputs = self.output_layer(cell_outputs)
        sample_ids = self.helper.sample(time, cell_outputs, cell_state)
        finished, next_inputs, next_state = self.helper.next_inputs(
            time, cell_outputs, cell_state, sample_ids
        )
        return BasicDecoderOutput(cell_outputs, sample_ids), next_state, next_inputs, finished
