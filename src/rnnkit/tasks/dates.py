"""Human-written dates → ISO 8601 (``March 3, 1987`` → ``1987-03-03``): a character translation task.

The data (``rnnkit.data.dates``) is generated from the seed: an endless stream of training pairs over the
training dates, and a fixed test set over dates held out of training in every form. The model
(``dates_model.DatesModel``) is a bidirectional LSTM encoder with a scaled-Luong attention decoder, all rnnkit.
Metrics: ``test_exact_match`` (greedy decoding, whole string right), ``test_exact_match_beam`` (beam search),
``test_char_accuracy`` (greedy, characters right at their position out of the 10 of ``YYYY-MM-DD``), ``test_loss``
(teacher-forced cross-entropy per target token).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..data.dates import (
    GO,
    ISO_LENGTH,
    SOURCE_CHARS,
    TARGET_CHARS,
    DateSplit,
    decode,
    encode,
)
from ..export import ExportSpec
from ..train.distributed import own_rows
from .base import ConfigError, Task
from .dates_model import DatesModel, GreedyExport
from .settings import Setting, integer, number

# A bounded cache: tests build many small runs over the same split.
_SPLITS: dict[tuple[int, int, int, float], DateSplit] = {}


def get_split(config: dict[str, Any]) -> DateSplit:
    key = (config["seed"], config["first_year"], config["last_year"], config["heldout_fraction"])
    if key not in _SPLITS:
        try:
            _SPLITS[key] = DateSplit(*key)
        except ValueError as e:
            raise ConfigError(f"dates: {e}") from None
        if len(_SPLITS) > 8:
            _SPLITS.pop(next(iter(_SPLITS)))
    return _SPLITS[key]


class DatesTask(Task):
    name = "dates"
    model: DatesModel
    description = "translate human-written dates to ISO 8601 (seq2seq: bi-LSTM encoder, Luong attention, beam search)"
    defaults: ClassVar[dict[str, Any]] = {
        "first_year": 1900,
        "last_year": 2099,
        "heldout_fraction": 0.1,  # dates (in every form) kept out of training
        "test_examples": 2000,
        "eval_batch": 500,
        "beam_width": 5,
        "embed": 32,
        "num_units": 64,  # per encoder direction; the decoder has twice as many
        "export_width": 32,  # the longest form is 29 characters
    }
    settings = (
        Setting("first_year", *integer(1, 9999), "first year of the dates"),
        Setting("last_year", *integer(1, 9999), "last year of the dates (>= first_year)"),
        Setting(
            "heldout_fraction",
            *number(gt=0, le=0.5),
            "share of the dates held out of training in every form (picked by a hash of the seed and date)",
        ),
        Setting("test_examples", *integer(1), "held-out (text, ISO) pairs evaluated"),
        Setting("eval_batch", *integer(1), "examples per decoding batch in evaluation"),
        Setting(
            "beam_width", *integer(1), "beam width of test_exact_match_beam and predict --beam"
        ),
        Setting("embed", *integer(1), "character embedding size (source and target)"),
        Setting(
            "export_width", *integer(10), "source characters the exported file takes (PAD-filled)"
        ),
        Setting(
            "num_units",
            *integer(1),
            "LSTM units per encoder direction; the decoder has twice as many",
        ),
    )
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {
            "description": "embeddings 32, bi-LSTM 2x64, Luong-scaled attention decoder LSTM(128), batch 128, "
            "Adam 1-cycle lr 5e-3, 2500 steps; greedy and beam-5 exact match on 2000 held-out dates",
            "batch_size": 128,
            "lr": 5e-3,
            "schedule": "onecycle",
            "warmup": 0.15,
            "grad_clip": 5.0,
            "max_steps": 2500,
            "log_every": 100,
            "eval_every": 500,
            "checkpoint_every": 500,
        },
        "small": {
            "description": "bi-LSTM 2x32, decoder LSTM(64), batch 64, Adam 1-cycle lr 8e-3, 1000 steps (a quick look)",
            "num_units": 32,
            "embed": 16,
            "batch_size": 64,
            "lr": 8e-3,
            "schedule": "onecycle",
            "warmup": 0.15,
            "grad_clip": 5.0,
            "max_steps": 1000,
            "log_every": 50,
            "eval_every": 250,
            "checkpoint_every": 250,
        },
    }

    @classmethod
    def metrics(cls, config: dict[str, Any]) -> tuple[str, ...]:
        return ("test_exact_match", "test_exact_match_beam", "test_char_accuracy", "test_loss")

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        super().check_config(config)
        if config["first_year"] > config["last_year"]:
            raise ConfigError(
                "first_year and last_year: expected first_year <= last_year, "
                f"got {config['first_year']} and {config['last_year']}"
            )
        get_split(
            config
        )  # a range with no held-out (or no training) date is refused before a run starts

    def __init__(self, config: dict[str, Any], data_dir: str | Path | None = None) -> None:
        self.split = get_split(config)
        super().__init__(config, data_dir)
        self.test_pairs = self.split.test_set(config["test_examples"])

    def build_model(self) -> DatesModel:
        return DatesModel(self.config["embed"], self.config["num_units"])

    # -- tensors -------------------------------------------------------------------------------------------
    def source(self, texts: list[str], where: str = "dates") -> tuple[torch.Tensor, torch.Tensor]:
        """Lower-cased source ids ``[N, T]`` and lengths ``[N]`` on the device (ValueError on an unknown char)."""
        ids, lengths = encode(texts, SOURCE_CHARS, where=where)
        return torch.from_numpy(ids).to(self.device), torch.from_numpy(lengths).to(self.device)

    def target(self, isos: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder inputs ``[GO, y_1..y_10]`` and targets ``[y_1..y_10, EOS]``, each ``[N, 11]``."""
        tgt = torch.from_numpy(encode(isos, TARGET_CHARS, add_eos=True)[0]).to(self.device)
        go = torch.full_like(tgt[:, :1], GO)
        return torch.cat([go, tgt[:, :-1]], 1), tgt

    def _loss(self, pairs: list[tuple[str, str]]) -> torch.Tensor:
        src, lengths = self.source([t for t, _ in pairs])
        dec_in, tgt = self.target([iso for _, iso in pairs])
        logits = self.model.train_logits(src, lengths, dec_in)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))

    def train_loss(self, step: int) -> tuple[torch.Tensor, int]:
        bs = self.config["batch_size"] * self.world_size
        pairs = self.split.train_batch(step, bs)  # the global batch: this process takes its rows
        mine = pairs[own_rows(bs)]
        return self._loss(mine), len(mine)

    # -- inference -----------------------------------------------------------------------------------------
    def translate(self, texts: list[str], beam: bool = False, where: str = "dates") -> list[str]:
        """ISO strings for ``texts`` (greedy, or beam search of width ``beam_width``)."""
        self.model.eval()
        out: list[str] = []
        bs = self.config["eval_batch"]
        with torch.inference_mode():
            for i in range(0, len(texts), bs):
                src, lengths = self.source(texts[i : i + bs], where)
                if beam:
                    ids = self.model.beam(src, lengths, self.config["beam_width"])
                else:
                    ids = self.model.greedy(src, lengths)
                out.extend(decode(row, TARGET_CHARS) for row in ids.cpu().numpy())
        return out

    def evaluate(self) -> dict[str, float]:
        texts, isos = [t for t, _ in self.test_pairs], [iso for _, iso in self.test_pairs]
        greedy = self.translate(texts)
        beam = self.translate(texts, beam=True)
        chars = [
            sum(a == b for a, b in zip(p.ljust(ISO_LENGTH), iso)) for p, iso in zip(greedy, isos)
        ]
        self.model.eval()
        with torch.no_grad():
            bs = self.config["eval_batch"]
            losses = [
                self._loss(self.test_pairs[i : i + bs]).item() * len(self.test_pairs[i : i + bs])
                for i in range(0, len(texts), bs)
            ]
        n = len(isos)
        return {
            "test_exact_match": sum(p == t for p, t in zip(greedy, isos)) / n,
            "test_exact_match_beam": sum(p == t for p, t in zip(beam, isos)) / n,
            "test_char_accuracy": sum(chars) / (ISO_LENGTH * n),
            "test_loss": sum(losses) / n,
        }

    def export_spec(self) -> ExportSpec:
        """``chars [B, W]`` (source ids, PAD=0 after each text) → ``ids [B, 11]`` (greedy, EOS=2 ends the
        text) and their ``probabilities [B, 11, V]`` (softmax of the logits): the decoding loop has a fixed length, so it can be recorded.

        The encoder loop is recorded for ``W = export_width`` steps (default 32: the longest form is 29
        characters), so the file takes ``chars`` padded to W; the batch stays dynamic."""
        src, _ = self.source(["3.3.1987", "1987-03-03"])
        src = nn.functional.pad(src, (0, self.config["export_width"] - src.shape[1]))
        return ExportSpec(
            GreedyExport(self.model).eval(),
            (src,),
            ["chars"],
            ["ids", "probabilities"],
            {"chars": {0: "batch"}},
        )

    def make_plots(self, run_dir: Path) -> list[Path]:
        from .. import plots

        run_dir = Path(run_dir)
        files = plots.training_curves(
            run_dir, ["test_exact_match", "test_exact_match_beam", "test_char_accuracy"]
        )
        # one held-out example per format family, attention read from the fixed greedy loop
        texts = [t for t, _ in self.test_pairs[:6]]
        src, lengths = self.source(texts)
        self.model.eval()
        with torch.no_grad():
            ids, _, align = self.model.greedy_loop(src, lengths)
        items = []
        for k, text in enumerate(texts):
            out = decode(ids[k].cpu().numpy(), TARGET_CHARS)
            steps = min(len(out) + 1, align.shape[1])  # the output characters and EOS
            a = align[k, :steps, : int(lengths[k])].cpu().numpy().astype(np.float64)
            items.append((list(text.lower()), list(out) + ["</s>"], a))
        files.append(plots.attention_heatmaps(run_dir / "attention.png", items))
        return files
