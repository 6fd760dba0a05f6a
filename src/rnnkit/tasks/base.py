"""What every task shares: configuration (defaults → preset → user overrides), optimizer, loop settings.

A task object implements :class:`rnnkit.train.Trainable` (``model``, ``train_loss``, ``evaluate``,
``extra_state``/``load_extra_state``, ``snapshot``) and knows its plots and predictions.
The configuration is a flat JSON-able dict; ``config.json`` of a run holds it in full.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..export import ExportSpec
from ..train import LoopConfig
from ..train.distributed import process_rank
from .settings import COMMON, ConfigError, Setting, check_settings

# Settings every task has (a preset or the user may override any of them).
COMMON_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "cpu",
    "epochs": None,
    "max_steps": None,
    "batch_size": 128,
    "lr": 1e-3,
    "schedule": "constant",
    "warmup": 0.0,
    "grad_clip": None,
    "log_every": 50,
    "eval_every": 0,
    "checkpoint_every": 500,
    "stop_metric": None,
    "stop_at_least": None,
    "tensorboard": True,
    "precision": "32",
}

LOOP_KEYS = (
    "lr",
    "schedule",
    "warmup",
    "grad_clip",
    "log_every",
    "eval_every",
    "checkpoint_every",
    "stop_metric",
    "stop_at_least",
    "tensorboard",
    "precision",
)


def _merge(into: dict[str, Any], src: dict[str, Any]) -> None:
    """``into`` updated by ``src``, nested objects merged key by key (``model.head_init.std`` keeps the rest)."""
    for k, v in src.items():
        if v is None:
            continue
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            into[k] = copy.deepcopy(into[k])
            _merge(into[k], v)
        else:
            into[k] = v


class Task:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    presets: ClassVar[dict[str, dict[str, Any]]] = {}  # name -> {"description": ..., **settings}
    settings: ClassVar[
        tuple[Setting, ...]
    ] = ()  # the task's own settings (tasks/settings.py has the common ones)
    # What the training loop calls (rnnkit.train.Trainable): declared for the type checker; each task defines them.
    train_loss: Callable[[int], tuple[torch.Tensor, int]]
    evaluate: Callable[[], dict[str, float]]

    # ---- configuration -------------------------------------------------------------------------
    @classmethod
    def steps_per_epoch(cls, config: dict[str, Any]) -> int | None:
        """Steps in one pass over the training data, or None when the data is endless."""
        return None

    @classmethod
    def resolve_config(
        cls, preset: str = "default", overrides: dict[str, Any] | None = None
    ) -> dict:
        """defaults → preset → overrides, then ``epochs`` turned into ``max_steps``."""
        if preset not in cls.presets:
            raise ConfigError(
                f"unknown preset {preset!r} for task {cls.name}; choose from {', '.join(cls.presets)}"
            )
        cfg: dict[str, Any] = {**COMMON_DEFAULTS, **copy.deepcopy(cls.defaults)}
        p = {k: v for k, v in copy.deepcopy(cls.presets[preset]).items() if k != "description"}
        for src in (p, overrides or {}):
            # the task and the preset are named on the command line, not set
            named: dict[str, Any] = {k: src[k] for k in ("task", "preset") if k in src}
            check_settings((*COMMON, *cls.settings), named, cls.name)
            if src.get("epochs") is not None:
                cfg["max_steps"] = None
            if src.get("max_steps") is not None:
                cfg["epochs"] = None
            _merge(cfg, src)
        cfg["task"], cfg["preset"] = cls.name, preset
        cls.check(cfg)
        spe = cls.steps_per_epoch(cfg)
        if cfg["max_steps"] is None:
            if cfg["epochs"] is None:
                raise ConfigError(f"task {cls.name}: give --epochs N or --max-steps N")
            if spe is None:
                raise ConfigError(
                    f"task {cls.name} has no epochs (its data is endless); use --max-steps N"
                )
            max_steps = int(
                cfg["epochs"] * spe
            )  # a local: mypy keeps cfg["max_steps"] narrowed to None
            cfg["max_steps"] = max_steps
            if max_steps < 1:
                raise ConfigError(
                    f"--epochs {cfg['epochs']} gives no step (one epoch is {spe} steps)"
                )
        if cfg["eval_every"] == "epoch":
            cfg["eval_every"] = spe or 0
        return cfg

    @classmethod
    def check(cls, config: dict[str, Any]) -> None:
        """Every key and value of a configuration, nested ones included (tasks/settings.py), then the checks
        across settings; raises :class:`ConfigError` on the first mistake."""
        settings = {k: v for k, v in config.items() if k not in ("task", "preset")}
        check_settings((*COMMON, *cls.settings), settings, cls.name)
        cls.check_config(config)

    @classmethod
    def metrics(cls, config: dict[str, Any]) -> tuple[str, ...]:
        """The names of the metrics ``evaluate`` reports with this configuration."""
        return ()

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        """Checks that involve several settings (each one alone passed its :class:`Setting` check)."""
        metric, least = config["stop_metric"], config["stop_at_least"]
        if metric is not None and metric not in cls.metrics(config):
            known = ", ".join(cls.metrics(config))
            raise ConfigError(
                f"stop_metric: expected a metric task {cls.name} reports ({known}), got {metric!r}"
            )
        if (metric is None) != (least is None):
            raise ConfigError(
                "stop_metric and stop_at_least: expected both or neither, "
                f"got stop_metric={metric!r}, stop_at_least={least!r}"
            )

    # ---- construction --------------------------------------------------------------------------
    def __init__(self, config: dict[str, Any], data_dir: str | Path | None = None) -> None:
        self.config = config
        self.device = torch.device(config["device"])
        self.data_dir = data_dir if data_dir is not None else config.get("data_dir")
        # In a torchrun launch each process trains on its share of every global batch (train/distributed.py).
        self.rank, self.world_size = process_rank()
        torch.manual_seed(config["seed"])  # model initialisation, dropout masks
        self.model: torch.nn.Module = self.build_model().to(self.device)

    def build_model(self) -> torch.nn.Module:
        raise NotImplementedError

    def make_optimizer(self) -> torch.optim.Optimizer:
        # All seed programs use Adam with TF's defaults (beta1 0.9, beta2 0.999, epsilon 1e-8).
        return torch.optim.Adam(self.model.parameters(), lr=self.config["lr"], eps=1e-8)

    def loop_config(self, tty: bool | None = None) -> LoopConfig:
        return LoopConfig(
            max_steps=self.config["max_steps"], tty=tty, **{k: self.config[k] for k in LOOP_KEYS}
        )

    # ---- Trainable defaults --------------------------------------------------------------------
    def extra_state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def snapshot(self, step: int) -> dict[str, Any] | None:
        """None: no snapshots (a task that draws training progress returns a JSON-able record)."""
        return None

    # ---- outputs -------------------------------------------------------------------------------
    def export_spec(self) -> ExportSpec:
        """The trained model as a plain function of tensors, for ``rnnkit export`` (``rnnkit.export``)."""
        raise ConfigError(f"task {self.name} has no export")

    def make_plots(self, run_dir: Path) -> list[Path]:
        """Write this task's PNG/GIF figures into ``run_dir``; returns the files written."""
        return []
