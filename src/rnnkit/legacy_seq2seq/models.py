"""TF 1.15's ``embedding_rnn_seq2seq`` and ``embedding_attention_seq2seq`` (``tf.contrib.legacy_seq2seq``).

The encoder is a copy of ``cell`` behind an embedding (TF's ``EmbeddingWrapper``: ``embedding [Ne, E]``,
uniform in ``[-sqrt(3), sqrt(3)]``), run by ``static_rnn`` over the list of ``[B]`` id tensors. The decoder is
``cell`` (wrapped in ``OutputProjectionWrapper(cell, Nd)`` unless ``output_projection=(W, b)`` is given) fed
``embedding [Nd, E]`` (glorot-uniform) lookups of the decoder ids, or with ``feed_previous`` its own arg-max
prediction (projected by ``output_projection`` when given).

TF names (``embedding_rnn_seq2seq/`` or ``embedding_attention_seq2seq/`` by default):
``rnn/embedding_wrapper/embedding``, the encoder cell's under ``rnn/embedding_wrapper/``, then
``embedding_rnn_decoder/embedding`` and the decoder cell's under ``embedding_rnn_decoder/rnn_decoder/``
(attention: ``embedding_attention_decoder/embedding`` and ``attention_decoder``'s variables under
``embedding_attention_decoder/attention_decoder/``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._checks import check_positive_int, describe
from ..cells import OutputProjectionWrapper
from ..cells.base import RNNCell, glorot_uniform_
from ..seq2seq.layers import NamedVariables, module_tf_variables
from ..unroll import static_rnn
from .decoders import AttentionDecoder, reuse_model, rnn_decoder

__all__ = [
    "EmbeddingRNNSeq2Seq",
    "EmbeddingAttentionSeq2Seq",
    "embedding_rnn_seq2seq",
    "embedding_attention_seq2seq",
    "extract_argmax_and_embed",
]


def extract_argmax_and_embed(
    embedding: torch.Tensor, output_projection: Any = None, update_embedding: bool = True
) -> Any:
    """TF's ``_extract_argmax_and_embed``: a loop_function feeding back ``embedding[argmax(prev @ W + b)]``."""

    def loop_function(prev: torch.Tensor, _: int) -> torch.Tensor:
        if output_projection is not None:
            prev = torch.addmm(output_projection[1], prev, output_projection[0])
        emb = nn.functional.embedding(prev.argmax(1), embedding)
        return emb if update_embedding else emb.detach()

    return loop_function


def _ids(where: str, name: str, ids: Any, vocab: int) -> list[torch.Tensor]:
    if not isinstance(ids, (list, tuple)) or not ids:
        raise TypeError(
            f"{where}: expected {name} to be a non-empty list over time of [B] ids, got {describe(ids)}"
        )
    out = []
    for x in ids:
        x = torch.as_tensor(x)
        if x.dim() != 1 or x.is_floating_point():
            raise ValueError(
                f"{where}: expected every {name} entry to be a [B] int tensor, got {describe(x)}"
            )
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= vocab):
            raise ValueError(
                f"{where}: expected {name} in [0, {vocab}), got values in [{int(x.min())}, {int(x.max())}]"
            )
        out.append(x.long())
    return out


class _Seq2SeqBase(nn.Module):
    """What both models share: the embeddings, the encoder, the decoder inputs, ``forward`` and the variables
    up to the decoder; a subclass adds ``_decode`` and ``_decoder_variables`` (what follows the embedding)."""

    #: the TF function the model serves: its error messages' prefix and the default ``name`` (TF's scope)
    where: str = ""
    #: the decoder's scope under the model's, holding ``embedding`` and the decoder's own variables
    decoder_scope: str = ""

    def __init__(
        self,
        cell: RNNCell,
        num_encoder_symbols: int,
        num_decoder_symbols: int,
        embedding_size: int,
        output_projection: Any = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        where = self.where
        if not isinstance(cell, RNNCell):
            raise TypeError(f"{where}: expected cell to be an rnnkit RNNCell, got {describe(cell)}")
        self.num_encoder_symbols = check_positive_int(
            where, "num_encoder_symbols", num_encoder_symbols
        )
        self.num_decoder_symbols = check_positive_int(
            where, "num_decoder_symbols", num_decoder_symbols
        )
        self.embedding_size = check_positive_int(where, "embedding_size", embedding_size)
        self.encoder_cell = copy.deepcopy(
            cell
        )  # TF1 deep-copied the cell: the encoder has its own variables
        self.output_projection = output_projection
        self.decoder_cell: RNNCell = (
            OutputProjectionWrapper(cell, num_decoder_symbols)
            if output_projection is None
            else cell
        )
        self.tf_name = where if name is None else name
        dtype = next((p.dtype for p in cell.parameters()), torch.get_default_dtype())
        limit = math.sqrt(3.0)
        enc = torch.empty(num_encoder_symbols, embedding_size, dtype=dtype).uniform_(-limit, limit)
        self.encoder_embedding = nn.Parameter(enc)
        dec = torch.empty(num_decoder_symbols, embedding_size, dtype=dtype)
        self.decoder_embedding = nn.Parameter(glorot_uniform_(dec))

    def _encode(self, encoder_inputs: Any) -> tuple[list[torch.Tensor], Any]:
        ids = _ids(self.where, "encoder_inputs", encoder_inputs, self.num_encoder_symbols)
        embedded = [
            nn.functional.embedding(x.to(self.encoder_embedding.device), self.encoder_embedding)
            for x in ids
        ]
        outputs, state = static_rnn(self.encoder_cell, embedded, dtype=embedded[0].dtype)
        return outputs, state

    def _decoder_inputs(
        self, decoder_inputs: Any, feed_previous: bool
    ) -> tuple[list[torch.Tensor], Any]:
        ids = _ids(self.where, "decoder_inputs", decoder_inputs, self.num_decoder_symbols)
        emb = [
            nn.functional.embedding(x.to(self.decoder_embedding.device), self.decoder_embedding)
            for x in ids
        ]
        loop = (
            extract_argmax_and_embed(self.decoder_embedding, self.output_projection)
            if feed_previous
            else None
        )
        return emb, loop

    def forward(
        self,
        encoder_inputs: Sequence[Any],
        decoder_inputs: Sequence[Any],
        feed_previous: bool = False,
    ) -> tuple[list[torch.Tensor], Any]:
        outputs, state = self._encode(encoder_inputs)
        emb, loop = self._decoder_inputs(decoder_inputs, feed_previous)
        return self._decode(outputs, state, emb, loop)

    def _decode(
        self, encoder_outputs: list[torch.Tensor], state: Any, emb: list[torch.Tensor], loop: Any
    ) -> tuple[list[torch.Tensor], Any]:
        raise NotImplementedError

    def named_tf_variables(self, prefix: str = "") -> NamedVariables:
        scope = f"{prefix}{self.tf_name}/"
        yield f"{scope}rnn/embedding_wrapper/embedding", self.encoder_embedding
        yield from module_tf_variables(self.encoder_cell, f"{scope}rnn/embedding_wrapper/")
        yield f"{scope}{self.decoder_scope}/embedding", self.decoder_embedding
        yield from self._decoder_variables(f"{scope}{self.decoder_scope}/")

    def _decoder_variables(self, scope: str) -> NamedVariables:
        raise NotImplementedError


class EmbeddingRNNSeq2Seq(_Seq2SeqBase):
    """The model of ``embedding_rnn_seq2seq`` (module docstring): ``EmbeddingRNNSeq2Seq(cell, num_encoder_symbols,
    num_decoder_symbols, embedding_size, output_projection=None, name="embedding_rnn_seq2seq")``;
    ``forward(encoder_inputs, decoder_inputs, feed_previous=False) -> (outputs list of [B, Nd] (or [B, H] with
    output_projection), state)``."""

    where = "embedding_rnn_seq2seq"
    decoder_scope = "embedding_rnn_decoder"

    def _decode(
        self, encoder_outputs: list[torch.Tensor], state: Any, emb: list[torch.Tensor], loop: Any
    ) -> tuple[list[torch.Tensor], Any]:
        return rnn_decoder(emb, state, self.decoder_cell, loop_function=loop)

    def _decoder_variables(self, scope: str) -> NamedVariables:
        yield from module_tf_variables(self.decoder_cell, f"{scope}rnn_decoder/")


class EmbeddingAttentionSeq2Seq(_Seq2SeqBase):
    """The model of ``embedding_attention_seq2seq``: the encoder's outputs ``[B, T, H]`` are the attention
    states of an ``AttentionDecoder`` (``num_heads``, ``initial_state_attention``) over the embedded decoder
    inputs. ``forward(encoder_inputs, decoder_inputs, feed_previous=False) -> (outputs, state)``."""

    where = "embedding_attention_seq2seq"
    decoder_scope = "embedding_attention_decoder"

    def __init__(
        self,
        cell: RNNCell,
        num_encoder_symbols: int,
        num_decoder_symbols: int,
        embedding_size: int,
        num_heads: int = 1,
        output_projection: Any = None,
        initial_state_attention: bool = False,
        name: str = "embedding_attention_seq2seq",
    ) -> None:
        super().__init__(
            cell, num_encoder_symbols, num_decoder_symbols, embedding_size, output_projection, name
        )
        output_size = num_decoder_symbols if output_projection is None else None
        self.attention = AttentionDecoder(
            self.decoder_cell, output_size, num_heads, initial_state_attention
        )

    def _decode(
        self, encoder_outputs: list[torch.Tensor], state: Any, emb: list[torch.Tensor], loop: Any
    ) -> tuple[list[torch.Tensor], Any]:
        attention_states = torch.stack(encoder_outputs, 1)
        return self.attention(emb, state, attention_states, loop)

    def _decoder_variables(self, scope: str) -> NamedVariables:
        yield from self.attention.named_tf_variables(scope)


def embedding_rnn_seq2seq(
    encoder_inputs: Sequence[Any],
    decoder_inputs: Sequence[Any],
    cell: RNNCell,
    num_encoder_symbols: int,
    num_decoder_symbols: int,
    embedding_size: int,
    output_projection: Any = None,
    feed_previous: bool = False,
    dtype: Any = None,
    scope: str | None = None,
) -> tuple[list[torch.Tensor], Any]:
    """TF 1.15's ``embedding_rnn_seq2seq`` (module docstring); the variables live in an
    ``EmbeddingRNNSeq2Seq`` kept for (cell, scope): ``model_for(cell, "embedding_rnn_seq2seq")``."""
    model = reuse_model(
        "embedding_rnn_seq2seq",
        EmbeddingRNNSeq2Seq,
        cell,
        scope,
        num_encoder_symbols=num_encoder_symbols,
        num_decoder_symbols=num_decoder_symbols,
        embedding_size=embedding_size,
        output_projection=output_projection,
    )
    return model(encoder_inputs, decoder_inputs, feed_previous)


def embedding_attention_seq2seq(
    encoder_inputs: Sequence[Any],
    decoder_inputs: Sequence[Any],
    cell: RNNCell,
    num_encoder_symbols: int,
    num_decoder_symbols: int,
    embedding_size: int,
    num_heads: int = 1,
    output_projection: Any = None,
    feed_previous: bool = False,
    dtype: Any = None,
    scope: str | None = None,
    initial_state_attention: bool = False,
) -> tuple[list[torch.Tensor], Any]:
    """TF 1.15's ``embedding_attention_seq2seq`` (module docstring); the variables live in an
    ``EmbeddingAttentionSeq2Seq`` kept for (cell, scope): ``model_for(cell, "embedding_attention_seq2seq")``."""
    model = reuse_model(
        "embedding_attention_seq2seq",
        EmbeddingAttentionSeq2Seq,
        cell,
        scope,
        num_encoder_symbols=num_encoder_symbols,
        num_decoder_symbols=num_decoder_symbols,
        embedding_size=embedding_size,
        num_heads=num_heads,
        output_projection=output_projection,
        initial_state_attention=bool(initial_state_attention),
    )
    return model(encoder_inputs, decoder_inputs, feed_previous)
