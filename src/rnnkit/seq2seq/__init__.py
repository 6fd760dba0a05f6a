"""``rk.seq2seq``: TF 1.15's ``tf.contrib.seq2seq`` on PyTorch — attention, decoders, beam search, losses.

>>> import torch, rnnkit as rk
>>> memory = torch.randn(2, 5, 6)                                  # encoder outputs [B, T, D]
>>> mechanism = rk.seq2seq.LuongAttention(8, memory, memory_sequence_length=[5, 3], scale=True)
>>> cell = rk.seq2seq.AttentionWrapper(rk.BasicLSTMCell(8), mechanism, attention_layer_size=8)
>>> helper = rk.seq2seq.TrainingHelper(torch.randn(2, 4, 3), [4, 2])
>>> decoder = rk.seq2seq.BasicDecoder(cell, helper, cell.zero_state(2), output_layer=rk.seq2seq.Dense(10))
>>> outputs, state, lengths = rk.seq2seq.dynamic_decode(decoder)
>>> tuple(outputs.rnn_output.shape), lengths.tolist()
((2, 4, 10), [4, 2])
>>> names = list(rk.tf_variables(decoder, scope="decoder"))
>>> names[0], names[1]
('decoder/memory_layer/kernel', 'decoder/attention_wrapper/basic_lstm_cell/kernel')
"""

from .attention import BahdanauAttention, LuongAttention
from .attention_base import AttentionMechanism, hardmax
from .attention_wrapper import AttentionWrapper, AttentionWrapperState
from .basic_decoder import BasicDecoder, BasicDecoderOutput, Decoder
from .beam_ops import gather_tree, gather_tree_from_array, tile_batch
from .beam_search import (
    BeamSearchDecoder,
    BeamSearchDecoderOutput,
    BeamSearchDecoderState,
    FinalBeamSearchDecoderOutput,
)
from .decode import dynamic_decode
from .helpers import (
    CustomHelper,
    GreedyEmbeddingHelper,
    Helper,
    InferenceHelper,
    SampleEmbeddingHelper,
    TrainingHelper,
)
from .layers import Dense
from .loss import sequence_loss
from .monotonic import (
    BahdanauMonotonicAttention,
    LuongMonotonicAttention,
    monotonic_attention,
    safe_cumprod,
)
from .scheduled import ScheduledEmbeddingTrainingHelper, ScheduledOutputTrainingHelper
from .state import AlignmentHistory

__all__ = [
    "AttentionMechanism",
    "LuongAttention",
    "BahdanauAttention",
    "hardmax",
    "BahdanauMonotonicAttention",
    "LuongMonotonicAttention",
    "monotonic_attention",
    "safe_cumprod",
    "AttentionWrapper",
    "AttentionWrapperState",
    "AlignmentHistory",
    "Decoder",
    "BasicDecoder",
    "BasicDecoderOutput",
    "BeamSearchDecoder",
    "BeamSearchDecoderOutput",
    "BeamSearchDecoderState",
    "FinalBeamSearchDecoderOutput",
    "dynamic_decode",
    "tile_batch",
    "gather_tree",
    "gather_tree_from_array",
    "Helper",
    "CustomHelper",
    "TrainingHelper",
    "ScheduledEmbeddingTrainingHelper",
    "ScheduledOutputTrainingHelper",
    "GreedyEmbeddingHelper",
    "SampleEmbeddingHelper",
    "InferenceHelper",
    "Dense",
    "sequence_loss",
]
