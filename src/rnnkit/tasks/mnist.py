"""MNIST read row by row: 28 time steps of 28 pixels, a recurrent stack, a linear head on the last output.

Presets port the seed programs (docs/seeds.md) with their hyper-parameters, initialisers and TF
variable names; ``default`` is the most accurate model that trains in about 10 minutes on 2 CPU cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

import rnnkit as rk

from ..data.mnist import Mnist, load_mnist
from ..export import ExportSpec
from ..train import EpochSampler
from ..train.distributed import launch_world_size
from .base import Task
from .common import TFDense, make_cell
from .mnist_settings import MNIST_SETTINGS, check_mnist_config

_CACHE: dict[str, Mnist] = {}


def get_mnist(data_dir: str | Path | None) -> Mnist:
    """``load_mnist`` once per process and directory (tests build many small runs)."""
    key = str(data_dir)
    if key not in _CACHE:
        _CACHE[key] = load_mnist(data_dir)
    return _CACHE[key]


class MnistModel(nn.Module):
    """``[B, 28, 28]`` pixels in ``[0, 1]`` → logits ``[B, 10]``.

    Optional dense input layer (seed 000: ``x @ W_in + b_in`` per row), a cell (stack) unrolled with
    ``dynamic_rnn`` or ``static_rnn`` (optionally a second cell over the reversed rows:
    bidirectional), and a dense head on the last output (the concatenation of both directions).
    """

    def __init__(self, m: dict[str, Any]) -> None:
        super().__init__()
        self.m = m
        h = m["num_units"]
        self.rows_per_step: int = m.get("rows_per_step", 1)
        if 28 % self.rows_per_step:
            raise ValueError(f"MnistModel: rows_per_step must divide 28, got {self.rows_per_step}")
        d = 28 * self.rows_per_step
        self.input_dense = None
        if m.get("input_dense"):
            self.input_dense = TFDense(d, m["input_dense"], **m.get("input_init", {}))
            d = m["input_dense"]
        mk = {
            "kind": m["cell"],
            "num_units": h,
            "input_size": d,
            "num_layers": m.get("num_layers", 1),
            "keep_prob": m.get("keep_prob"),
        }
        self.cell = make_cell(**mk)
        self.cell_bw = make_cell(**mk) if m.get("bidirectional") else None
        self.head = TFDense(
            h * (2 if self.cell_bw is not None else 1), 10, **m.get("head_init", {})
        )

    def _unroll(self, cell: rk.RNNCell, x: torch.Tensor) -> torch.Tensor:
        if self.m.get("unroll", "dynamic") == "static":
            outs, _ = rk.static_rnn(cell, list(x.unbind(1)))
            return torch.stack(outs, 1)
        outs, _ = rk.dynamic_rnn(cell, x)
        return outs

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Per-step features ``[B, T, H]`` (``[B, T, 2H]`` bidirectional: forward and backward at step t).

        ``T = 28 / rows_per_step``: each step reads ``rows_per_step`` image rows (default 1).
        """
        if self.rows_per_step > 1:
            x = x.reshape(x.shape[0], 28 // self.rows_per_step, 28 * self.rows_per_step)
        if self.input_dense is not None:
            x = self.input_dense(x)
        out = self._unroll(self.cell, x)
        if self.cell_bw is not None:
            out = torch.cat([out, self._unroll(self.cell_bw, x.flip(1)).flip(1)], -1)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        if self.cell_bw is None:
            return self.head(f[:, -1])
        h = self.m["num_units"]
        # forward direction after the last row, backward direction after the first row
        return self.head(torch.cat([f[:, -1, :h], f[:, 0, h:]], -1))

    def step_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The head applied to every step's output ``[B, T, 10]`` (seed 001's per-time-step bars)."""
        return self.head(self.features(x))

    def tf_variables(self) -> dict[str, nn.Parameter]:
        """Parameters by the TF names the seed program's graph gives them, in creation order."""
        layout = self.m.get("tf_layout", "default")
        hd = self.head
        if layout == "seed000":  # weights{in,out} then biases{in,out}, then the LSTM under rnn/
            assert self.input_dense is not None
            return {
                "Variable": self.input_dense.kernel,
                "Variable_1": hd.kernel,
                "Variable_2": self.input_dense.bias,
                "Variable_3": hd.bias,
                **rk.tf_variables(self.cell, "rnn"),
            }
        if layout == "seed001":  # cells built under variable_scope('RNN'), then W, b
            return {
                **rk.tf_variables(self.cell, "RNN"),
                "Variable": hd.kernel,
                "Variable_1": hd.bias,
            }
        if layout == "seed003":  # w, b first, then the LSTM
            return {
                "Variable": hd.kernel,
                "Variable_1": hd.bias,
                **rk.tf_variables(self.cell, "rnn"),
            }
        if layout == "seed004":  # dynamic_rnn, then fully_connected(states, 10)
            return {
                **rk.tf_variables(self.cell, "rnn"),
                "fully_connected/weights": hd.kernel,
                "fully_connected/biases": hd.bias,
            }
        out = {}
        if self.input_dense is not None:
            out.update(
                {"input/kernel": self.input_dense.kernel, "input/bias": self.input_dense.bias}
            )
        if self.cell_bw is None:
            out.update(rk.tf_variables(self.cell, "rnn"))
        else:
            out.update(rk.tf_variables(self.cell, "bidirectional_rnn/fw"))
            out.update(rk.tf_variables(self.cell_bw, "bidirectional_rnn/bw"))
        return {**out, "dense/kernel": hd.kernel, "dense/bias": hd.bias}


def _lstm(num_units: int, **kw: Any) -> dict[str, Any]:
    return {"cell": "basic_lstm", "num_units": num_units, **kw}


class MnistTask(Task):
    name = "mnist"
    model: MnistModel
    description = "classify MNIST digits read row by row (28 steps of 28 pixels)"
    defaults: ClassVar[dict[str, Any]] = {
        "data_dir": None,
        "validation_size": 0,  # leading training images held back (TF's read_data_sets: 5000)
        "eval_examples": None,  # evaluate on the first N test images (None: all 10,000)
        "eval_batch": 1000,
        "augment_shift": 0,  # train on images translated by up to this many pixels
        "model": {},
    }
    settings = MNIST_SETTINGS
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {
            "description": "bidirectional BasicLSTMCell(128) reading 2 rows per step, shifts of +-2 px, "
            "batch 256, Adam 1-cycle lr 4e-3, 10 epochs",
            "model": _lstm(128, bidirectional=True, rows_per_step=2, tf_layout="default"),
            "augment_shift": 2,
            "batch_size": 256,
            "lr": 4e-3,
            "schedule": "onecycle",
            "warmup": 0.15,
            "grad_clip": 5.0,
            "epochs": 10,
            "eval_every": "epoch",
            "checkpoint_every": 200,
        },
        "seed000": {
            "description": "seed 000: dense 28->128, BasicLSTMCell(128), dense 128->10; Adam 1e-3, batch 128, 782 steps",
            "model": _lstm(
                128,
                input_dense=128,
                input_init={"init": "normal", "std": 1.0, "bias_init": 0.1},
                head_init={"init": "normal", "std": 1.0, "bias_init": 0.1},
                tf_layout="seed000",
            ),
            "batch_size": 128,
            "lr": 1e-3,
            "max_steps": 782,
            "validation_size": 5000,
            "log_every": 20,
            "eval_every": 200,
        },
        "seed001": {
            "description": "seed 001: 2 x LSTMCell(256) with output dropout keep 0.5; Adam 1e-3, batch 64, 2000 steps",
            "model": {
                "cell": "lstm",
                "num_units": 256,
                "num_layers": 2,
                "keep_prob": 0.5,
                "tf_layout": "seed001",
                "head_init": {"init": "truncated_normal", "std": 0.1, "bias_init": 0.1},
            },
            "batch_size": 64,
            "lr": 1e-3,
            "max_steps": 2000,
            "validation_size": 5000,
            "log_every": 200,
            "eval_every": 500,
        },
        "seed003-static": {
            "description": "seed 003: static_rnn BasicLSTMCell(256), Adam 0.01, batch 100; stop at test accuracy 0.90",
            "model": _lstm(
                256,
                unroll="static",
                tf_layout="seed003",
                head_init={"init": "normal", "std": 0.01, "bias_init": "normal", "bias_std": 0.1},
            ),
            "batch_size": 100,
            "lr": 0.01,
            "max_steps": 2000,
            "validation_size": 5000,
            "log_every": 10,
            "eval_every": 10,
            "stop_metric": "test_accuracy",
            "stop_at_least": 0.90,
        },
        "seed003-dynamic": {
            "description": "seed 003: dynamic_rnn BasicLSTMCell(100), Adam 1e-4, batch 100, 6 epochs",
            "model": _lstm(
                100,
                tf_layout="seed003",
                head_init={"init": "truncated_normal", "std": 0.1, "bias_init": 0.1},
            ),
            "batch_size": 100,
            "lr": 1e-4,
            "epochs": 6,
            "validation_size": 5000,
            "log_every": 100,
            "eval_every": "epoch",
        },
        "seed004": {
            "description": "seed 004: BasicRNNCell(150), dense on the final state; Adam 1e-3, batch 150, 100 epochs",
            "model": {"cell": "basic_rnn", "num_units": 150, "tf_layout": "seed004"},
            "batch_size": 150,
            "lr": 1e-3,
            "epochs": 100,
            "validation_size": 5000,
            "log_every": 100,
            "eval_every": "epoch",
            "checkpoint_every": 1000,
        },
    }

    @classmethod
    def metrics(cls, config: dict[str, Any]) -> tuple[str, ...]:
        return ("test_accuracy", "test_loss")

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        super().check_config(config)
        data = get_mnist(config.get("data_dir"))
        check_mnist_config(config, len(data.train_labels), len(data.test_labels))

    @classmethod
    def steps_per_epoch(cls, config: dict[str, Any]) -> int:
        n = len(get_mnist(config.get("data_dir")).train_labels) - config["validation_size"]
        # with N processes (torchrun) a step consumes N batches
        return max(n, 0) // (config["batch_size"] * launch_world_size())

    def __init__(self, config: dict[str, Any], data_dir: str | Path | None = None) -> None:
        super().__init__(config, data_dir)
        data = get_mnist(self.data_dir)
        n_test = config["eval_examples"] or len(data.test_labels)
        self.test_x = torch.from_numpy(np.array(data.test_images[:n_test])).to(self.device)
        self.test_y = torch.from_numpy(data.test_labels[:n_test]).to(self.device)
        self._train: tuple[torch.Tensor, torch.Tensor] | None = None
        n_train = len(data.train_labels) - config["validation_size"]
        self.sampler = EpochSampler(
            n_train, config["batch_size"], config["seed"], self.rank, self.world_size
        )

    @property
    def train_xy(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Training images (uint8) and labels on the device, made on first use (evaluate needs neither)."""
        if self._train is None:
            data, v = get_mnist(self.data_dir), self.config["validation_size"]
            self._train = (
                torch.from_numpy(np.array(data.train_images[v:])).to(self.device),
                torch.from_numpy(data.train_labels[v:]).to(self.device),
            )
        return self._train

    def export_spec(self) -> ExportSpec:
        """``images [B, 28, 28]`` (pixels in [0, 1]) → ``logits [B, 10]``; the batch stays dynamic."""
        x = torch.rand(2, 28, 28, device=self.device)
        return ExportSpec(self.model, (x,), ["images"], ["logits"], {"images": {0: "batch"}})

    def build_model(self) -> MnistModel:
        return MnistModel(self.config["model"])

    @staticmethod
    def pixels(images: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, 28, 28]`` → float ``[B, 28, 28]`` in ``[0, 1]`` (TF's read_data_sets scaling)."""
        return images.float() / 255.0

    def shifted(self, images: torch.Tensor, step: int) -> torch.Tensor:
        """Each image translated by its own random (dy, dx) in ``[-s, s]`` pixels, zeros shifted in.

        The shifts are a pure function of (seed, step), so a resumed run sees the same ones.
        """
        s = self.config["augment_shift"]
        b = images.shape[0]
        g = torch.Generator().manual_seed(self.config["seed"] * 7_919 + step)
        oy, ox = (
            torch.randint(0, 2 * s + 1, (b,), generator=g).to(images.device) for _ in range(2)
        )
        padded = nn.functional.pad(images, (s, s, s, s))  # [B, 28+2s, 28+2s]
        ar = torch.arange(28, device=images.device)
        rows, cols = oy[:, None] + ar, ox[:, None] + ar  # [B, 28] each
        return padded[
            torch.arange(b, device=images.device)[:, None, None], rows[:, :, None], cols[:, None, :]
        ]

    def train_loss(self, step: int) -> tuple[torch.Tensor, int]:
        idx = self.sampler.indices(step).to(self.device)
        train_x, train_y = self.train_xy
        x = train_x[idx]
        if self.config["augment_shift"]:
            x = self.shifted(x, step)
        logits = self.model(self.pixels(x))
        return nn.functional.cross_entropy(logits, train_y[idx]), len(idx)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, 10]`` for uint8 images ``[N, 28, 28]``, in batches (no grad)."""
        bs = self.config["eval_batch"]
        with torch.no_grad():
            return torch.cat(
                [
                    self.model(self.pixels(images[i : i + bs].to(self.device)))
                    for i in range(0, len(images), bs)
                ]
            )

    def evaluate(self) -> dict[str, float]:
        logits = self.logits(self.test_x)
        loss = nn.functional.cross_entropy(logits, self.test_y).item()
        acc = (logits.argmax(1) == self.test_y).double().mean().item()
        return {"test_accuracy": acc, "test_loss": loss}

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities ``[N, 10]`` for uint8 images ``[N, 28, 28]``."""
        self.model.eval()
        return torch.softmax(self.logits(torch.from_numpy(np.array(images))), 1).cpu().numpy()

    def step_probabilities(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities after each row ``[28, 10]`` for one uint8 image ``[28, 28]``."""
        self.model.eval()
        with torch.no_grad():
            x = self.pixels(torch.from_numpy(np.array(image[None])).to(self.device))
            return torch.softmax(self.model.step_logits(x)[0], -1).cpu().numpy()

    def make_plots(self, run_dir: Path) -> list[Path]:
        from .. import plots

        run_dir = Path(run_dir)
        files = plots.training_curves(run_dir, ["test_accuracy", "test_loss"])
        pred = self.logits(self.test_x).argmax(1).cpu().numpy()
        files.append(
            plots.confusion_matrix(
                run_dir / "confusion_matrix.png", self.test_y.cpu().numpy(), pred
            )
        )
        img = self.test_x[0].cpu().numpy()
        files.append(
            plots.step_probability_bars(
                run_dir / "step_probabilities.png",
                img,
                self.step_probabilities(img),
                int(self.test_y[0]),
                self.model.rows_per_step,
            )
        )
        return files
