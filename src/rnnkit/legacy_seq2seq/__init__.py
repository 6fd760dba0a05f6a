"""``rk.legacy_seq2seq``: TF 1.15's ``tf.contrib.legacy_seq2seq`` (lists over time) on PyTorch.

>>> import torch, rnnkit as rk
>>> logits = [torch.randn(2, 5) for _ in range(3)]
>>> targets = [torch.tensor([1, 4]) for _ in range(3)]
>>> weights = [torch.ones(2) for _ in range(3)]
>>> rk.legacy_seq2seq.sequence_loss_by_example(logits, targets, weights).shape
torch.Size([2])

The functions with variables (``attention_decoder``, ``embedding_*_seq2seq``) keep them in a module per
(cell, scope), as TF1 kept them in the graph: ``rk.legacy_seq2seq.model_for(cell, scope)`` returns it (its
``parameters()`` for the optimiser, ``rk.tf_variables(model, scope=None)`` for the TF names); the classes
``AttentionDecoder``, ``EmbeddingRNNSeq2Seq``, ``EmbeddingAttentionSeq2Seq`` can also be used directly.
"""

from .decoders import AttentionDecoder, attention_decoder, model_for, rnn_decoder
from .loss import sequence_loss, sequence_loss_by_example
from .models import (
    EmbeddingAttentionSeq2Seq,
    EmbeddingRNNSeq2Seq,
    embedding_attention_seq2seq,
    embedding_rnn_seq2seq,
)

__all__ = [
    "sequence_loss_by_example",
    "sequence_loss",
    "rnn_decoder",
    "attention_decoder",
    "AttentionDecoder",
    "embedding_rnn_seq2seq",
    "embedding_attention_seq2seq",
    "EmbeddingRNNSeq2Seq",
    "EmbeddingAttentionSeq2Seq",
    "model_for",
]
