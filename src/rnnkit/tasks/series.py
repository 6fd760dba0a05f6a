"""Seed 004's time series ``f(t) = t·sin(t)/3 + 2·sin(5t)`` with a BasicRNNCell(relu) and a per-step projection.

Two modes:

* ``next_step`` (default): read ``f`` over a window, predict ``f`` one step ahead at every step;
  random training windows, evaluation on windows inside held-out time intervals never trained on.
* ``seed004``: the seed's own setup. The *time* ``t`` is the input and ``f(t)`` the target, on the
  single window ``linspace(12, 15, 101)[:-1]``; its check is the window shifted by one point. The
  model learns a map t → f(t) valid on [12, 15] only: ``heldout_mse`` (other t) shows it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

import rnnkit as rk

from ..data.synthetic import SeriesWindows, next_step_pairs, seed004_window, series
from ..export import ExportSpec
from ..train.distributed import own_rows
from .base import ConfigError, Task
from .common import TFDense
from .settings import Setting, choice, integer, number


def _intervals(v: Any) -> bool:
    def pair(h: Any) -> bool:
        return (
            isinstance(h, list) and len(h) == 2 and all(number()[1](x) for x in h) and h[0] < h[1]
        )

    return isinstance(v, list) and len(v) > 0 and all(pair(h) for h in v)


def _free_starts(lo: float, hi: float, span: float, heldout: list[list[float]]) -> bool:
    """Whether some window start in ``[lo, hi]`` keeps ``[start, start + span]`` clear of every interval
    (the training windows are drawn there; none left would loop forever)."""
    # the forbidden starts are the open intervals (a - span, b); sweep them in order for a gap of some length
    point = lo
    for a, b in sorted((a - span, b) for a, b in heldout):
        if min(a, hi) > point:
            return True  # [point, min(a, hi)) is free
        point = max(point, b)
    return hi > point


class SeriesModel(nn.Module):
    """``[B, T, 1]`` → BasicRNNCell(H, relu) (``dynamic_rnn``) → dense H→1 per step ``[B, T, 1]``.

    Seed 004 projects the stacked outputs ``[B*T, H]`` with one ``fully_connected`` layer (the faster
    equivalent of ``OutputProjectionWrapper``); that is what the per-step dense does here.
    """

    def __init__(self, num_units: int) -> None:
        super().__init__()
        self.cell = rk.BasicRNNCell(num_units, activation="relu", input_size=1)
        self.proj = TFDense(num_units, 1)  # fully_connected: glorot-uniform weights, zero biases

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = rk.dynamic_rnn(self.cell, x)
        return self.proj(outputs)

    def tf_variables(self) -> dict[str, nn.Parameter]:
        return {
            **rk.tf_variables(self.cell, "rnn"),
            "fully_connected/weights": self.proj.kernel,
            "fully_connected/biases": self.proj.bias,
        }


class SeriesTask(Task):
    name = "series"
    description = "time series t*sin(t)/3 + 2*sin(5t): one-step-ahead prediction with a relu RNN"
    defaults: ClassVar[dict[str, Any]] = {
        "mode": "next_step",
        "num_units": 100,
        "n_steps": 20,
        "resolution": 0.1,
        "t_min": 0.0,
        "t_max": 30.0,
        "heldout": [[6.0, 10.0], [18.0, 22.0]],
        "burn_in": 0,  # steps at the start of each window left out of the loss and test_mse
    }
    settings = (
        Setting(
            "mode", *choice("next_step", "seed004"), "next_step, or seed 004's input t -> f(t)"
        ),
        Setting("num_units", *integer(1), "units of the relu RNN cell"),
        Setting("n_steps", *integer(1), "steps per window"),
        Setting("resolution", *number(gt=0), "time between two points of a window"),
        Setting("t_min", *number(), "start of the time line"),
        Setting("t_max", *number(), "end of the time line (> t_min)"),
        Setting(
            "heldout",
            "a non-empty list of [lo, hi] intervals, lo < hi",
            _intervals,
            "time intervals never trained on; evaluation windows lie inside them",
        ),
        Setting("burn_in", *integer(0), "steps at the start of a window left out of the loss"),
    )
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {
            "description": "BasicRNNCell(100, relu) + projection, random 20-step windows, batch 50, "
            "Adam 1-cycle lr 2e-3, 3000 steps; loss and test_mse from step 5 of each window on",
            "burn_in": 5,
            "batch_size": 50,
            "lr": 2e-3,
            "schedule": "onecycle",
            "warmup": 0.1,
            "max_steps": 3000,
            "log_every": 100,
            "eval_every": 250,
            "checkpoint_every": 500,
            "grad_clip": 5.0,
        },
        "seed004": {
            "description": "seed 004 as written: input t, target f(t), one window on [12, 15], "
            "Adam 1e-3, 10,000 steps; test_mse is its shifted-window check",
            "mode": "seed004",
            "n_steps": 100,
            "resolution": 0.03,
            "batch_size": 1,
            "lr": 1e-3,
            "max_steps": 10000,
            "log_every": 500,
            "eval_every": 1000,
            "checkpoint_every": 1000,
        },
    }

    model: SeriesModel

    @classmethod
    def metrics(cls, config: dict[str, Any]) -> tuple[str, ...]:
        if config["mode"] == "seed004":
            return ("test_mse", "train_mse", "heldout_mse")
        return ("test_mse", "test_mse_all_steps") if config["burn_in"] else ("test_mse",)

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        super().check_config(config)
        c = config
        # seed 004 trains on its one 100-step window, and evaluates n_steps windows too
        n = min(100, c["n_steps"]) if c["mode"] == "seed004" else c["n_steps"]
        if c["burn_in"] >= n:
            raise ConfigError(
                f"burn_in: expected fewer steps than a window has ({n}), got {c['burn_in']}: "
                "the loss would have no step left"
            )
        if c["t_max"] <= c["t_min"]:
            raise ConfigError(f"t_max: expected more than t_min={c['t_min']}, got {c['t_max']}")
        span = c["n_steps"] * c["resolution"]
        if span > c["t_max"] - c["t_min"]:
            raise ConfigError(
                f"n_steps x resolution: expected a window ({span:g}) no longer than t_max - t_min "
                f"({c['t_max'] - c['t_min']:g})"
            )
        if not _free_starts(c["t_min"], c["t_max"] - span, span, c["heldout"]):
            raise ConfigError(
                f"heldout: expected room for {span:g}-long training windows outside the held-out "
                f"intervals within [{c['t_min']:g}, {c['t_max']:g}], got {c['heldout']}"
            )
        # as many evaluation windows as SeriesWindows.test_times makes
        n_eval = sum(
            max(math.floor((hi - lo - span) / c["resolution"] + 1e-9) + 1, 0)
            for lo, hi in c["heldout"]
        )
        if n_eval == 0:
            raise ConfigError(
                f"heldout: expected an interval at least one window ({span:g}) long, got {c['heldout']}"
            )
        if n_eval * (c["n_steps"] + 1) > 10**7:
            raise ConfigError(
                f"heldout and resolution: expected at most 10,000,000 evaluation points, got "
                f"{n_eval} windows of {c['n_steps'] + 1} points"
            )

    def __init__(self, config: dict[str, Any], data_dir: str | Path | None = None) -> None:
        super().__init__(config, data_dir)
        c = config
        self.windows = SeriesWindows(
            c["n_steps"], c["resolution"], c["t_min"], c["t_max"], c["heldout"]
        )

    def export_spec(self) -> ExportSpec:
        """``x [B, T, 1]`` → ``y [B, T, 1]``; batch and time stay dynamic on the fused path."""
        x = torch.rand(2, self.config["n_steps"], 1, device=self.device)
        return ExportSpec(self.model, (x,), ["x"], ["y"], {"x": {0: "batch", 1: "time"}})

    def build_model(self) -> SeriesModel:
        return SeriesModel(self.config["num_units"])

    def _t(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32, device=self.device)

    def _pairs(self, times: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config["mode"] == "seed004":  # input t, target f(t)
            t = times[:, :-1, None]
            return self._t(t), self._t(series(t))
        x, y = next_step_pairs(times)
        return self._t(x), self._t(y)

    def train_loss(self, step: int) -> tuple[torch.Tensor, int]:
        if self.config["mode"] == "seed004":
            t0, f0 = seed004_window(0)
            x, y = self._t(t0), self._t(f0)
        else:
            # the global batch; this process's rows of it
            bs = self.config["batch_size"] * self.world_size
            times = self.windows.train_times(bs, self.config["seed"], step)[own_rows(bs)]
            x, y = self._pairs(times)
        return self._loss(self.model(x), y), x.shape[0]

    def _loss(
        self, pred: torch.Tensor, y: torch.Tensor, burn_in: int | None = None
    ) -> torch.Tensor:
        """MSE over steps ``t >= burn_in``: the first steps of a window have no past to read from."""
        k = self.config["burn_in"] if burn_in is None else burn_in
        return nn.functional.mse_loss(pred[:, k:], y[:, k:])

    def _mse(self, x: torch.Tensor, y: torch.Tensor, burn_in: int | None = None) -> float:
        return self._loss(self.model(x), y, burn_in).item()

    def evaluate(self) -> dict[str, float]:
        pairs = self._pairs(self.windows.test_times())
        heldout = self._mse(*pairs)
        if self.config["mode"] == "seed004":
            t0, f0 = seed004_window(0)
            t1, f1 = seed004_window(1)
            train = self._mse(self._t(t0), self._t(f0))
            shifted = self._mse(self._t(t1), self._t(f1))
            return {"test_mse": shifted, "train_mse": train, "heldout_mse": heldout}
        if self.config["burn_in"]:
            return {"test_mse": heldout, "test_mse_all_steps": self._mse(*pairs, burn_in=0)}
        return {"test_mse": heldout}

    def make_plots(self, run_dir: Path) -> list[Path]:
        from .. import plots

        run_dir = Path(run_dir)
        files = plots.training_curves(run_dir, ["test_mse"])
        self.model.eval()
        with torch.no_grad():
            if self.config["mode"] == "seed004":
                # consecutive 100-point windows over 9..18: the fit holds on [12, 15] only
                t = 9.0 + 0.03 * np.arange(300)
                pred = self.model(self._t(t.reshape(3, 100, 1))).reshape(-1).cpu().numpy()
                tw, _ = seed004_window(1)
                shifted = self.model(self._t(tw)).reshape(-1).cpu().numpy()
                files.append(
                    plots.series_prediction(
                        run_dir / "series_prediction.png",
                        t,
                        series(t),
                        pred,
                        train_span=(12.0, 15.0),
                        extra=(tw.reshape(-1), shifted, "shifted window"),
                        title="seed 004: input t, output f(t): right on [12, 15] only",
                    )
                )
            else:
                times = self.windows.test_times()[0]
                t_all = np.linspace(self.config["t_min"], self.config["t_max"], 1000)
                x, _ = self._pairs(times[None])
                pred = self.model(x).reshape(-1).cpu().numpy()
                files.append(
                    plots.series_prediction(
                        run_dir / "series_prediction.png",
                        times[1:],
                        series(times[1:]),
                        pred,
                        curve=(t_all, series(t_all)),
                        heldout=self.config["heldout"],
                        burn_in_until=times[self.config["burn_in"]]
                        if self.config["burn_in"]
                        else None,
                    )
                )
        return files
