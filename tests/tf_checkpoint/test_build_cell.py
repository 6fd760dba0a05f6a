"""``build_cell`` / ``build_bidirectional`` rebuild RNNs from real TF checkpoints without being told the
architecture, and reproduce TF's outputs and final states (fixtures: tools/make_tf_model_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit as rk
import rnnkit.tf_checkpoint as tc
from rnnkit.tf_checkpoint import CheckpointError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf_models"
TOL = {"rtol": 2e-5, "atol": 2e-5}
ZOO = {  # scope -> what TF built there (the tests are not told: this is what build_cell must find)
    "basic_rnn": "BasicRNNCell(num_units=4)",
    "gru": "GRUCell(num_units=3)",
    "basic_lstm": "BasicLSTMCell(num_units=4)",
    "lstm_peep_proj": "MultiRNNCell([LSTMCell(num_units=5, use_peepholes=True, num_proj=3), "
    "LSTMCell(num_units=4)])",
    "mixed_stack": "MultiRNNCell([GRUCell(num_units=3), BasicLSTMCell(num_units=4), "
    "BasicRNNCell(num_units=2)])",
    "layer_norm": "LayerNormBasicLSTMCell(num_units=4)",
    "layer_norm_off": "LayerNormBasicLSTMCell(num_units=3, layer_norm=False)",
    "out_proj": "OutputProjectionWrapper(MultiRNNCell([BasicLSTMCell(num_units=4), "
    "GRUCell(num_units=3)]), output_size=2)",
    "in_proj": "InputProjectionWrapper(LSTMCell(num_units=3, use_peepholes=True), num_proj=5)",
}


def path(name: str) -> Path:
    return FIXTURES / name / "model.ckpt"


def data(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / f"{name}.npz") as npz:
        return {k: npz[k] for k in npz.files}


def close(got, want, what):
    np.testing.assert_allclose(got.detach().numpy(), want, **TOL, err_msg=what)


def close_states(states, arrays, prefix):
    leaves = rk.nest.flatten(states)
    want = sorted(
        (k for k in arrays if k.startswith(f"out:{prefix}")), key=lambda k: int(k.rsplit("_", 1)[1])
    )
    assert len(leaves) == len(want) > 0, prefix
    for leaf, key in zip(leaves, want):
        close(leaf, arrays[key], key)


@pytest.mark.parametrize("scope", sorted(ZOO))
def test_every_cell_kind_is_rebuilt_from_names_and_shapes(scope):
    arrays = data("zoo")
    x, lengths = torch.from_numpy(arrays["inputs"]), torch.from_numpy(arrays["lengths"])
    spec_scope, spec = tc.infer_cell(path("zoo"), f"{scope}/rnn")
    assert (spec_scope, spec.describe()) == (f"{scope}/rnn", ZOO[scope])
    cell = tc.build_cell(path("zoo"), f"{scope}/rnn")
    outputs, state = rk.dynamic_rnn(cell, x, sequence_length=lengths)
    close(outputs, arrays[f"out:{scope}/outputs"], scope)
    close_states(state, arrays, f"{scope}/state_")


def test_scope_none_with_several_rnns_lists_them():
    with pytest.raises(
        CheckpointError,
        match=r"expected exactly one RNN scope in the checkpoint \(or scope=\), "
        r"got \['basic_lstm/rnn', 'basic_rnn/rnn', 'gru/rnn', 'in_proj/rnn'",
    ):
        tc.build_cell(path("zoo"))


def test_ptb_rnn_alone_with_a_setting_that_leaves_no_variable():
    """ptb_word_lm's LSTMs use forget_bias=0: given as a cell keyword (nothing in a checkpoint says it)."""
    arrays = data("ptb")
    cell = tc.build_cell(path("ptb"), forget_bias=0.0)  # the only RNN: Model/RNN
    assert [c.forget_bias for c in cell.cells] == [0.0, 0.0]
    x = torch.from_numpy(arrays["var:Model/embedding"])[torch.from_numpy(arrays["ids"]).long()]
    outputs, state = rk.dynamic_rnn(cell, x)
    logits = outputs @ torch.from_numpy(arrays["var:Model/softmax_w"]) + torch.from_numpy(
        arrays["var:Model/softmax_b"]
    )
    close(logits, arrays["out:logits"], "logits")
    close_states(state, arrays, "state_")
    wrong = tc.build_cell(path("ptb"))  # TF's default forget_bias=1.0 would give other numbers
    assert not torch.allclose(rk.dynamic_rnn(wrong, x)[0], outputs)


def test_char_rnn_softmax_inside_the_rnn_scope_does_not_break_loading():
    arrays = data("char_rnn")
    cell = tc.build_cell(
        path("char_rnn")
    )  # scope rnnlm, beside rnnlm/softmax_w, softmax_b, embedding
    x = torch.from_numpy(arrays["var:rnnlm/embedding"])[torch.from_numpy(arrays["ids"]).long()]
    outputs, state = rk.dynamic_rnn(cell, x)
    close(outputs, arrays["out:outputs"], "outputs")
    close_states(state, arrays, "state_")
    assert rk.load_tf_checkpoint(cell, path("char_rnn"), scope="rnnlm") == ([], [])


def test_bidirectional():
    arrays = data("bidirectional")
    x, lengths = torch.from_numpy(arrays["inputs"]), torch.from_numpy(arrays["lengths"])
    cell_fw, cell_bw = tc.build_bidirectional(
        path("bidirectional")
    )  # the stacks' layers are not candidates
    assert (type(cell_fw).__name__, type(cell_bw).__name__) == ("LSTMCell", "GRUCell")
    (out_fw, out_bw), states = rk.bidirectional_dynamic_rnn(
        cell_fw, cell_bw, x, sequence_length=lengths
    )
    close(out_fw, arrays["out:bi/out_fw"], "fw")
    close(out_bw, arrays["out:bi/out_bw"], "bw")
    close_states(states, arrays, "bi/state_")


def test_stack_bidirectional_dynamic_and_static():
    arrays = data("bidirectional")
    x = torch.from_numpy(arrays["inputs"])
    cells_fw, cells_bw = tc.build_stack_bidirectional(
        path("bidirectional"), "stack_bidirectional_rnn"
    )
    out, states_fw, states_bw = rk.stack_bidirectional_dynamic_rnn(cells_fw, cells_bw, x)
    close(out, arrays["out:stack/out"], "stack")
    close_states((states_fw, states_bw), arrays, "stack/state_")
    cells_fw, cells_bw = tc.build_stack_bidirectional(
        path("bidirectional"), "static/stack_bidirectional_rnn"
    )
    outs, states_fw, states_bw = rk.stack_bidirectional_rnn(cells_fw, cells_bw, list(x.unbind(1)))
    close(torch.stack(outs, 0), arrays["out:static/out"], "static")
    close_states((states_fw, states_bw), arrays, "static/state_")


def test_unknown_scope_lists_the_rnn_scopes():
    with pytest.raises(
        CheckpointError,
        match=r"build_cell: expected scope to be one of the checkpoint's RNN "
        r"scopes \['Model/RNN'\], got 'rnn'$",
    ):
        tc.build_cell(path("ptb"), "rnn")


def test_cell_kwargs_no_cell_accepts_or_the_checkpoint_fixes():
    with pytest.raises(
        TypeError,
        match=r"build_cell: expected cell_kwargs that a cell of .* accepts, got \['nope'\]",
    ):
        tc.build_cell(path("ptb"), nope=1)
    with pytest.raises(
        TypeError,
        match=r"expected cell_kwargs that the checkpoint does not fix, got \['num_units'\]",
    ):
        tc.build_cell(path("ptb"), num_units=3)


def test_a_new_cell_adds_one_recogniser(monkeypatch):
    """The registry is keyed on TF scope names: a cell kind added later is recognised by one registration,
    beside the recognisers already registered for the same scope name."""
    from rnnkit.tf_checkpoint import recognise as rec

    monkeypatch.setattr(rec, "_REGISTRY", {k: list(v) for k, v in rec._REGISTRY.items()})
    values = {
        "rnn/gru_cell/w_all": np.ones((5, 6), np.float32),
        "rnn/gru_cell/b_all": np.ones(6, np.float32),
    }
    with pytest.raises(CheckpointError, match=r"got gru_cell/\{b_all, w_all\} \(register one with"):
        tc.infer_cell(_write(values), "rnn")

    def toy_gru(variables, inner):
        if set(variables) != {"w_all", "b_all"}:
            return None
        rows, three_h = variables["w_all"]
        return tc.CellSpec(
            rk.GRUCell, {"num_units": three_h // 3}, rows - three_h // 3, three_h // 3
        )

    tc.register_recogniser("gru_cell", toy_gru)
    _, spec = tc.infer_cell(_write(values), "rnn")
    assert spec.describe() == "GRUCell(num_units=2)" and spec.input_size == 3
    assert (
        tc.infer_cell(path("zoo"), "gru/rnn")[1].describe() == "GRUCell(num_units=3)"
    )  # the others still


_TMP: list = []


def _write(values):
    import tempfile

    directory = tempfile.mkdtemp()
    _TMP.append(directory)
    return tc.write(Path(directory) / "m", values)


def test_inspect_prints_the_architecture_of_every_rnn_scope():
    from rnnkit.tf_checkpoint.inspect import format_table

    text = format_table(path("bidirectional"))
    assert (
        "  bidirectional_rnn/fw: LSTMCell(num_units=4, use_peepholes=True), input depth 3" in text
    )
    assert (
        "  static/stack_bidirectional_rnn/cell_1/bw: LSTMCell(num_units=3, num_proj=2), input depth 5"
        in text
    )


def test_old_names_and_settings_given_as_keywords():
    """A TF < 1.2 checkpoint (``RNN/BasicLSTMCell/Linear/Matrix``) is recognised through the renamed names, and
    keywords such as ``dtype`` reach every cell that takes them."""
    old = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"
    with np.load(old / "basic_lstm.npz") as npz:
        x, want = torch.from_numpy(npz["inputs"]), npz["out:outputs"]
    cell = tc.build_cell(old / "legacy_names" / "model.ckpt", dtype=torch.float64)
    assert type(cell) is rk.BasicLSTMCell and cell.kernel.dtype == torch.float64
    outputs, _ = rk.dynamic_rnn(cell, x.double())
    np.testing.assert_allclose(outputs.detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_initialize_a_bare_cell_under_its_scope():
    cell = tc.build_cell(path("zoo"), "gru/rnn")
    done = rk.initialize(cell, torch.nn.init.zeros_, scope="gru/rnn")
    assert done == ["gru/rnn/gru_cell/gates/kernel", "gru/rnn/gru_cell/candidate/kernel"]
    assert (
        float(cell.gates_kernel.detach().abs().sum()) == 0.0
        and float(cell.gates_bias.detach().abs().sum()) > 0
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (run on the GPU machine)")
def test_build_cell_on_cuda():
    arrays = data("zoo")
    cell = tc.build_cell(path("zoo"), "out_proj/rnn", device="cuda")
    x, lengths = torch.from_numpy(arrays["inputs"]).cuda(), torch.from_numpy(arrays["lengths"])
    outputs, _ = rk.dynamic_rnn(cell, x, sequence_length=lengths)
    assert outputs.device.type == "cuda"
    close(outputs.cpu(), arrays["out:out_proj/outputs"], "cuda")


CONTRIB = {  # contrib cells (their TF names are proven by tests/test_tf_fixtures_contrib.py): save, rebuild, compare
    "NASCell(num_units=4, num_proj=2)": lambda: rk.NASCell(4, num_proj=2, input_size=3),
    "UGRNNCell(num_units=4)": lambda: rk.UGRNNCell(4, input_size=3),
    "IntersectionRNNCell(num_units=4, num_in_proj=4)": lambda: rk.IntersectionRNNCell(
        4, num_in_proj=4, input_size=3
    ),
    "CoupledInputForgetGateLSTMCell(num_units=4, use_peepholes=True, num_proj=2)": lambda: (
        rk.CoupledInputForgetGateLSTMCell(4, use_peepholes=True, num_proj=2, input_size=3)
    ),
    "IndRNNCell(num_units=4)": lambda: rk.IndRNNCell(4, input_size=3),
    "IndyGRUCell(num_units=4)": lambda: rk.IndyGRUCell(4, input_size=3),
    "IndyLSTMCell(num_units=4)": lambda: rk.IndyLSTMCell(4, input_size=3),
    "SRUCell(num_units=4)": lambda: rk.SRUCell(4, input_size=3),
    "GRUBlockCell(num_units=4)": lambda: rk.GRUBlockCell(4, input_size=3),
    "CudnnCompatibleLSTMCell(num_units=4)": lambda: rk.CudnnCompatibleLSTMCell(4, input_size=3),
    "CudnnCompatibleGRUCell(num_units=4)": lambda: rk.CudnnCompatibleGRUCell(4, input_size=3),
    "MultiRNNCell([UGRNNCell(num_units=4), SRUCell(num_units=4)])": lambda: rk.MultiRNNCell(
        [rk.UGRNNCell(4, input_size=3), rk.SRUCell(4, input_size=4)]
    ),
}


@pytest.mark.parametrize("described", sorted(CONTRIB))
def test_contrib_cells_are_recognised(described, tmp_path):
    torch.manual_seed(0)
    original = CONTRIB[described]()
    with torch.no_grad():
        for p in original.parameters():
            p.uniform_(-0.5, 0.5)
    rk.save_tf_checkpoint(original, tmp_path / "m", scope="enc/rnn")
    assert tc.infer_cell(tmp_path / "m")[1].describe() == described
    rebuilt = tc.build_cell(tmp_path / "m")
    assert type(rebuilt) is type(original)
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(
        rk.dynamic_rnn(rebuilt, x)[0], rk.dynamic_rnn(original, x)[0], rtol=0, atol=0
    )


def test_lstm_block_cell_checkpoints_rebuild_as_the_equivalent_lstm_cell(tmp_path):
    torch.manual_seed(0)
    block = rk.LSTMBlockCell(4, use_peephole=True, input_size=3)
    with torch.no_grad():
        for p in block.parameters():
            p.uniform_(-0.5, 0.5)
    rk.save_tf_checkpoint(block, tmp_path / "m")
    rebuilt = tc.build_cell(tmp_path / "m")
    assert (
        tc.infer_cell(tmp_path / "m")[1].describe() == "LSTMCell(num_units=4, use_peepholes=True)"
    )
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(rk.dynamic_rnn(rebuilt, x)[0], rk.dynamic_rnn(block, x)[0])


def test_phased_lstm_is_recognised(tmp_path):
    original = rk.PhasedLSTMCell(4, input_size=3)
    rk.save_tf_checkpoint(original, tmp_path / "m")
    rebuilt = tc.build_cell(tmp_path / "m")
    assert type(rebuilt) is rk.PhasedLSTMCell and rebuilt.num_units == 4 and rebuilt.input_size == 3
    for (name, a), b in zip(rk.tf_variables(original).items(), rk.tf_variables(rebuilt).values()):
        assert torch.equal(a, b), name
