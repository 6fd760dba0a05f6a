"""The ``dates`` task's model: a character seq2seq with attention, built from rnnkit only.

Encoder: ``embeddings/encoder/embedding_encoder [V_src, E]``, then a bidirectional ``BasicLSTMCell(H)`` pair
(``rk.BidirectionalRNN`` over the true lengths); memory = ``[out_fw; out_bw]  [B, T, 2H]``.
Decoder: ``AttentionWrapper(BasicLSTMCell(2H), LuongAttention(2H, scale=True), attention_layer_size=2H)``; its
initial cell state is the encoder's final states joined per direction (``c = [c_fw; c_bw]``, ``h = [h_fw; h_bw]``),
which is why the decoder has twice the encoder's units. Output layer: ``output_projection`` (no bias) to
``V_tgt`` logits. Training feeds ``[GO, y_1 .. y_10]`` (TrainingHelper) against ``[y_1 .. y_10, EOS]``;
inference decodes greedily (GreedyEmbeddingHelper) or with beam search (BeamSearchDecoder). The variable names
follow tensorflow/nmt's attention model (``tf_variables``).
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

import rnnkit as rk

from ..data.dates import EOS, GO, ISO_LENGTH, SOURCE_CHARS, SPECIALS, TARGET_CHARS

s = rk.seq2seq
DECODE_STEPS = ISO_LENGTH + 1  # ten characters and EOS


def _join_directions(fw: Any, bw: Any) -> rk.LSTMStateTuple:
    """The decoder's initial state from the encoder's final ones: ``c = [c_fw; c_bw]``, ``h = [h_fw; h_bw]``
    (``[B, 2H]`` each)."""
    return rk.LSTMStateTuple(torch.cat([fw.c, bw.c], -1), torch.cat([fw.h, bw.h], -1))


class DatesModel(nn.Module):
    """``src ids [B, T]`` (+ lengths ``[B]``) → target logits / ids; see the module docstring."""

    def __init__(self, embed: int, num_units: int) -> None:
        super().__init__()
        self.src_vocab, self.tgt_vocab = (
            len(SPECIALS) + len(SOURCE_CHARS),
            len(SPECIALS) + len(TARGET_CHARS),
        )
        h = num_units
        # nmt initialises every variable uniformly in [-0.1, 0.1] (init_op "uniform", init_weight 0.1)
        self.embedding_encoder = nn.Parameter(
            torch.empty(self.src_vocab, embed).uniform_(-0.1, 0.1)
        )
        self.embedding_decoder = nn.Parameter(
            torch.empty(self.tgt_vocab, embed).uniform_(-0.1, 0.1)
        )
        self.encoder = rk.BidirectionalRNN(
            rk.BasicLSTMCell(h, input_size=embed), rk.BasicLSTMCell(h, input_size=embed)
        )
        # probability_fn: softmax, over the unmasked positions only when the export path set a mask
        self._score_mask: torch.Tensor | None = None
        self.mechanism = s.LuongAttention(2 * h, scale=True, probability_fn=self._probabilities)
        self.cell = s.AttentionWrapper(
            rk.BasicLSTMCell(2 * h, input_size=embed + 2 * h),
            self.mechanism,
            attention_layer_size=2 * h,
            name="attention",
        )
        self.projection = s.Dense(self.tgt_vocab, use_bias=False, name="output_projection")
        with (
            torch.no_grad()
        ):  # the lazy layers (memory, attention, projection) make their weights on first use
            ids = torch.full((1, 3), len(SPECIALS), dtype=torch.long)
            self.train_logits(ids, torch.tensor([3]), torch.full((1, 2), GO, dtype=torch.long))

    def _probabilities(self, score: torch.Tensor) -> torch.Tensor:
        """Softmax over the memory ``[B, T]``. With ``memory_sequence_length`` the mechanism has already set the
        scores past each row's length to -inf; the export path binds the memory without lengths (their Python
        checks cannot be recorded) and masks here instead, which gives the same alignments."""
        if self._score_mask is not None:
            score = score.masked_fill(~self._score_mask, float("-inf"))
        return torch.softmax(score, dim=-1)

    # -- encoder ---------------------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """``src [B, T]``, ``lengths [B]`` → memory ``[B, T, 2H]`` and the decoder's initial LSTM state."""
        x = self.embedding_encoder[src]
        (out_fw, out_bw), (st_fw, st_bw) = self.encoder(x, sequence_length=lengths)
        return torch.cat([out_fw, out_bw], -1), _join_directions(st_fw, st_bw)

    def _start(self, src: torch.Tensor, lengths: torch.Tensor, beam: int = 1) -> Any:
        """Bind the memory (tiled ``beam`` times) and return the wrapper's initial state."""
        memory, enc_state = self.encode(src, lengths)
        if beam > 1:
            memory, lengths = s.tile_batch(memory, beam), s.tile_batch(lengths, beam)
            enc_state = s.tile_batch(enc_state, beam)
        self.mechanism.setup_memory(memory, lengths)
        return self.cell.zero_state(memory.shape[0], device=memory.device).clone(
            cell_state=enc_state
        )

    # -- decoders --------------------------------------------------------------------------------------
    def train_logits(
        self, src: torch.Tensor, lengths: torch.Tensor, dec_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher forcing: ``dec_in [B, U]`` (GO then the target) → logits ``[B, U, V_tgt]``."""
        state = self._start(src, lengths)
        u = dec_in.shape[1]
        helper = s.TrainingHelper(self.embedding_decoder[dec_in], torch.full_like(lengths, u))
        out, _, _ = s.dynamic_decode(
            s.BasicDecoder(self.cell, helper, state, output_layer=self.projection)
        )
        return out.rnn_output

    def greedy(self, src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Greedy decoding (``GreedyEmbeddingHelper``) → ids ``[B, U]``, ``U <= DECODE_STEPS``."""
        state = self._start(src, lengths)
        start = torch.full_like(lengths, GO)
        helper = s.GreedyEmbeddingHelper(self.embedding_decoder, start, EOS)
        dec = s.BasicDecoder(self.cell, helper, state, output_layer=self.projection)
        out, _, _ = s.dynamic_decode(dec, maximum_iterations=DECODE_STEPS)
        return out.sample_id

    def beam(self, src: torch.Tensor, lengths: torch.Tensor, width: int) -> torch.Tensor:
        """Beam search (``BeamSearchDecoder``, no length penalty) → the best beam's ids ``[B, U]``."""
        state = self._start(src, lengths, width)
        start = torch.full_like(lengths, GO)
        dec = s.BeamSearchDecoder(
            self.cell,
            self.embedding_decoder,
            start,
            EOS,
            state,
            width,
            output_layer=self.projection,
        )
        out, _, _ = s.dynamic_decode(dec, maximum_iterations=DECODE_STEPS)
        return out.predicted_ids[:, :, 0]

    def greedy_loop(
        self, src: torch.Tensor, lengths: torch.Tensor, steps: int = DECODE_STEPS
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Greedy decoding as a fixed loop of ``steps`` wrapper steps (no stopping test, so it can be recorded
        for export): ids ``[B, steps]``, logits ``[B, steps, V]``, alignments ``[B, steps, T]``. Up to the first
        EOS its ids equal :meth:`greedy`'s."""
        ids, logits, states = self._greedy_steps(self._start(src, lengths), lengths, steps)
        return ids, logits, torch.stack([st.alignments for st in states], 1)

    def _greedy_steps(
        self, state: Any, lengths: torch.Tensor, steps: int
    ) -> tuple[torch.Tensor, torch.Tensor, list[Any]]:
        """``steps`` decoder steps from ``GO``, each feeding back its argmax: ids ``[B, steps]``, logits
        ``[B, steps, V_tgt]`` and the wrapper state after every step (``lengths [B]`` gives the batch)."""
        tok = torch.full_like(lengths, GO)
        ids, logits, states = [], [], []
        for _ in range(steps):
            out, state = self.cell(self.embedding_decoder[tok], state)
            step_logits = self.projection(out)
            tok = step_logits.argmax(-1)
            ids.append(tok)
            logits.append(step_logits)
            states.append(state)
        return torch.stack(ids, 1), torch.stack(logits, 1), states

    def tf_variables(self) -> dict[str, nn.Parameter]:
        """The parameters under tensorflow/nmt's names for this model (scaled Luong, one bidirectional layer)."""
        return {
            "embeddings/encoder/embedding_encoder": self.embedding_encoder,
            "embeddings/decoder/embedding_decoder": self.embedding_decoder,
            **rk.tf_variables_bidirectional(
                self.encoder.cell_fw,
                self.encoder.cell_bw,
                "dynamic_seq2seq/encoder/bidirectional_rnn",
            ),
            **rk.tf_variables(self.cell, "dynamic_seq2seq/decoder"),
            **rk.tf_variables(
                cast(Any, self.projection), "dynamic_seq2seq/decoder"
            ),  # a Dense names its kernel too
        }


def _masked_unroll(
    cell: rk.RNNCell, x: torch.Tensor, keep: torch.Tensor
) -> tuple[torch.Tensor, Any]:
    """``dynamic_rnn(cell, x, sequence_length)`` restated with tensor ops only: past a row's length (``keep
    [B, T]`` false) the state is carried through and the output is zero, as TF defines it."""
    state = cell.zero_state(x.shape[0], dtype=x.dtype, device=x.device)
    outs = []
    for t in range(x.shape[1]):
        out, new = cell(x[:, t], state)
        k = keep[:, t, None]
        outs.append(out * k)
        state = rk.nest.map_structure(lambda n, o, k=k: torch.where(k, n, o), new, state)
    return torch.stack(outs, 1), state


class GreedyExport(nn.Module):
    """The model as a function of one tensor, for ONNX: ``chars [B, T]`` (source ids, PAD=0 after each text) →
    ``(ids [B, 11], probabilities [B, 11, V_tgt])``: :meth:`DatesModel.greedy_loop`'s ids and the softmax of its
    logits. Probabilities, not logits: a trained model's logits reach tens, where float32 rounding alone differs
    between runtimes by more than the 1e-5 the export check allows (3.4e-5 measured); probabilities lie in [0, 1].

    Why a restatement: the unrolls and ``setup_memory`` read ``sequence_length`` in Python (checks, the number of
    steps to run), which an exporter cannot record. Here the encoder runs the model's own cells over all ``T``
    steps with TF's masking rule as tensor ops, the backward direction reads each row reversed within its length
    (a gather), and the attention masks its scores through the model's ``probability_fn``.
    """

    def __init__(self, model: DatesModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, chars: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model
        b, t = chars.shape
        lengths = (chars != 0).sum(1)
        steps = torch.arange(t, device=chars.device)[None, :].expand(b, t)
        keep = steps < lengths[:, None]
        rev = torch.where(
            keep, lengths[:, None] - 1 - steps, steps
        )  # reverse within each row's length
        x = m.embedding_encoder[chars]
        out_fw, st_fw = _masked_unroll(m.encoder.cell_fw, x, keep)
        x_rev = torch.gather(x, 1, rev[:, :, None].expand_as(x))
        out_bw, st_bw = _masked_unroll(m.encoder.cell_bw, x_rev, keep)
        out_bw = torch.gather(out_bw, 1, rev[:, :, None].expand_as(out_bw))
        memory = torch.cat([out_fw, out_bw], -1)
        enc = _join_directions(st_fw, st_bw)
        m.mechanism.setup_memory(memory)
        state = m.cell.zero_state(b, dtype=memory.dtype, device=memory.device).clone(cell_state=enc)
        m._score_mask = keep
        try:
            ids, logits, _ = m._greedy_steps(state, lengths, DECODE_STEPS)
        finally:
            m._score_mask = None
        return ids, torch.softmax(logits, -1)
