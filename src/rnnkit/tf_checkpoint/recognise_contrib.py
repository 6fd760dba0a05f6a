"""Recognisers for TF 1.15 contrib's cells (``rnnkit.cells.contrib``, the block and cuDNN-compatible cells),
keyed on their TF scope names.

``LSTMBlockCell`` writes LSTMCell's names (``lstm_cell/kernel``, ``bias``, ``w_*_diag``) and computes the same
function, so its checkpoints are rebuilt as the equivalent ``LSTMCell``; ``GRUBlockCell``'s ``gru_cell/w_ru, b_ru,
w_c, b_c`` are recognised here (GRUBlockCellV2 writes GRUCell's names and math).

Each reads the sizes from the shapes of the names ``rk.tf_variables`` gives the cell (the TF fixtures prove those
names are TF's) and returns None for any name it does not know, so a configuration it does not cover is reported
as unrecognised rather than rebuilt wrongly (LayerNormLSTMCell, CIFG with layer_norm, GLSTM with num_proj).
"""

from __future__ import annotations

from typing import Any

from ..cells.block import GRUBlockCell
from ..cells.contrib import (
    CoupledInputForgetGateLSTMCell,
    IndRNNCell,
    IndyGRUCell,
    IndyLSTMCell,
    IntersectionRNNCell,
    NASCell,
    PhasedLSTMCell,
    SRUCell,
    UGRNNCell,
)
from ..cells.cudnn_compatible import CudnnCompatibleGRUCell, CudnnCompatibleLSTMCell
from .recognise import CellSpec, Inner, Shapes, register_recogniser

__all__: list[str] = []


def _dims(variables: Shapes, expected: dict[str, int]) -> dict[str, tuple[int, ...]] | None:
    """The variables when their names are exactly ``expected`` (name -> rank), else None."""
    if set(variables) != set(expected) or any(len(variables[n]) != r for n, r in expected.items()):
        return None
    return dict(variables)


def _nas(variables: Shapes, inner: Inner) -> CellSpec | None:
    proj = "projection_weights" in variables
    v = _dims(
        variables,
        {"recurrent_kernel": 2, "kernel": 2, **({"projection_weights": 2} if proj else {})},
    )
    if v is None or v["kernel"][1] % 8 or v["kernel"][1] != v["recurrent_kernel"][1]:
        return None
    h = v["kernel"][1] // 8
    p = v["projection_weights"][1] if proj else h
    if v["recurrent_kernel"][0] != p or (proj and v["projection_weights"][0] != h):
        return None
    settings: dict[str, Any] = {"num_units": h, **({"num_proj": p} if proj else {})}
    return CellSpec(NASCell, settings, input_size=v["kernel"][0], output_size=p)


def _ugrnn(variables: Shapes, inner: Inner) -> CellSpec | None:
    v = _dims(variables, {"kernel": 2, "bias": 1})
    if v is None or v["kernel"][1] % 2 or v["bias"][0] != v["kernel"][1]:
        return None
    h = v["kernel"][1] // 2
    return CellSpec(UGRNNCell, {"num_units": h}, input_size=v["kernel"][0] - h, output_size=h)


def _intersection(variables: Shapes, inner: Inner) -> CellSpec | None:
    proj = "in_projection/kernel" in variables
    extra = {"in_projection/kernel": 2, "in_projection/bias": 1} if proj else {}
    v = _dims(variables, {"kernel": 2, "bias": 1, **extra})
    if v is None or v["kernel"][1] % 4:
        return None
    h = v["kernel"][1] // 4
    if v["kernel"][0] != 2 * h or (proj and v["in_projection/kernel"][1] != h):
        return None
    d = v["in_projection/kernel"][0] if proj else h
    settings: dict[str, Any] = {"num_units": h, **({"num_in_proj": h} if proj else {})}
    return CellSpec(IntersectionRNNCell, settings, input_size=d, output_size=h)


def _cifg(variables: Shapes, inner: Inner) -> CellSpec | None:
    peep = "W_F_diag" in variables
    proj = "W_P_0" in variables
    expected = {"W_0": 2, "B": 1, **({"W_F_diag": 1, "W_O_diag": 1} if peep else {})}
    v = _dims(variables, {**expected, **({"W_P_0": 2} if proj else {})})
    if v is None or v["B"][0] % 3 or v["W_0"][1] != v["B"][0]:
        return None
    h = v["B"][0] // 3
    p = v["W_P_0"][1] if proj else h
    settings: dict[str, Any] = {"num_units": h}
    if peep:
        settings["use_peepholes"] = True
    if proj:
        settings["num_proj"] = p
    return CellSpec(
        CoupledInputForgetGateLSTMCell, settings, input_size=v["W_0"][0] - p, output_size=p
    )


def _ind(cls: type, gates: int, prefix: str = "") -> Any:
    def recogniser(variables: Shapes, inner: Inner) -> CellSpec | None:
        v = _dims(variables, {f"{prefix}kernel_w": 2, f"{prefix}kernel_u": 2, f"{prefix}bias": 1})
        if v is None or v[f"{prefix}kernel_w"][1] % gates:
            return None
        h = v[f"{prefix}kernel_w"][1] // gates
        return CellSpec(cls, {"num_units": h}, input_size=v[f"{prefix}kernel_w"][0], output_size=h)

    return recogniser


def _indy_gru(variables: Shapes, inner: Inner) -> CellSpec | None:
    names = {"gates/kernel_w": 2, "gates/kernel_u": 2, "gates/bias": 1}
    names.update({"candidate/kernel": 2, "candidate/kernel_u": 2, "candidate/bias": 1})
    v = _dims(variables, names)
    if v is None or v["gates/kernel_w"][1] != 2 * v["candidate/kernel"][1]:
        return None
    h = v["candidate/kernel"][1]
    return CellSpec(
        IndyGRUCell, {"num_units": h}, input_size=v["candidate/kernel"][0], output_size=h
    )


def _sru(variables: Shapes, inner: Inner) -> CellSpec | None:
    v = _dims(variables, {"kernel": 2, "bias": 1})
    if v is None or v["bias"][0] % 2 or v["kernel"][1] != 2 * v["bias"][0]:
        return None
    h = v["bias"][0] // 2
    return CellSpec(SRUCell, {"num_units": h}, input_size=v["kernel"][0], output_size=h)


def _phased(variables: Shapes, inner: Inner) -> CellSpec | None:
    layers = {
        f"{g}/{p}": r
        for g in ("mask_gates", "new_input", "output_gate")
        for p, r in (("kernel", 2), ("bias", 1))
    }
    v = _dims(variables, {**layers, "period": 1, "phase": 1, "ratio_on": 1})
    if v is None:
        return None
    h = v["period"][0]
    return CellSpec(
        PhasedLSTMCell, {"num_units": h}, input_size=v["new_input/kernel"][0] - h, output_size=h
    )


def _gru_block(variables: Shapes, inner: Inner) -> CellSpec | None:
    v = _dims(variables, {"w_ru": 2, "b_ru": 1, "w_c": 2, "b_c": 1})
    if v is None or v["w_ru"][1] != 2 * v["w_c"][1] or v["w_ru"][0] != v["w_c"][0]:
        return None
    h = v["w_c"][1]
    return CellSpec(GRUBlockCell, {"num_units": h}, input_size=v["w_c"][0] - h, output_size=h)


def _cudnn_lstm(variables: Shapes, inner: Inner) -> CellSpec | None:
    v = _dims(variables, {"kernel": 2, "bias": 1})
    if v is None or v["bias"][0] % 4 or v["kernel"][1] != v["bias"][0]:
        return None
    h = v["bias"][0] // 4
    return CellSpec(
        CudnnCompatibleLSTMCell, {"num_units": h}, input_size=v["kernel"][0] - h, output_size=h
    )


def _cudnn_gru(variables: Shapes, inner: Inner) -> CellSpec | None:
    names = {"gates/kernel": 2, "gates/bias": 1}
    for part in ("input", "hidden"):
        names.update(
            {f"candidate/{part}_projection/kernel": 2, f"candidate/{part}_projection/bias": 1}
        )
    v = _dims(variables, names)
    if v is None:
        return None
    d, h = v["candidate/input_projection/kernel"]
    if v["gates/kernel"] != (d + h, 2 * h) or v["candidate/hidden_projection/kernel"] != (h, h):
        return None
    return CellSpec(CudnnCompatibleGRUCell, {"num_units": h}, input_size=d, output_size=h)


for _key, _fn in (
    ("gru_cell", _gru_block),
    ("cudnn_compatible_lstm_cell", _cudnn_lstm),
    ("cudnn_compatible_gru_cell", _cudnn_gru),
    ("nas_cell", _nas),
    ("ugrnn_cell", _ugrnn),
    ("intersection_rnn_cell", _intersection),
    ("coupled_input_forget_gate_lstm_cell", _cifg),
    ("ind_rnn_cell", _ind(IndRNNCell, 1)),
    ("indy_lstm_cell", _ind(IndyLSTMCell, 4)),
    ("indy_gru_cell", _indy_gru),
    ("sru_cell", _sru),
    ("phased_lstm_cell", _phased),
):
    register_recogniser(_key, _fn)
