"""tensorflow/nmt's attention model written with rnnkit, under nmt's own variable names.

The configuration is nmt's standard one (``nmt/standard_hparams/iwslt15.json``): ``encoder_type="bi"``,
``attention="scaled_luong"``, ``attention_architecture="standard"``, 2 encoder and 2 decoder layers of
``BasicLSTMCell`` (forget bias 1.0), ``output_attention=True``, ``pass_hidden_state=True``, every variable
kernels and embeddings initialised uniformly in [-0.1, 0.1], beam search (width 10) at inference. With 2 encoder layers nmt builds one
bidirectional layer, and its two final states (forward, backward) become the initial states of the two decoder
layers. The model is trained here on the ``dates`` task's data (human-written dates -> ISO 8601).

    python examples/nmt_attention.py            # num_units 64, 1500 steps (a few minutes on one core)
    python examples/nmt_attention.py --smoke    # a tiny model, a few steps (seconds)

The variables (``model.tf_variables()``) carry the names nmt's graph gives them when ``nmt.py`` trains
(``scope=None``): ``embeddings/encoder/embedding_encoder``, ``dynamic_seq2seq/encoder/bidirectional_rnn/fw/...``,
``dynamic_seq2seq/decoder/memory_layer/kernel``, ``dynamic_seq2seq/decoder/attention/multi_rnn_cell/...``,
``.../luong_attention/attention_g``, ``.../attention/attention_layer/kernel``,
``dynamic_seq2seq/decoder/output_projection/kernel``; so an nmt checkpoint loads without renaming:
``rk.load_tf_checkpoint(model, "nmt_model/translate.ckpt-12000", strict=False)`` (strict=False: the file also
holds global_step and the optimizer's variables). Differences from nmt: batch-major tensors (nmt's ``time_major`` only transposes),
Adam instead of nmt's SGD with lr 1.0 (a small demo converges faster), no dropout (nmt: 0.2) on this tiny task.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import rnnkit as rk
from rnnkit.data.dates import (
    EOS,
    GO,
    SOURCE_CHARS,
    SPECIALS,
    TARGET_CHARS,
    DateSplit,
    decode,
    encode,
)

s = rk.seq2seq


def _lstm_stack(units: int, layers: int, input_size: int) -> rk.RNNCell:
    """nmt's ``model_helper.create_rnn_cell``: one cell, or a ``MultiRNNCell`` of ``layers`` cells."""
    cells = [
        rk.BasicLSTMCell(units, input_size=input_size if i == 0 else units) for i in range(layers)
    ]
    return cells[0] if layers == 1 else rk.MultiRNNCell(cells)


class NMTAttentionModel(nn.Module):
    """nmt's ``AttentionModel`` with ``encoder_type="bi"`` (``num_layers`` even) and scaled Luong attention."""

    def __init__(self, src_vocab: int, tgt_vocab: int, num_units: int, num_layers: int = 2) -> None:
        super().__init__()
        if num_layers % 2:
            raise ValueError(
                f"NMTAttentionModel: expected an even num_layers (bi encoder), got {num_layers}"
            )
        u, bi_layers = num_units, num_layers // 2
        self.embedding_encoder = nn.Parameter(
            torch.empty(src_vocab, u)
        )  # nmt: embed size = num_units
        self.embedding_decoder = nn.Parameter(torch.empty(tgt_vocab, u))
        self.cell_fw = _lstm_stack(u, bi_layers, u)
        self.cell_bw = _lstm_stack(u, bi_layers, u)
        self.mechanism = s.LuongAttention(u, scale=True)  # "scaled_luong"
        self.cell = s.AttentionWrapper(
            _lstm_stack(u, num_layers, 2 * u),  # input: [embedding; previous attention]
            self.mechanism,
            attention_layer_size=u,
            output_attention=True,
            name="attention",
        )
        self.output_layer = s.Dense(tgt_vocab, use_bias=False, name="output_projection")
        with torch.no_grad():  # build the lazy layers, then nmt's initialiser
            self.train_logits(
                torch.full((1, 2), len(SPECIALS)), torch.tensor([2]), torch.full((1, 1), GO)
            )
            for name, p in self.tf_variables().items():
                # the scope's uniform initialiser reaches the variables made without one of their own: TF
                # gives LSTM biases zeros and attention_g ones explicitly (as rnnkit does)
                if not name.endswith(("/bias", "/attention_g")):
                    p.uniform_(-0.1, 0.1)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """``src [B, T]`` → memory ``[B, T, 2U]`` and the decoder's initial state (nmt's ``_build_encoder``)."""
        (out_fw, out_bw), (st_fw, st_bw) = rk.bidirectional_dynamic_rnn(
            self.cell_fw, self.cell_bw, self.embedding_encoder[src], sequence_length=lengths
        )
        if isinstance(st_fw, tuple) and not isinstance(st_fw, rk.LSTMStateTuple):
            state = tuple(x for pair in zip(st_fw, st_bw) for x in pair)  # layer by layer: fw, bw
        else:
            state = (st_fw, st_bw)
        return torch.cat([out_fw, out_bw], -1), state

    def _initial_state(
        self, src: torch.Tensor, lengths: torch.Tensor, beam: int = 1
    ) -> s.AttentionWrapperState:
        memory, state = self.encode(src, lengths)
        if beam > 1:  # nmt tiles memory, lengths and encoder state for beam search
            memory, lengths, state = (s.tile_batch(x, beam) for x in (memory, lengths, state))
        self.mechanism.setup_memory(memory, lengths)
        return self.cell.zero_state(memory.shape[0], device=memory.device).clone(cell_state=state)

    def train_logits(
        self, src: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher forcing (TrainingHelper + BasicDecoder): logits ``[B, U_tgt, V_tgt]``."""
        state = self._initial_state(src, lengths)
        helper = s.TrainingHelper(
            self.embedding_decoder[tgt_in], torch.full_like(lengths, tgt_in.shape[1])
        )
        out, _, _ = s.dynamic_decode(
            s.BasicDecoder(self.cell, helper, state, output_layer=self.output_layer)
        )
        return out.rnn_output

    def beam_search(
        self, src: torch.Tensor, lengths: torch.Tensor, beam_width: int, max_len: int
    ) -> torch.Tensor:
        """The best beam's ids ``[B, T]`` (nmt: ``BeamSearchDecoder``, length_penalty_weight 0)."""
        state = self._initial_state(src, lengths, beam_width)
        decoder = s.BeamSearchDecoder(
            self.cell, self.embedding_decoder, torch.full_like(lengths, GO), EOS, state, beam_width,
            output_layer=self.output_layer, length_penalty_weight=0.0,
        )  # fmt: skip
        out, _, _ = s.dynamic_decode(decoder, maximum_iterations=max_len)
        return out.predicted_ids[:, :, 0]

    def tf_variables(
        self, scope: str = "dynamic_seq2seq", embeddings: str = "embeddings"
    ) -> dict[str, nn.Parameter]:
        """nmt's names, in its creation order; ``embeddings`` is the embeddings' scope (nmt.py: "embeddings";
        nmt's model_test builds with ``scope="dynamic_seq2seq"``, which puts them there)."""
        return {
            f"{embeddings}/encoder/embedding_encoder": self.embedding_encoder,
            f"{embeddings}/decoder/embedding_decoder": self.embedding_decoder,
            **rk.tf_variables_bidirectional(
                self.cell_fw, self.cell_bw, f"{scope}/encoder/bidirectional_rnn"
            ),
            **rk.tf_variables(self.cell, f"{scope}/decoder"),
            **rk.tf_variables(self.output_layer, f"{scope}/decoder"),
        }


def batch(pairs: list[tuple[str, str]]) -> tuple[torch.Tensor, ...]:
    src, lengths = encode([t for t, _ in pairs], SOURCE_CHARS)
    tgt, _ = encode([iso for _, iso in pairs], TARGET_CHARS, add_eos=True)
    tgt_out = torch.from_numpy(tgt)
    tgt_in = torch.cat([torch.full_like(tgt_out[:, :1], GO), tgt_out[:, :-1]], 1)
    return torch.from_numpy(src), torch.from_numpy(lengths), tgt_in, tgt_out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="a tiny model and a few steps")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--num-units", type=int, default=64)
    ap.add_argument("--beam-width", type=int, default=10)
    args = ap.parse_args()
    steps, units, n_test, beam = (
        (6, 16, 8, 3) if args.smoke else (args.steps, args.num_units, 1000, args.beam_width)
    )
    torch.manual_seed(0)
    split = DateSplit(0, 1900, 2099, 0.1)
    model = NMTAttentionModel(
        len(SPECIALS) + len(SOURCE_CHARS), len(SPECIALS) + len(TARGET_CHARS), units
    )
    names = model.tf_variables()
    print(f"{len(names)} variables, as nmt names them:")
    for name, p in names.items():
        print(f"  {name} {tuple(p.shape)}")
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps, pct_start=0.15)
    t0 = time.process_time()
    for step in range(steps):
        src, lengths, tgt_in, tgt_out = batch(
            split.train_batch(step, 128 if not args.smoke else 16)
        )
        logits = model.train_logits(src, lengths, tgt_in)
        loss = s.sequence_loss(
            logits, tgt_out, torch.ones(tgt_out.shape)
        )  # nmt: cross-entropy per token
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)  # nmt: max_gradient_norm 5
        opt.step()
        sched.step()
        if step % 250 == 0 or step == steps - 1:
            print(f"step {step} loss {loss.item():.4f}")
    test = split.test_set(n_test)
    src, lengths, _, _ = batch(test)
    with torch.inference_mode():
        ids = model.eval().beam_search(
            src, lengths, beam, max_len=2 * src.shape[1]
        )  # nmt: 2 x source length
    out = [decode(row, TARGET_CHARS) for row in ids.numpy()]
    exact = sum(o == iso for o, (_, iso) in zip(out, test)) / len(test)
    for (text, iso), o in list(zip(test, out))[:3]:
        print(f"  {text!r} -> {o!r} (want {iso})")
    print(
        f"held-out exact match (beam {beam}): {exact:.4f} after {steps} steps, {time.process_time() - t0:.0f} s CPU"
    )


if __name__ == "__main__":
    main()
