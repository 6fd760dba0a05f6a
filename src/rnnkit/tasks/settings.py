"""Every setting a run can have: its name, its type and range, one line of help; and the one check of a config.

A task's settings are :data:`COMMON` plus the table its class declares (``Task.settings``). A nested setting
(``model.cell``) is named with dots; a setting whose type is :data:`OBJECT` holds such nested settings. The same
check (:func:`check_settings`) runs on the task defaults with a preset, on ``--set`` and ``import-tf --set``
overrides and on an edited ``config.json``, before anything is written into a run directory; a mistake raises
:class:`ConfigError` whose message names the setting, what it expects and what it got.
"""

from __future__ import annotations

import difflib
import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..train.schedule import SCHEDULES


class ConfigError(ValueError):
    """A user mistake in the requested configuration (the CLI reports it with exit code 2)."""


@dataclass(frozen=True)
class Setting:
    """One setting: ``name`` (dotted when nested), ``type`` (what it expects, in words), ``check``, ``help``."""

    name: str
    type: str
    check: Callable[[Any], bool]
    help: str


Kind = tuple[str, Callable[[Any], bool]]  # (what it expects, in words; the check)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # JSON true is no number


def _is_number(v: Any) -> bool:
    # the loop computes with floats: an int must convert to a finite one (10**400 does not)
    return (_is_int(v) and abs(v) <= sys.float_info.max) or (
        isinstance(v, float) and math.isfinite(v)
    )


def integer(lo: int | None = None, hi: int | None = None) -> Kind:
    """An integer in ``[lo, hi]`` (either end open when None)."""
    what = "an integer" + (
        f" in [{lo}, {hi}]"
        if lo is not None and hi is not None
        else f" >= {lo}"
        if lo is not None
        else ""
    )
    return what, lambda v: _is_int(v) and (lo is None or v >= lo) and (hi is None or v <= hi)


def number(gt: float | None = None, ge: float | None = None, le: float | None = None) -> Kind:
    """A finite number (an integer or a float, not a bool) with the given bounds."""
    parts = (
        [f"> {gt}"] * (gt is not None)
        + [f">= {ge}"] * (ge is not None)
        + [f"<= {le}"] * (le is not None)
    )
    what = "a finite number" + (" " + " and ".join(parts) if parts else "")
    return (
        what,
        lambda v: (
            _is_number(v)
            and (gt is None or v > gt)
            and (ge is None or v >= ge)
            and (le is None or v <= le)
        ),
    )


def choice(*values: Any) -> Kind:
    """One of ``values`` (of the same type: JSON ``true`` is not the choice ``1``)."""
    return "one of " + ", ".join(map(repr, values)), lambda v: any(
        type(v) is type(x) and v == x for x in values
    )


def optional(kind: Kind) -> Kind:
    return f"null or {kind[0]}", lambda v: v is None or kind[1](v)


def either(a: Kind, b: Kind) -> Kind:
    return f"{a[0]} or {b[0]}", lambda v: a[1](v) or b[1](v)


BOOL: Kind = ("true or false", lambda v: isinstance(v, bool))
TEXT: Kind = ("a string", lambda v: isinstance(v, str))
OBJECT: Kind = ("an object of settings", lambda v: isinstance(v, dict))


def _device(v: Any) -> bool:
    if v in ("cpu", "cuda"):
        return True
    kind, _, index = v.partition(":") if isinstance(v, str) else ("", "", "")
    return kind == "cuda" and index.isascii() and index.isdigit()


def init_settings(prefix: str, what: str) -> tuple[Setting, ...]:
    """The settings of one dense layer's initialiser (``TFDense``'s keyword arguments) under ``prefix``."""
    return (
        Setting(prefix, *OBJECT, f"initialiser of {what}"),
        Setting(
            f"{prefix}.init", *choice("normal", "truncated_normal", "glorot"), "weight initialiser"
        ),
        Setting(f"{prefix}.std", *number(gt=0), "standard deviation of the weights"),
        Setting(
            f"{prefix}.bias_init",
            *either(choice("zeros", "normal"), number()),
            "bias initialiser: zeros, normal (std bias_std) or a constant",
        ),
        Setting(f"{prefix}.bias_std", *number(ge=0), "standard deviation of normal biases"),
    )


COMMON: tuple[Setting, ...] = (
    Setting("seed", *integer(0, 2**32 - 1), "random seed; CPU runs repeat exactly"),
    Setting("device", "'cpu', 'cuda' or 'cuda:N'", _device, "where to train"),
    Setting("epochs", *optional(integer(1)), "passes over the training data (tasks with epochs)"),
    Setting("max_steps", *optional(integer(1)), "number of optimizer steps"),
    Setting("batch_size", *integer(1), "examples per step (per process)"),
    Setting("lr", *number(gt=0), "(peak) learning rate"),
    Setting("schedule", *choice(*SCHEDULES), "learning-rate schedule"),
    Setting("warmup", *number(ge=0, le=1), "fraction of the steps spent warming up"),
    Setting(
        "grad_clip", *optional(number(gt=0)), "clip the gradient norm to this (null: no clipping)"
    ),
    Setting("log_every", *integer(1), "steps between training-loss records"),
    Setting(
        "eval_every",
        *either(integer(0), choice("epoch")),
        "steps between evaluations (0: at the end only; epoch: once per epoch)",
    ),
    Setting("checkpoint_every", *integer(0), "steps between checkpoints (0: at the end only)"),
    Setting("stop_metric", *optional(TEXT), "stop once this evaluation metric ..."),
    Setting("stop_at_least", *optional(number()), "... reaches at least this value"),
    Setting("tensorboard", *BOOL, "write TensorBoard events"),
    Setting("precision", *choice("32", "bf16", "16-mixed"), "arithmetic precision"),
    Setting("data_dir", *optional(TEXT), "directory of the data files (mnist)"),
)


def show(value: Any) -> str:
    """A value as the user wrote it: JSON's true/false/null, Python's repr otherwise."""
    return json.dumps(value) if value is None or isinstance(value, bool) else repr(value)


def check_settings(table: Iterable[Setting], cfg: Mapping[str, Any], task: str) -> None:
    """Check every key of ``cfg`` (nested objects included) against ``table``; raise ConfigError on the first
    unknown key or bad value."""
    by_name = {s.name: s for s in table}
    _check_level(by_name, cfg, "", task)


def _check_level(
    by_name: dict[str, Setting], cfg: Mapping[str, Any], prefix: str, task: str
) -> None:
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        setting = by_name.get(name)
        if setting is None:
            raise ConfigError(_unknown(by_name, name, prefix, task))
        if not setting.check(value):
            raise ConfigError(f"{name}: expected {setting.type}, got {show(value)}")
        if setting.type == OBJECT[0]:
            _check_level(by_name, value, f"{name}.", task)


def _unknown(by_name: dict[str, Setting], name: str, prefix: str, task: str) -> str:
    # the settings at the same level as the unknown one ("model.cel" -> model.cell, model.num_units, ...)
    level = sorted(n for n in by_name if n.startswith(prefix) and "." not in n[len(prefix) :])
    close = difflib.get_close_matches(name, level, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown setting {name!r} for task {task}{hint}; known: {', '.join(level)}"
