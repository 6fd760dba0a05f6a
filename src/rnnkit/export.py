"""Take a trained model out of Python: ONNX (run by onnxruntime) and TorchScript, each checked after export.

TF1 users froze graphs or wrote SavedModels for serving; the PyTorch equivalents are an ONNX file (any ONNX
runtime, no Python needed) and a TorchScript archive (``torch.jit.load`` in C++ or Python). Both record the
model by running it on example inputs, so a Python loop over time steps is recorded for the example's number of
steps, while torch's fused RNN kernels (``rk.fused.explain``) stay one op that takes any length. Hence:

* every size named in ``dynamic`` is first exported as symbolic; the exported file is then run on inputs where
  that size differs from the example's, and a size the file does not accept is pinned to the example's value
  and the export redone (the result says which sizes stayed dynamic);
* the exported model's outputs must match the PyTorch model's on those inputs within ``atol`` (default 1e-5),
  else ``ExportError``: nothing is left at ``path`` that was not checked.

Example::

    model.eval()
    result = rk.export.to_onnx(model, (x,), "model.onnx", input_names=["x"], output_names=["logits"],
                               dynamic={"x": {0: "batch", 1: "time"}})
    result.dynamic   # {'x': {0: 'batch', 1: 'time'}} on the fused path; {'x': {0: 'batch'}} on the loop path
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "ExportError",
    "ExportResult",
    "ExportSpec",
    "FORMATS",
    "export",
    "to_onnx",
    "to_torchscript",
]

Dynamic = dict[str, dict[int, str]]


class ExportError(RuntimeError):
    """An export that failed or whose file does not reproduce the model (the message says which)."""


@dataclass
class ExportResult:
    """What was written and how it was checked."""

    path: Path
    format: str  # "onnx" | "torchscript"
    dynamic: Dynamic  # the sizes that stay symbolic in the file (input name -> axis -> size name)
    max_abs_diff: float  # worst |exported - PyTorch| over every checked input set
    checked_shapes: list[dict[str, tuple[int, ...]]] = field(default_factory=list)


def _check_args(
    where: str, model: Any, example_inputs: Any, input_names: Sequence[str], dynamic: Any
) -> tuple[torch.Tensor, ...]:
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"{where}: expected model to be a torch.nn.Module, got {type(model).__name__}"
        )
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    if not isinstance(example_inputs, tuple) or not all(
        isinstance(x, torch.Tensor) for x in example_inputs
    ):
        raise TypeError(
            f"{where}: expected example_inputs to be a tuple of tensors, got {example_inputs!r}"
        )
    if len(input_names) != len(example_inputs):
        raise ValueError(
            f"{where}: expected one input name per example input ({len(example_inputs)}), got {list(input_names)}"
        )
    for name, axes in (dynamic or {}).items():
        if name not in input_names:
            raise ValueError(
                f"{where}: dynamic names input {name!r}, expected one of {list(input_names)}"
            )
        rank = example_inputs[list(input_names).index(name)].dim()
        for axis in axes:
            if not isinstance(axis, int) or not 0 <= axis < rank:
                raise ValueError(
                    f"{where}: input {name!r} has rank {rank}, got dynamic axis {axis!r}"
                )
    return example_inputs


def _variants(
    inputs: tuple[torch.Tensor, ...], names: Sequence[str], dynamic: Dynamic
) -> list[tuple[torch.Tensor, ...]]:
    """The example itself, then one input set per named size, with that size grown (same size name, same
    new value on every axis that carries it), filled with reproducible random values."""
    sizes = sorted({size for axes in dynamic.values() for size in axes.values()})
    out = [inputs]
    gen = torch.Generator().manual_seed(0)
    for k, size in enumerate(sizes):
        grown = []
        for name, x in zip(names, inputs):
            shape = list(x.shape)
            for axis, s in dynamic.get(name, {}).items():
                if s == size:
                    shape[axis] += 1 + k
            if x.is_floating_point():
                new = torch.rand(shape, generator=gen, dtype=torch.float64).to(x.dtype)
            else:
                new = torch.randint(0, max(int(x.max()) + 1, 1), shape, generator=gen).to(x.dtype)
            grown.append(new.to(x.device))
        out.append(tuple(grown))
    return out


def _flat_outputs(out: Any) -> list[np.ndarray]:
    if isinstance(out, torch.Tensor):
        return [out.detach().cpu().numpy()]
    return [a for o in out for a in _flat_outputs(o)]


def _compare(where: str, expected: list[np.ndarray], got: list[np.ndarray], atol: float) -> float:
    if len(expected) != len(got):
        raise ExportError(
            f"{where}: the exported model returns {len(got)} outputs, the model {len(expected)}"
        )
    worst = 0.0
    for i, (e, g) in enumerate(zip(expected, got)):
        if e.shape != g.shape:
            raise ExportError(
                f"{where}: output {i} has shape {g.shape} exported, {e.shape} in PyTorch"
            )
        diff = float(np.max(np.abs(e.astype(np.float64) - g.astype(np.float64)))) if e.size else 0.0
        worst = max(worst, diff)
    if not worst <= atol:
        raise ExportError(
            f"{where}: the exported model differs from PyTorch by {worst:.3g} (> atol {atol:g})"
        )
    return worst


def _check_file(
    where: str,
    run: Callable[[tuple[torch.Tensor, ...]], list[np.ndarray]],
    model: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    names: Sequence[str],
    dynamic: Dynamic,
    atol: float,
) -> tuple[Dynamic, float, list[dict[str, tuple[int, ...]]]]:
    """Run the exported file on the example and each grown variant; drop the sizes it refuses.

    Returns ``(dynamic sizes that worked, worst difference, shapes checked)``; raises ExportError when the
    values differ (a refused size is not an error: it is reported as not dynamic).
    """
    kept = {name: dict(axes) for name, axes in dynamic.items()}
    worst, shapes = 0.0, []
    sizes = sorted({size for axes in dynamic.values() for size in axes.values()})
    for k, variant in enumerate(_variants(inputs, names, dynamic)):
        with torch.no_grad():
            expected = _flat_outputs(model(*variant))
        try:
            got = run(variant)
        except Exception:  # the runtime refused the shape: that size is fixed in this file
            if k == 0:
                raise
            size = sizes[k - 1]
            kept = {n: {a: s for a, s in axes.items() if s != size} for n, axes in kept.items()}
            continue
        worst = max(worst, _compare(where, expected, got, atol))
        shapes.append({n: tuple(x.shape) for n, x in zip(names, variant)})
    return {n: axes for n, axes in kept.items() if axes}, worst, shapes


@contextlib.contextmanager
def _quiet() -> Any:
    """The exporters print progress and warn about every traced Python int; keep the caller's output clean."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                yield
    finally:
        logging.disable(previous)


def _atomic_target(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(2, "no such directory", str(target.parent))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    return target, Path(tmp)


def _without(dynamic: Dynamic, dropped: Sequence[str]) -> Dynamic:
    return {n: {a: s for a, s in axes.items() if s not in dropped} for n, axes in dynamic.items()}


def _candidates(dynamic: Dynamic) -> list[Dynamic]:
    """``dynamic`` itself, then with one size pinned, two, ... (the exporter refuses a symbolic size that the
    model's Python code turns into a constant, e.g. the number of steps of a loop)."""
    sizes = sorted({s for axes in dynamic.values() for s in axes.values()}, reverse=True)
    out: list[Dynamic] = []
    for k in range(len(sizes) + 1):
        out.extend(_without(dynamic, list(c)) for c in itertools.combinations(sizes, k))
    return out


def _export_checked(
    where: str,
    fmt: str,
    write: Callable[[Path, Dynamic], Callable[[tuple[torch.Tensor, ...]], list[np.ndarray]]],
    model: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    names: Sequence[str],
    dynamic: Dynamic,
    path: str | os.PathLike[str],
    atol: float,
) -> ExportResult:
    """Write to a temp file, check, retry with refused sizes pinned, then rename into place."""
    target, tmp = _atomic_target(path)
    failure: ExportError | None = None
    try:
        for dyn in _candidates(dynamic):
            dyn = {n: axes for n, axes in dyn.items() if axes}
            try:
                run = write(tmp, dyn)
            except ExportError as e:
                failure = (
                    failure or e
                )  # the first (most dynamic) attempt's reason is the telling one
                continue
            kept, worst, shapes = _check_file(where, run, model, inputs, names, dyn, atol)
            if kept == dyn:
                os.replace(tmp, target)
                return ExportResult(target, fmt, kept, worst, shapes)
        assert failure is not None
        raise failure
    finally:
        tmp.unlink(missing_ok=True)


def to_onnx(
    model: nn.Module,
    example_inputs: tuple[torch.Tensor, ...] | torch.Tensor,
    path: str | os.PathLike[str],
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic: Dynamic | None = None,
    atol: float = 1e-5,
) -> ExportResult:
    """Export ``model`` (in its current train/eval mode: call ``model.eval()`` first) to an ONNX file.

    Args:
        model: called as ``model(*example_inputs)``; returns a tensor or a (nested) tuple of tensors.
        example_inputs: the inputs to record with, e.g. ``(x [B, T, D],)``.
        path: the ``.onnx`` file (written atomically, only after the check passed).
        input_names, output_names: names of the graph's inputs and (flattened) outputs.
        dynamic: the sizes to keep symbolic: ``{input name: {axis: size name}}``; axes sharing a size name are
            the same size (e.g. the batch of ``x`` and of a state input).
        atol: largest accepted |onnxruntime - PyTorch| on the example and the grown variants.

    Returns:
        ``ExportResult``: the sizes that stayed dynamic (a Python loop over time pins ``T``), the worst
        difference and the input shapes checked. Needs ``onnx``, ``onnxscript`` and ``onnxruntime``
        (``pip install 'rnnkit[export]'``).
    """
    where = "rk.export.to_onnx"
    inputs = _check_args(where, model, example_inputs, input_names, dynamic)
    try:
        import onnxruntime
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it; fail here with the install line)
    except ImportError:
        raise ExportError(
            f"{where}: needs onnxruntime and onnxscript: pip install 'rnnkit[export]'"
        ) from None

    def write(tmp: Path, dyn: Dynamic) -> Callable[[tuple[torch.Tensor, ...]], list[np.ndarray]]:
        dims: dict[str, Any] = {}
        shapes = tuple(
            {a: dims.setdefault(s, torch.export.Dim.DYNAMIC) for a, s in dyn.get(n, {}).items()}
            or None
            for n in input_names
        )
        try:
            with _quiet():
                torch.onnx.export(
                    model, inputs, str(tmp), input_names=list(input_names),
                    output_names=list(output_names), dynamo=True, dynamic_shapes=shapes,
                )  # fmt: skip
        except Exception as e:
            raise ExportError(f"{where}: torch.onnx.export failed: {type(e).__name__}: {e}") from e
        options = onnxruntime.SessionOptions()
        options.log_severity_level = (
            3  # errors only: grown test shapes make it warn about declared sizes
        )
        session = onnxruntime.InferenceSession(
            str(tmp), options, providers=["CPUExecutionProvider"]
        )
        feed_names = [i.name for i in session.get_inputs()]
        return lambda xs: session.run(
            None, {n: x.detach().cpu().numpy() for n, x in zip(feed_names, xs)}
        )

    return _export_checked(
        where, "onnx", write, model, inputs, input_names, dict(dynamic or {}), path, atol
    )


def to_torchscript(
    model: nn.Module,
    example_inputs: tuple[torch.Tensor, ...] | torch.Tensor,
    path: str | os.PathLike[str],
    *,
    input_names: Sequence[str] | None = None,
    dynamic: Dynamic | None = None,
    atol: float = 1e-5,
) -> ExportResult:
    """Export ``model`` to a TorchScript archive (``torch.jit.trace``), loadable with ``torch.jit.load``.

    Same arguments and checks as ``to_onnx`` (the archive is loaded back and run); ``input_names`` only name
    the inputs for ``dynamic`` (default ``input_0``, ``input_1``, ...).
    """
    where = "rk.export.to_torchscript"
    n_inputs = 1 if isinstance(example_inputs, torch.Tensor) else len(example_inputs)
    names = (
        list(input_names) if input_names is not None else [f"input_{i}" for i in range(n_inputs)]
    )
    inputs = _check_args(where, model, example_inputs, names, dynamic)

    def write(tmp: Path, dyn: Dynamic) -> Callable[[tuple[torch.Tensor, ...]], list[np.ndarray]]:
        try:
            with _quiet():
                traced = torch.jit.trace(model, inputs, check_trace=False)
                torch.jit.save(traced, str(tmp))
        except Exception as e:
            raise ExportError(f"{where}: torch.jit.trace failed: {type(e).__name__}: {e}") from e
        loaded = torch.jit.load(str(tmp))  # the archive just written above, read back to check it

        def run(xs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
            with torch.no_grad():
                return _flat_outputs(loaded(*xs))

        return run

    return _export_checked(
        where, "torchscript", write, model, inputs, names, dict(dynamic or {}), path, atol
    )


@dataclass
class ExportSpec:
    """Everything an export needs: the module (in eval mode) and how to call it (what a task provides)."""

    module: nn.Module
    example_inputs: tuple[torch.Tensor, ...]
    input_names: list[str]
    output_names: list[str]
    dynamic: Dynamic


FORMATS = ("onnx", "torchscript")


def export(spec: ExportSpec, path: str | os.PathLike[str], format: str) -> ExportResult:
    """Export ``spec.module`` as ``format`` (``"onnx"`` or ``"torchscript"``) to ``path``, checked."""
    if format == "onnx":
        return to_onnx(
            spec.module, spec.example_inputs, path, input_names=spec.input_names,
            output_names=spec.output_names, dynamic=spec.dynamic,
        )  # fmt: skip
    if format == "torchscript":
        return to_torchscript(
            spec.module,
            spec.example_inputs,
            path,
            input_names=spec.input_names,
            dynamic=spec.dynamic,
        )
    raise ValueError(f"rk.export.export: expected format in {FORMATS}, got {format!r}")
