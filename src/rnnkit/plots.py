"""Figures of a run, drawn headless (matplotlib's Agg backend) into the run directory.

Each function takes plain arrays (or reads the run's JSONL files), writes one file and returns its
path; the tasks decide what to draw. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .train.rundir import read_jsonl


def _read_jsonl(path: Path, lists: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    # rundir.read_jsonl: a torn last line (a kill during an append) is dropped, other damage names the file.
    return read_jsonl(path, lists)


def _save(fig: Any, path: Path, tight: bool = True) -> Path:
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def training_curves(run_dir: Path, eval_keys: Sequence[str]) -> list[Path]:
    """``loss.png``: training loss per logged step, plus one panel per evaluation metric present."""
    recs = _read_jsonl(Path(run_dir) / "metrics.jsonl")
    train = [r for r in recs if r.get("kind") == "train"]
    evals = [r for r in recs if r.get("kind") == "eval"]
    keys = [k for k in eval_keys if any(k in r for r in evals)]
    fig, axes = plt.subplots(1, 1 + len(keys), figsize=(4.5 * (1 + len(keys)), 3.4), squeeze=False)
    ax = axes[0, 0]
    ax.plot([r["step"] for r in train], [r["loss"] for r in train], color="tab:blue")
    ax.set(xlabel="step", ylabel="training loss", title="training loss")
    if train and min(r["loss"] for r in train) > 0:
        ax.set_yscale("log")
    for ax, k in zip(axes[0, 1:], keys):
        pts = [(r["step"], r[k]) for r in evals if k in r]
        ax.plot(*zip(*pts), marker="o", ms=3, color="tab:orange")
        ax.set(xlabel="step", title=k)
        if "mse" in k and min(v for _, v in pts) > 0:
            ax.set_yscale("log")
    return [_save(fig, Path(run_dir) / "loss.png")]


def confusion_matrix(path: Path, labels: np.ndarray, pred: np.ndarray, n: int = 10) -> Path:
    """Counts of (true class, predicted class) with the per-class accuracy on the diagonal labels."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    fig, ax = plt.subplots(figsize=(5.6, 5))
    im = ax.imshow(np.log1p(cm), cmap="Blues")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if cm[i, j] > cm.max() / 3 else "black",
                )
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xlabel="predicted",
        ylabel="true",
        title=f"confusion matrix (accuracy {acc:.4f})",
    )
    fig.colorbar(im, ax=ax, fraction=0.046, label="log(1 + count)")
    return _save(fig, path)


def step_probability_bars(
    path: Path, image: np.ndarray, probs: np.ndarray, label: int, rows_per_step: int = 1
) -> Path:
    """Seed 001's figure: class probabilities after each of the 28 rows (4×7 bars), the digit beside."""
    t = probs.shape[0]
    fig = plt.figure(figsize=(13, 5))
    grid = fig.add_gridspec(4, 7 + 3)
    ax = fig.add_subplot(grid[:, :3])
    ax.imshow(image, cmap="gray")
    ax.set_title(f"test image (label {label})")
    ax.axis("off")
    for i in range(min(t, 28)):
        a = fig.add_subplot(grid[i // 7, 3 + i % 7])
        top = int(probs[i].argmax())
        colors = np.tile(
            [0.12, 0.47, 0.71, 1.0], (probs.shape[1], 1)
        )  # RGBA: no colour-name parsing
        colors[top] = [0.84, 0.15, 0.16, 1.0]
        a.bar(np.arange(probs.shape[1]), probs[i], color=colors, width=0.6)
        a.set_ylim(0, 1)
        a.set_xticks([])
        a.set_yticks([])
        # text placed by hand: 28 titles and tick labels make layout the slowest part of the figure
        k = rows_per_step
        where = f"row {i + 1}" if k == 1 else f"rows {i * k + 1}-{(i + 1) * k}"
        a.text(0.03, 0.97, f"{where}: {top}", transform=a.transAxes, fontsize=7, va="top")
    fig.suptitle("class probabilities after each row (bars: digits 0-9, red: most likely)")
    fig.subplots_adjust(left=0.02, right=0.99, bottom=0.03, top=0.92, wspace=0.15, hspace=0.15)
    return _save(fig, path, tight=False)


def sine_prediction(
    path: Path, xs: Sequence[float], true: Sequence[float], pred: Sequence[float]
) -> Path:
    """Predicted vs true cos over consecutive test windows (row 0 of each)."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.plot(xs, true, "r", label="cos (true)")
    ax.plot(xs, pred, "b--", label="prediction")
    ax.set(ylim=(-1.2, 1.2), xlabel="x", title="sin → cos on windows never trained on")
    ax.legend(loc="upper right")
    return _save(fig, path)


def sine_gif(path: Path, snapshots: Path) -> Path | None:
    """How the prediction on the next window evolved during training (one frame per snapshot)."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    snaps = _read_jsonl(Path(snapshots), lists=("xs", "true", "pred"))
    if not snaps:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.2))
    (l_true,) = ax.plot([], [], "r", label="cos (true)")
    (l_pred,) = ax.plot([], [], "b--", label="prediction")
    ax.set_ylim(-1.2, 1.2)
    ax.legend(loc="upper right")

    def draw(i: int) -> tuple[Any, Any]:
        s = snaps[i]
        l_true.set_data(s["xs"], s["true"])
        l_pred.set_data(s["xs"], s["pred"])
        ax.set_xlim(s["xs"][0], s["xs"][-1])
        ax.set_title(f"step {s['step']}")
        return l_true, l_pred

    anim = FuncAnimation(fig, draw, frames=len(snaps), blit=False)
    anim.save(str(path), writer=PillowWriter(fps=5))
    plt.close(fig)
    return Path(path)


def series_prediction(
    path: Path,
    t: Any,
    true: Any,
    pred: Any,
    *,
    curve: tuple[Any, Any] | None = None,
    heldout: Sequence[Sequence[float]] = (),
    train_span: tuple[float, float] | None = None,
    extra: tuple[Any, Any, str] | None = None,
    title: str = "one-step-ahead prediction on a held-out window",
    burn_in_until: float | None = None,
) -> Path:
    """Prediction vs truth over time.

    ``curve``: ``(t, f)`` of the whole series for context (held-out intervals shaded);
    ``train_span``: the interval a model was trained on (shaded); ``extra``: ``(t, pred, label)``.
    """
    panels = 2 if curve is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 3.6), squeeze=False)
    if curve is not None:
        ax = axes[0, 0]
        ax.plot(*curve, color="gray", lw=1, label="series")
        for i, (lo, hi) in enumerate(heldout):
            ax.axvspan(lo, hi, color="tab:orange", alpha=0.2, label="held out" if i == 0 else None)
        ax.plot(t, true, "r", lw=2, label="window shown")
        ax.set(xlabel="t", title="t·sin(t)/3 + 2·sin(5t)")
        ax.legend(fontsize=7)
    ax = axes[0, -1]
    if train_span is not None:
        ax.axvspan(*train_span, color="tab:green", alpha=0.15, label="trained on")
    if burn_in_until is not None:
        ax.axvspan(t[0], burn_in_until, color="gray", alpha=0.15, label="burn-in (not scored)")
    ax.plot(t, true, "r", label="truth")
    ax.plot(t, pred, "b--", label="prediction")
    if extra is not None:
        ax.plot(extra[0], extra[1], "k:", label=extra[2])
    ax.set(xlabel="t", title=title)
    ax.legend(fontsize=7)
    return _save(fig, path)


def attention_heatmaps(
    path: Path, items: Sequence[tuple[Sequence[str], Sequence[str], np.ndarray]]
) -> Path:
    """One panel per example: ``(input characters [T], output characters [U], alignments [U, T])``, the
    weight each output step gave each input character (rows sum to 1)."""
    n = max(len(items), 1)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[len(items) :]:
        ax.axis("off")
    for ax, (src, out, align) in zip(axes.flat, items):
        ax.imshow(align, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(src)), ["␣" if c == " " else c for c in src], fontsize=7)
        ax.set_yticks(range(len(out)), list(out), fontsize=7)
        ax.set_title("".join(src), fontsize=9)
    fig.suptitle("attention of held-out inputs (rows: output characters)")
    return _save(fig, Path(path))
