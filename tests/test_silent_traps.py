"""The traps of issue 18, each of which went unnoticed on the way from a TF1 program to rnnkit:
a user's cell vanishing from the TF names, an optimizer made before the first call, and a torch-ordered
``(h, c)`` tuple read as ``(c, h)``."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import rnnkit as rk

B, T, D = 2, 3, 4


class AttentionCell(rk.RNNCell):
    """A hand-made cell (an LSTM plus a layer of its own) that declares no TF names."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = rk.BasicLSTMCell(5, input_size=D)
        self.attn = nn.Linear(5, 5)

    @property
    def state_size(self):
        return self.lstm.state_size

    @property
    def output_size(self):
        return 5

    def forward(self, inputs, state):
        out, state = self.lstm(inputs, state)
        return torch.tanh(self.attn(out)), state


class NamedAttentionCell(AttentionCell):
    """The same cell declaring its names through the public hook."""

    def named_tf_variables(self, prefix=""):
        scope = f"{prefix}attention_cell/"
        yield from self.lstm.named_tf_variables(scope)
        yield f"{scope}attn/kernel", self.attn.weight  # (a real port would keep it as [in, out])
        yield f"{scope}attn/bias", self.attn.bias


def test_a_cell_without_names_makes_tf_variables_raise_with_its_path():
    stack = rk.MultiRNNCell([rk.GRUCell(D, input_size=D), AttentionCell()])
    with pytest.raises(
        ValueError,
        match=r"^tf_variables: expected a TF name for every parameter of MultiRNNCell, got AttentionCell at "
        r"cells\.1 declares none for \['cells\.1\.lstm\.kernel', 'cells\.1\.lstm\.bias', "
        r"'cells\.1\.attn\.weight', 'cells\.1\.attn\.bias'\] \(a cell declares its names with "
        r"named_tf_variables\(prefix\)\)$",
    ):
        rk.tf_variables(stack)


def test_a_cell_that_declares_its_names_keeps_them():
    stack = rk.MultiRNNCell([rk.GRUCell(D, input_size=D), NamedAttentionCell()])
    names = list(rk.tf_variables(stack))
    assert names[4:] == [
        "rnn/multi_rnn_cell/cell_1/attention_cell/basic_lstm_cell/kernel",
        "rnn/multi_rnn_cell/cell_1/attention_cell/basic_lstm_cell/bias",
        "rnn/multi_rnn_cell/cell_1/attention_cell/attn/kernel",
        "rnn/multi_rnn_cell/cell_1/attention_cell/attn/bias",
    ]


@pytest.mark.parametrize(
    "make",
    [
        lambda: rk.MultiRNNCell(
            [rk.BasicLSTMCell(3), rk.LSTMCell(3, use_peepholes=True, num_proj=2)]
        ),
        lambda: rk.OutputProjectionWrapper(rk.GRUCell(3), 2),
        lambda: rk.InputProjectionWrapper(rk.LayerNormBasicLSTMCell(3), 5),
        lambda: rk.AttentionCellWrapper(rk.BasicLSTMCell(3), attn_length=2),
        lambda: rk.HighwayWrapper(rk.GRUCell(D), couple_carry_transform_gates=False),
    ],
    ids=["stack", "output_projection", "input_projection", "attention_cell", "highway"],
)
def test_an_optimizer_made_before_the_first_call_trains_every_parameter(make):
    torch.manual_seed(0)
    cell = make()
    opt = torch.optim.SGD(cell.parameters(), lr=0.5)  # the PyTorch habit: before any call
    outputs, _ = rk.dynamic_rnn(cell, torch.randn(B, T, D))
    names = rk.tf_variables(cell)
    before = {name: p.detach().clone() for name, p in names.items()}
    outputs.square().sum().backward()
    opt.step()
    held = {id(p) for group in opt.param_groups for p in group["params"]}
    assert all(id(p) in held for p in names.values())
    assert all(not torch.equal(before[n], p.detach()) for n, p in names.items() if "gamma" not in n)


def test_an_unbuilt_cell_has_uninitialized_parameters_and_build_builds_them():
    cell = rk.MultiRNNCell([rk.GRUCell(3), rk.BasicRNNCell(2)])
    assert all(isinstance(p, nn.parameter.UninitializedParameter) for p in cell.parameters())
    assert rk.build(cell, torch.zeros(B, T, D, dtype=torch.float64)) is cell
    assert [tuple(p.shape) for p in rk.tf_variables(cell).values()] == [
        (7, 6),
        (6,),
        (7, 3),
        (3,),
        (5, 2),
        (2,),
    ]
    assert {p.dtype for p in cell.parameters()} == {torch.float64}
    model = nn.Sequential(nn.LazyLinear(3))
    assert rk.build(model, torch.zeros(2, 5)) is model and model[0].weight.shape == (3, 5)


def _lstm_and_state():
    cell = rk.BasicLSTMCell(3, input_size=D)
    c, h = torch.randn(B, 3), torch.randn(B, 3)
    return cell, c, h


def test_a_plain_tuple_is_read_as_c_h_and_warned_about_once_per_line():
    cell, c, h = _lstm_and_state()
    x = torch.randn(B, T, D)
    with pytest.warns(
        rk.StateOrderWarning,
        match=r"^dynamic_rnn: a plain tuple given as an LSTM state is read "
        r"as \(c, h\), TF's order \(torch.nn.LSTM's is \(h, c\)\); pass rk.LSTMStateTuple",
    ):
        out_plain, _ = rk.dynamic_rnn(cell, x, initial_state=(c, h))
    out_named, _ = rk.dynamic_rnn(cell, x, initial_state=rk.LSTMStateTuple(c=c, h=h))
    assert torch.equal(out_plain, out_named)  # TF's rule is kept
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            rk.dynamic_rnn(cell, x, initial_state=(c, h))  # one line: one warning
        rk.dynamic_rnn(cell, x, initial_state=rk.LSTMStateTuple(c, h))
    assert [type(w.message) for w in caught] == [rk.StateOrderWarning]
    assert caught[0].filename == __file__  # points at the user's line, not inside rnnkit


def test_a_plain_tuple_inside_a_stack_and_in_a_cell_call_warn_too():
    cell, c, h = _lstm_and_state()
    with pytest.warns(rk.StateOrderWarning, match=r"^BasicLSTMCell: a plain tuple"):
        cell(torch.randn(B, D), (c, h))
    stack = rk.MultiRNNCell([cell])
    with pytest.warns(rk.StateOrderWarning, match=r"^dynamic_rnn: a plain tuple"):
        rk.dynamic_rnn(stack, torch.randn(B, T, D), initial_state=((c, h),))
    with warnings.catch_warnings():
        warnings.simplefilter("error", rk.StateOrderWarning)
        rk.dynamic_rnn(
            stack, torch.randn(B, T, D), initial_state=(rk.LSTMStateTuple(c, h),)
        )  # no warning


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (run on the GPU machine)")
def test_lazy_parameters_materialize_on_the_inputs_device():
    cell = rk.OutputProjectionWrapper(rk.MultiRNNCell([rk.BasicLSTMCell(3), rk.GRUCell(2)]), 2)
    opt = torch.optim.Adam(cell.parameters())
    outputs, _ = rk.dynamic_rnn(cell, torch.randn(B, T, D, device="cuda"))
    outputs.sum().backward()
    opt.step()
    assert {p.device.type for p in cell.parameters()} == {"cuda"}
    assert len(opt.state) == len(list(cell.parameters()))


@pytest.mark.parametrize(
    "mechanism",
    [
        lambda: rk.seq2seq.LuongAttention(4, scale=True),
        lambda: rk.seq2seq.BahdanauAttention(4, normalize=True),
        lambda: rk.seq2seq.BahdanauMonotonicAttention(4, normalize=True),
    ],
    ids=["luong", "bahdanau", "bahdanau_monotonic"],
)
def test_an_early_optimizer_trains_the_attention_and_decoder_layers(mechanism):
    """seq2seq's lazily sized layers (memory/query layers, scoring variables, the output Dense) are placeholders
    that an optimizer made before the first call holds, and that building fills in place."""
    torch.manual_seed(0)
    mech = mechanism()
    cell = rk.seq2seq.AttentionWrapper(rk.BasicLSTMCell(4), mech, attention_layer_size=3)
    proj = rk.seq2seq.Dense(5, name="output_projection")
    model = torch.nn.ModuleList([cell, proj])
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    held = {id(p) for group in opt.param_groups for p in group["params"]}
    mech.setup_memory(torch.randn(B, 6, D))
    helper = rk.seq2seq.TrainingHelper(torch.randn(B, T, D), torch.full((B,), T))
    decoder = rk.seq2seq.BasicDecoder(cell, helper, cell.zero_state(B), output_layer=proj)
    outputs, _, _ = rk.seq2seq.dynamic_decode(decoder)
    names = rk.tf_variables(decoder, scope="decoder")
    assert all(id(p) in held for p in names.values()), sorted(
        n for n, p in names.items() if id(p) not in held
    )
    before = {n: p.detach().clone() for n, p in names.items()}
    outputs.rnn_output.square().sum().backward()
    opt.step()
    assert all(not torch.equal(before[n], p.detach()) for n, p in names.items())
