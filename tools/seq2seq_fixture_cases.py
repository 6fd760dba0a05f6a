"""The cases of ``tools/make_seq2seq_fixtures.py`` and their TF 1.15 variable names.

The names follow TF 1.15's ``tensorflow/contrib/seq2seq/python/ops/attention_wrapper.py`` and ``decoder.py``:
``dynamic_decode`` opens the ``decoder`` scope; a mechanism built inside it creates ``memory_layer/kernel``
(``memory_layer_1``... for the next ones) at construction; the wrapper (``attention_wrapper``) then creates, when
first called, its cell's variables, and per mechanism the scoring scope's (``luong_attention/attention_g``,
``bahdanau_attention/query_layer/kernel``, ``attention_v``, ``attention_g``, ``attention_b``, monotonic:
``attention_score_bias``) and ``attention_layer/kernel``; last the output layer (``output_projection``).
"""

from __future__ import annotations

BASE = dict(batch=3, mem_time=5, mem_depth=4, dec_time=4, in_depth=3, vocab=7)
TRAIN = dict(kind="training", sequence_length=[4, 2, 3])
GREEDY = dict(kind="greedy", start_token=1, end_token=2, maximum_iterations=6)


def _case(
    id_: str,
    mechanisms: list,
    wrapper: dict | None = None,
    cell: dict | None = None,
    decoder: dict | None = None,
    **extra,
) -> dict:
    case = dict(
        BASE,
        id=id_,
        mechanisms=mechanisms,
        wrapper=wrapper or {},
        cell=cell or dict(type="rnn", units=6),
        decoder=decoder or TRAIN,
        memory_sequence_length=[5, 3, 4],
    )
    case.update(extra)
    return case


L = dict(type="luong", num_units=6)
LS = dict(type="luong", num_units=6, scale=True)
B = dict(type="bahdanau", num_units=5)
BN = dict(type="bahdanau", num_units=5, normalize=True)

CASES = [
    _case("luong", [L], dict(attention_layer_size=5)),
    _case("luong_scale_nolen", [LS], dict(attention_layer_size=5), memory_sequence_length=None),
    _case("luong_hardmax_ctx", [dict(LS, probability_fn="hardmax")]),
    _case("bahdanau_cell_output", [B], dict(output_attention=False)),
    _case("bahdanau_norm_layer", [BN], dict(attention_layer_size=4, alignment_history=True)),
    _case("multi_list_sizes", [LS, BN], dict(attention_layer_size=[5, 4], alignment_history=True)),
    _case("luong_as_list", [L], dict(attention_layer_size=[3], as_list=True)),
    _case(
        "luong_mono_parallel",
        [dict(type="luong_monotonic", num_units=6, scale=True, score_bias_init=-0.5)],
        dict(attention_layer_size=5),
    ),
    _case("luong_mono_recursive", [dict(type="luong_monotonic", num_units=6, mode="recursive")]),
    _case("luong_mono_hard", [dict(type="luong_monotonic", num_units=6, mode="hard")]),
    _case(
        "bahdanau_mono_norm",
        [dict(type="bahdanau_monotonic", num_units=5, normalize=True, score_bias_init=0.3)],
        dict(attention_layer_size=4),
    ),
    _case(
        "inputs_only_init_state",
        [BN],
        dict(cell_input_fn="inputs_only", attention_layer_size=4),
        initial_cell_state=True,
    ),
    _case(
        "lstm_luong_impute_tm",
        [LS],
        dict(attention_layer_size=6),
        cell=dict(type="lstm", units=6),
        decoder=dict(TRAIN, impute_finished=True, output_time_major=True),
        initial_cell_state=True,
    ),
    _case("greedy_luong", [LS], dict(attention_layer_size=5), decoder=GREEDY),
    _case(
        "greedy_bahdanau_impute",
        [B],
        dict(attention_layer_size=5),
        decoder=dict(GREEDY, impute_finished=True, maximum_iterations=5),
    ),
    _case(
        "beam_luong",
        [LS],
        dict(attention_layer_size=5),
        decoder=dict(GREEDY, kind="beam", beam_width=3),
    ),
    _case(
        "beam_lstm_penalties",
        [BN],
        dict(attention_layer_size=5),
        cell=dict(type="lstm", units=6),
        decoder=dict(
            GREEDY,
            kind="beam",
            beam_width=4,
            length_penalty_weight=0.7,
            coverage_penalty_weight=0.4,
            maximum_iterations=7,
        ),
        initial_cell_state=True,
    ),
]

LOSS_CASES = [
    {},
    dict(average_across_timesteps=False),
    dict(average_across_batch=False),
    dict(average_across_timesteps=False, average_across_batch=False),
    dict(
        average_across_timesteps=False,
        average_across_batch=False,
        sum_over_timesteps=True,
        sum_over_batch=True,
    ),
    dict(average_across_timesteps=False, average_across_batch=False, sum_over_timesteps=True),
    dict(average_across_timesteps=False, average_across_batch=False, sum_over_batch=True),
]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        k = seen.get(name, 0)
        out.append(name if k == 0 else f"{name}_{k}")
        seen[name] = k + 1
    return out


SCOPES = dict(
    luong="luong_attention",
    bahdanau="bahdanau_attention",
    luong_monotonic="luong_monotonic_attention",
    bahdanau_monotonic="bahdanau_monotonic_attention",
)


def tf1_variable_names(case: dict) -> list[str]:
    """TF 1.15's names, in creation order, for ``dynamic_decode(scope="decoder")`` of the case."""
    mechs = case["mechanisms"]
    names = [f"decoder/{m}/kernel" for m in _unique(["memory_layer"] * len(mechs))]
    wrap = "decoder/attention_wrapper/"
    cell = "basic_lstm_cell" if case["cell"]["type"] == "lstm" else "basic_rnn_cell"
    names += [f"{wrap}{cell}/kernel", f"{wrap}{cell}/bias"]
    scopes = _unique([SCOPES[m["type"]] for m in mechs])
    layers = _unique(["attention_layer"] * len(mechs))
    for m, scope, layer in zip(mechs, scopes, layers):
        s = f"{wrap}{scope}/"
        if m["type"].startswith("bahdanau"):
            names += [f"{s}query_layer/kernel", f"{s}attention_v"]
            if m.get("normalize"):
                names += [f"{s}attention_g", f"{s}attention_b"]
        elif m.get("scale"):
            names.append(f"{s}attention_g")
        if m["type"].endswith("monotonic"):
            names.append(f"{s}attention_score_bias")
        if case["wrapper"].get("attention_layer_size") is not None:
            names.append(f"{wrap}{layer}/kernel")
    names += ["decoder/output_projection/kernel", "decoder/output_projection/bias"]
    return names
