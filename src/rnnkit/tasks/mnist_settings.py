"""The mnist task's settings (types and ranges: tasks/settings.py) and the checks that involve several of them
or the data (``MnistTask.check_config``)."""

from __future__ import annotations

from typing import Any

from ..train.distributed import launch_world_size
from .common import CELLS
from .settings import (
    BOOL,
    OBJECT,
    ConfigError,
    Setting,
    choice,
    either,
    init_settings,
    integer,
    number,
    optional,
)

MNIST_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "validation_size", *integer(0), "leading training images held back (< the training set)"
    ),
    Setting(
        "eval_examples",
        *optional(integer(1)),
        "evaluate on the first N test images (null: all)",
    ),
    Setting("eval_batch", *integer(1), "images per evaluation batch"),
    Setting("augment_shift", *integer(0, 27), "train on images shifted by up to this many pixels"),
    Setting("model", *OBJECT, "the model: model.cell, model.num_units, ..."),
    Setting("model.cell", *choice(*sorted(CELLS)), "the recurrent cell"),
    Setting("model.num_units", *integer(1), "units per cell"),
    Setting("model.num_layers", *integer(1), "cells stacked (MultiRNNCell)"),
    Setting(
        "model.keep_prob", *optional(number(gt=0, le=1)), "output keep probability of each cell"
    ),
    Setting(
        "model.input_dense",
        *either(optional(integer(1)), choice(0)),
        "units of a dense layer before the cells (0/null: none)",
    ),
    *init_settings("model.input_init", "the input dense layer"),
    *init_settings("model.head_init", "the output layer"),
    Setting(
        "model.tf_layout",
        *choice("default", "seed000", "seed001", "seed003", "seed004"),
        "TF variable names of this seed program",
    ),
    Setting("model.bidirectional", *BOOL, "a second cell reads the rows in reverse"),
    Setting("model.rows_per_step", *choice(1, 2, 4, 7, 14, 28), "image rows read per step"),
    Setting("model.unroll", *choice("dynamic", "static"), "dynamic_rnn or static_rnn"),
)


def check_mnist_config(config: dict[str, Any], n_train: int, n_test: int) -> None:
    """The model's required keys and layout, and the sizes against the data: ``n_train`` / ``n_test`` images."""
    m = config["model"]
    for key in ("cell", "num_units"):
        if key not in m:
            raise ConfigError(f"model.{key}: expected a value (the model has no default), got none")
    layout = m.get("tf_layout", "default")
    if layout != "default" and m.get("bidirectional"):
        raise ConfigError(
            f"model.bidirectional: expected false with model.tf_layout {layout!r} (a one-direction "
            "seed program), got true"
        )
    if layout == "seed000" and not m.get("input_dense"):
        raise ConfigError(
            "model.input_dense: expected the units of seed 000's input layer with model.tf_layout "
            f"'seed000', got {m.get('input_dense')!r}"
        )
    v, world = config["validation_size"], launch_world_size()
    if v >= n_train:
        raise ConfigError(
            f"validation_size: expected fewer than the {n_train} training images, got {v}"
        )
    if config["batch_size"] * world > n_train - v:
        procs = f" x {world} processes" if world > 1 else ""
        raise ConfigError(
            f"batch_size: expected at most the {n_train - v} training images left after "
            f"validation_size {v}, got {config['batch_size']}{procs}"
        )
    if (config["eval_examples"] or 0) > n_test:
        raise ConfigError(
            f"eval_examples: expected at most the {n_test} test images, got {config['eval_examples']}"
        )
