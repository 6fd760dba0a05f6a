"""Seed 000's regression: read sin(x), output cos(x) at every step, with the state carried across windows.

Truncated back-propagation through time: window k+1 of the stream continues window k row by row
(see :func:`rnnkit.data.synthetic.sine_batch`), so the final state of window k, detached from its
graph, is the initial state of window k+1. Evaluation continues the stream past the last training
window (windows never trained on) from the carried state, without updating it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

import rnnkit as rk

from ..data.synthetic import sine_batch
from ..export import ExportSpec
from ..train.checkpoint import CheckpointFileError
from ..train.distributed import gather_rows, own_rows
from ..train.rundir import read_jsonl
from .base import Task
from .common import TFDense, state_to_tensors, tensors_to_state
from .settings import Setting, init_settings, integer


class SineModel(nn.Module):
    """``[B, T, 1]`` → dense 1→H → BasicLSTMCell(H) → dense H→1 per step ``[B, T, 1]``.

    The recurrent layer is a stateful ``rk.RNN``: each call starts from the final state of the previous one
    (detached: truncated back-propagation through time), as seed 000 fed ``final_state`` back as
    ``initial_state``. ``forward(x, state)`` with an explicit state (export) starts from that state instead.
    """

    def __init__(self, cell_size: int, init: dict[str, Any]) -> None:
        super().__init__()
        self.in_hidden = TFDense(1, cell_size, **init)
        cell = rk.BasicLSTMCell(cell_size, forget_bias=1.0, input_size=cell_size)
        self.rnn = rk.RNN(cell, stateful=True)
        self.out_hidden = TFDense(cell_size, 1, **init)

    @property
    def cell(self) -> rk.BasicLSTMCell:
        return self.rnn.cell  # type: ignore[return-value]

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        outputs, final = self.rnn(self.in_hidden(x), initial_state=state)
        return self.out_hidden(outputs), final

    def tf_variables(self) -> dict[str, nn.Parameter]:
        """Seed 000's names: ``in_hidden/weights``, ``LSTM_cell/rnn/basic_lstm_cell/kernel``, ..."""
        return {
            "in_hidden/weights": self.in_hidden.kernel,
            "in_hidden/biases": self.in_hidden.bias,
            **rk.tf_variables(self.cell, "LSTM_cell/rnn"),
            "out_hidden/weights": self.out_hidden.kernel,
            "out_hidden/biases": self.out_hidden.bias,
        }


def _squared_error(labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return (labels - logits) ** 2  # seed 000's ``ms_error``, its "softmax_loss_function"


def seed_cost(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Seed 000's cost: ``legacy_seq2seq.sequence_loss_by_example`` over the flattened predictions, with the
    squared error as its loss function and unit weights (so each entry is its squared error), summed.

    The seed divided that sum by the batch size, T times the mean; here it is divided by all ``B * T``
    entries: the mean squared error, the loss the presets' learning rates and reported numbers were made with.
    """
    flat_pred, flat_y = pred.reshape(-1), y.reshape(-1)
    losses = rk.legacy_seq2seq.sequence_loss_by_example(
        [flat_pred],
        [flat_y],
        [torch.ones_like(flat_y)],
        average_across_timesteps=True,
        softmax_loss_function=_squared_error,
    )
    return losses.sum() / flat_y.numel()


class SineStream(nn.Module):
    """The sine model as a function of tensors only (for export): ``(x [B, T, 1], c [B, H], h [B, H])`` →
    ``(y [B, T, 1], c' [B, H], h' [B, H])``; a server carries ``c, h`` from call to call as training did."""

    def __init__(self, model: SineModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, x: torch.Tensor, c: torch.Tensor, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y, final = self.model(x, rk.LSTMStateTuple(c, h))
        return y, final.c, final.h


class SineTask(Task):
    name = "sine"
    model: SineModel
    description = "sin(x) -> cos(x) per step, state carried from window to window (truncated BPTT)"
    defaults: ClassVar[dict[str, Any]] = {
        "time_steps": 20,
        "cell_size": 10,
        "test_windows": 50,
        "init": {"init": "normal", "std": 1.0, "bias_init": 0.1},
    }
    settings = (
        Setting("time_steps", *integer(1), "steps per training window"),
        Setting("cell_size", *integer(1), "units of the LSTM cell"),
        Setting("test_windows", *integer(1), "windows evaluated after the last training one"),
        *init_settings("init", "the dense layers"),
    )
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {
            "description": "BasicLSTMCell(32), windows 20 x 50, Adam 1-cycle lr 0.01, 2000 steps",
            "cell_size": 32,
            "batch_size": 50,
            "lr": 0.01,
            "schedule": "onecycle",
            "warmup": 0.1,
            "max_steps": 2000,
            "log_every": 100,
            "eval_every": 100,
            "checkpoint_every": 500,
        },
        "seed000": {
            "description": "seed 000: BasicLSTMCell(10), windows 20 x 50, Adam 0.006, 1000 steps",
            "cell_size": 10,
            "batch_size": 50,
            "lr": 0.006,
            "max_steps": 1000,
            "log_every": 20,
            "eval_every": 25,
            "checkpoint_every": 500,
        },
    }

    @classmethod
    def metrics(cls, config: dict[str, Any]) -> tuple[str, ...]:
        return ("test_mse",)

    def __init__(self, config: dict[str, Any], data_dir: str | Path | None = None) -> None:
        super().__init__(config, data_dir)
        # The stateful layer carries the state from window to window (train_loss may call the model through a
        # DDP wrapper, so the layer is kept here too).
        self.stream: rk.RNN = self.model.rnn
        self.stream.state = self._zero_state()
        self.next_step = 0

    @property
    def carry(self) -> Any:
        """The state carried into the next training window (the stateful layer's)."""
        return self.stream.state

    def export_spec(self) -> ExportSpec:
        """``SineStream``: one window and the carried state in, predictions and the next state out."""
        x = torch.rand(2, self.config["time_steps"], 1, device=self.device)
        c, h = self.model.cell.zero_state(2, device=self.device)
        dynamic = {"x": {0: "batch", 1: "time"}, "c": {0: "batch"}, "h": {0: "batch"}}
        return ExportSpec(
            SineStream(self.model).eval(),
            (x, c, h),
            ["x", "c", "h"],
            ["y", "c_out", "h_out"],
            dynamic,
        )

    def build_model(self) -> SineModel:
        return SineModel(self.config["cell_size"], self.config["init"])

    def _zero_state(self) -> Any:
        return self.model.cell.zero_state(self.config["batch_size"], device=self.device)

    def _window(self, step: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        # Several processes: this process's rows of the global batch (batch_size rows per process), so each
        # one carries the states of its own rows, as one process would carry all of them.
        bs = self.config["batch_size"]
        x, y, xs = sine_batch(step, bs * self.world_size, self.config["time_steps"])
        rows = own_rows(bs * self.world_size)
        x, y, xs = x[rows], y[rows], xs[rows]

        def as_t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.float32, device=self.device)

        return as_t(x), as_t(y), xs

    def train_loss(self, step: int) -> tuple[torch.Tensor, int]:
        x, y, _ = self._window(step)
        pred, _ = self.model(x)  # from the carried state; the layer keeps the new one
        self.next_step = step + 1
        return seed_cost(pred, y), x.shape[0]

    def _rollout(self, n_windows: int) -> list[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
        """Predictions on the next ``n_windows`` windows from the carried state (which is not changed)."""
        kept, out = self.stream.state, []
        try:
            for k in range(self.next_step, self.next_step + n_windows):
                x, y, xs = self._window(k)
                pred, _ = self.model(x)
                out.append((xs, y, pred))
        finally:
            self.stream.state = kept
        return out

    def evaluate(self) -> dict[str, float]:
        se = [
            ((p - y) ** 2).mean().item() for _, y, p in self._rollout(self.config["test_windows"])
        ]
        return {"test_mse": sum(se) / len(se)}

    def snapshot(self, step: int) -> dict[str, Any]:
        """Row 0 of the next window, predicted from the carried state (one GIF frame per evaluation)."""
        ((xs, y, pred),) = self._rollout(1)
        return {"xs": xs[0].tolist(), "true": y[0, :, 0].tolist(), "pred": pred[0, :, 0].tolist()}

    def extra_state(self) -> dict[str, torch.Tensor]:
        # every process's rows of the carried state, in rank order (a collective: all ranks call it)
        carry = rk.nest.map_structure(gather_rows, self.carry)
        return {**state_to_tensors("carry", carry), "next_step": torch.tensor(self.next_step)}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        bs, rows = self.config["batch_size"], own_rows(self.config["batch_size"] * self.world_size)
        for i in range(len(rk.nest.flatten(self.carry))):
            # a checkpoint's extra tensors name their file when one is missing
            _ = state[f"carry/{i}"]
        carried = tuple(state["carry/0"].shape)  # [rows, cell_size]
        if carried != (bs * self.world_size, self.config["cell_size"]):
            procs = f" x {self.world_size} processes" if self.world_size > 1 else ""
            raise CheckpointFileError(
                f"sine: the checkpoint carries a state of shape {list(carried)} (rows, units), this run has "
                f"batch_size {bs}{procs} and cell_size {self.config['cell_size']}; resume with the batch_size, "
                "cell_size and number of processes the run was trained with"
            )
        self.stream.state = tensors_to_state(
            "carry",
            {k: v[rows].to(self.device) for k, v in state.items() if k.startswith("carry/")},
            self._zero_state(),
        )
        self.next_step = int(state["next_step"])

    def make_plots(self, run_dir: Path) -> list[Path]:
        from .. import plots

        run_dir = Path(run_dir)
        # a damaged snapshot line fails before any figure is (re)drawn
        read_jsonl(run_dir / "snapshots.jsonl", lists=("xs", "true", "pred"))
        files = plots.training_curves(run_dir, ["test_mse"])
        self.model.eval()
        with torch.no_grad():
            roll = self._rollout(min(10, self.config["test_windows"]))
        xs = [v for r in roll for v in r[0][0]]
        true = [v for r in roll for v in r[1][0, :, 0].tolist()]
        pred = [v for r in roll for v in r[2][0, :, 0].tolist()]
        files.append(plots.sine_prediction(run_dir / "sine_prediction.png", xs, true, pred))
        gif = plots.sine_gif(run_dir / "sine_training.gif", run_dir / "snapshots.jsonl")
        if gif is not None:
            files.append(gif)
        return files
