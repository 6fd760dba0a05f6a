"""The cases of ``tools/make_tf_fixtures_surface.py``: the fixed list and the random draw (no TensorFlow here).

A case is a JSON-able dict (``tests/fixtures/surface/manifest.json``): the model (``dynamic``, ``bidirectional_dynamic``,
``static_bidirectional``, the stacks, ``raw_rnn``), its cells (``C`` a cell, ``W`` a wrapper, ``M`` a stack),
layout, sizes, sequence lengths and dtype.
"""

from __future__ import annotations

import random
from typing import Any


def C(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs}


def W(kind: str, cell: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "cell": cell}


def M(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"type": "MultiRNNCell", "cells": list(cells)}


KEEP1 = {"input_keep_prob": 1.0, "output_keep_prob": 1.0, "state_keep_prob": 1.0}


def case(
    id: str,
    model: str,
    fw: list,
    bw: list | None = None,
    time_major: bool = False,
    batch: int = 4,
    time: int = 5,
    depth: int = 3,
    lengths: Any = "mixed",
    dtype: str = "float32",
) -> dict[str, Any]:
    if lengths == "mixed":
        lengths = [time, 0, min(3, time), 1][:batch]
    return {
        "id": id,
        "model": model,
        "fw": fw,
        "bw": bw or [],
        "time_major": time_major,
        "batch": batch,
        "time": time,
        "depth": depth,
        "sequence_length": lengths,
        "dtype": dtype,
    }


def fixed_cases() -> list[dict[str, Any]]:
    D = 3
    return [
        case(
            "dropout_keep1_basic_lstm",
            "dynamic",
            [W("DropoutWrapper", C("BasicLSTMCell", num_units=4), **KEEP1)],
        ),
        case(
            "dropout_keep1_variational_multi_tm",
            "dynamic",
            [
                M(
                    W(
                        "DropoutWrapper",
                        C("GRUCell", num_units=4),
                        variational_recurrent=True,
                        input_size=D,
                        **KEEP1,
                    ),
                    W(
                        "DropoutWrapper",
                        C("LSTMCell", num_units=3, use_peepholes=True),
                        variational_recurrent=True,
                        input_size=4,
                        **KEEP1,
                    ),
                )
            ],
            time_major=True,
        ),
        case(
            "residual_dropout_multi",
            "dynamic",
            [
                M(
                    W(
                        "ResidualWrapper",
                        W("DropoutWrapper", C("BasicLSTMCell", num_units=D), **KEEP1),
                    ),
                    W("ResidualWrapper", C("GRUCell", num_units=D)),
                )
            ],
            dtype="float64",
        ),
        case(
            "residual_basic_rnn_nolen",
            "dynamic",
            [W("ResidualWrapper", C("BasicRNNCell", num_units=D))],
            lengths=None,
        ),
        case(
            "bidir_dyn_lstm_gru_bm",
            "bidirectional_dynamic",
            [C("LSTMCell", num_units=4, use_peepholes=True, num_proj=3)],
            [C("GRUCell", num_units=5)],
        ),
        case(
            "bidir_dyn_lstm_gru_tm",
            "bidirectional_dynamic",
            [C("BasicLSTMCell", num_units=4)],
            [C("LSTMCell", num_units=2, cell_clip=0.5)],
            time_major=True,
        ),
        case(
            "bidir_dyn_rnn_relu_nolen_f64",
            "bidirectional_dynamic",
            [C("BasicRNNCell", num_units=3, activation="relu")],
            [C("BasicRNNCell", num_units=2)],
            lengths=None,
            dtype="float64",
        ),
        case(
            "bidir_dyn_wrapped_multi",
            "bidirectional_dynamic",
            [
                M(
                    W("DropoutWrapper", C("BasicLSTMCell", num_units=3), **KEEP1),
                    C("GRUCell", num_units=2),
                )
            ],
            [W("ResidualWrapper", C("GRUCell", num_units=D))],
            batch=5,
            time=6,
            lengths=[6, 0, 3, 1, 5],
        ),
        case(
            "static_bidir_lengths",
            "static_bidirectional",
            [C("BasicLSTMCell", num_units=3)],
            [W("DropoutWrapper", C("GRUCell", num_units=4), **KEEP1)],
        ),
        case(
            "static_bidir_nolen",
            "static_bidirectional",
            [C("LSTMCell", num_units=3, num_proj=2)],
            [C("BasicRNNCell", num_units=2)],
            lengths=None,
        ),
        case(
            "stack_bidir_dyn_bm",
            "stack_bidirectional_dynamic",
            [C("LSTMCell", num_units=3), C("GRUCell", num_units=2)],
            [C("BasicLSTMCell", num_units=3), C("BasicRNNCell", num_units=2)],
        ),
        case(
            "stack_bidir_dyn_tm",
            "stack_bidirectional_dynamic",
            [
                C("GRUCell", num_units=3),
                W("DropoutWrapper", C("BasicLSTMCell", num_units=2), **KEEP1),
            ],
            [C("GRUCell", num_units=2), C("LSTMCell", num_units=2, use_peepholes=True)],
            time_major=True,
        ),
        case(
            "stack_bidir_static",
            "stack_bidirectional_static",
            [C("BasicLSTMCell", num_units=3), C("GRUCell", num_units=2)],
            [C("GRUCell", num_units=2), C("BasicRNNCell", num_units=3)],
        ),
        case("raw_rnn_lstm_lengths", "raw_rnn", [C("LSTMCell", num_units=4, use_peepholes=True)]),
        {
            **case(
                "bidir_dyn_initial_states",
                "bidirectional_dynamic",
                [M(C("BasicLSTMCell", num_units=3), C("GRUCell", num_units=2))],
                [C("LSTMCell", num_units=3, num_proj=2, use_peepholes=True)],
                time_major=True,
            ),
            "initial_state": True,
        },
        {
            **case(
                "static_bidir_initial_states",
                "static_bidirectional",
                [C("GRUCell", num_units=3)],
                [C("BasicLSTMCell", num_units=2)],
                dtype="float64",
            ),
            "initial_state": True,
        },
        # contrib (re-stated on TF's RNNCell above): names, order and numbers from TF itself
        case(
            "contrib_output_projection",
            "dynamic",
            [W("OutputProjectionWrapper", C("BasicLSTMCell", num_units=4), output_size=2)],
        ),
        case(
            "contrib_input_projection_relu",
            "dynamic",
            [W("InputProjectionWrapper", C("GRUCell", num_units=3), num_proj=5, activation="relu")],
        ),
        case(
            "contrib_layer_norm_lstm",
            "dynamic",
            [
                C(
                    "LayerNormBasicLSTMCell",
                    num_units=4,
                    forget_bias=0.5,
                    norm_gain=1.3,
                    norm_shift=-0.2,
                )
            ],
            time_major=True,
        ),
        case(
            "contrib_layer_norm_lstm_off",
            "dynamic",
            [C("LayerNormBasicLSTMCell", num_units=3, layer_norm=False)],
            dtype="float64",
        ),
        case(
            "contrib_bidir_projection_layer_norm",
            "bidirectional_dynamic",
            [W("OutputProjectionWrapper", C("LayerNormBasicLSTMCell", num_units=3), output_size=2)],
            [
                M(
                    W("InputProjectionWrapper", C("BasicLSTMCell", num_units=2), num_proj=4),
                    C("LayerNormBasicLSTMCell", num_units=2),
                )
            ],
        ),
    ]


def random_cases(n: int, seed: int) -> list[dict[str, Any]]:
    """Random bidirectional / stacked / wrapped models for the outside check."""
    rng = random.Random(seed)

    def leaf() -> dict[str, Any]:
        kind = rng.choice(
            ["BasicRNNCell", "GRUCell", "BasicLSTMCell", "LSTMCell", "LayerNormBasicLSTMCell"]
        )
        # LayerNorm over 1 or 2 units is degenerate (the normalised values are 0 or +-1 whatever the input), so
        # the true gradients of its gains are ~0 and TF's float32 ones are rounding noise (amplified by up to
        # 1/sqrt(1e-12)): no agreement to expect there. LN cells get at least 3 units.
        spec = C(kind, num_units=rng.randint(3 if kind == "LayerNormBasicLSTMCell" else 1, 5))
        if kind == "LSTMCell" and rng.random() < 0.5:
            spec["kwargs"]["use_peepholes"] = True
        if kind == "LayerNormBasicLSTMCell" and rng.random() < 0.3:
            spec["kwargs"]["layer_norm"] = False
        roll = rng.random()
        if roll < 0.2:
            spec = W("DropoutWrapper", spec, variational_recurrent=rng.random() < 0.5, **KEEP1)
        elif roll < 0.3:
            spec = W("OutputProjectionWrapper", spec, output_size=rng.randint(1, 4))
        elif roll < 0.4:
            spec = W("InputProjectionWrapper", spec, num_proj=rng.randint(1, 4))
        return spec

    def maybe_multi() -> dict[str, Any]:
        return M(leaf(), leaf()) if rng.random() < 0.3 else leaf()

    cases = []
    for k in range(n):
        model = rng.choice(
            [
                "bidirectional_dynamic",
                "static_bidirectional",
                "stack_bidirectional_dynamic",
                "stack_bidirectional_static",
                "dynamic",
            ]
        )
        batch, time = rng.randint(1, 5), rng.randint(1, 6)
        lengths = None if rng.random() < 0.3 else [rng.randint(0, time) for _ in range(batch)]
        depth = rng.randint(1, 4)
        layers = rng.randint(2, 3) if model.startswith("stack") else 1
        fw = [maybe_multi() for _ in range(layers)]
        bw = [maybe_multi() for _ in range(layers)] if model != "dynamic" else []
        if model == "dynamic" and rng.random() < 0.5:
            fw = [
                W("ResidualWrapper", C(rng.choice(["GRUCell", "BasicLSTMCell"]), num_units=depth))
            ]
        time_major = (
            model in ("dynamic", "bidirectional_dynamic", "stack_bidirectional_dynamic")
            and rng.random() < 0.5
        )
        cases.append(
            case(
                f"random_{seed}_{k}_{model}",
                model,
                fw,
                bw,
                time_major=time_major,
                batch=batch,
                time=time,
                depth=depth,
                lengths=lengths,
                dtype=rng.choice(["float32", "float64"]),
            )
        )
        if model in ("bidirectional_dynamic", "static_bidirectional") and rng.random() < 0.5:
            cases[-1]["initial_state"] = True
    return cases
