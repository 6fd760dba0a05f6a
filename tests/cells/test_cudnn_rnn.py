"""The cuDNN layers: TF 1.15's canonical checkpoint layout (written here independently, from the conversion rules
of ``cudnn_rnn_ops.py``: per-gate matrices stitched ``[W | R]``, LSTM gates reordered i,f,c,o -> i,c,f,o, the two
biases saved as their sum) loads into the layer and into the compatible cells; all three paths (layer, compatible
cells on the step loop, torch's own module = the fused kernel) agree; and the layer writes the same checkpoint
back. CUDA: the layer on cuDNN equals the CPU run (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit as rk
from rnnkit.tf_checkpoint import reader, writer

H, D, T, B = 4, 3, 6, 5
LENGTHS = [6, 0, 3, 1, 5]


def _tf_canonical_from_torch(
    module: torch.nn.Module, mode: str, scope: str
) -> dict[str, np.ndarray]:
    """What TF's CudnnOpaqueParamsSaveable wrote for these cuDNN weights (NumPy, from TF 1.15's rules)."""
    out: dict[str, np.ndarray] = {}
    dirs = 2 if module.bidirectional else 1
    flat = [w.detach().double().numpy() for w in module._flat_weights]
    for index in range(module.num_layers * dirs):
        w_ih, w_hh, b_ih, b_hh = flat[4 * index : 4 * index + 4]
        layer, bw = divmod(index, dirs)
        if dirs == 1:
            prefix = f"{scope}/rnn/multi_rnn_cell/cell_{layer}/"
        else:
            prefix = f"{scope}/stack_bidirectional_rnn/cell_{layer}/bidirectional_rnn/{'bw' if bw else 'fw'}/"
        if mode == "gru":
            w_r, w_u, w_h = np.split(w_ih, 3)
            r_r, r_u, r_h = np.split(w_hh, 3)
            b = b_ih + b_hh
            cell = prefix + "cudnn_compatible_gru_cell/"
            out[cell + "gates/kernel"] = np.concatenate(
                [np.concatenate([w_r, r_r], 1), np.concatenate([w_u, r_u], 1)], 0
            ).T
            out[cell + "gates/bias"] = b[: 2 * H]
            out[cell + "candidate/input_projection/kernel"] = w_h.T
            out[cell + "candidate/hidden_projection/kernel"] = r_h.T
            out[cell + "candidate/input_projection/bias"] = b_ih[2 * H :]
            out[cell + "candidate/hidden_projection/bias"] = b_hh[2 * H :]
        else:
            i, f, c, o = (
                np.concatenate([w, r], 1) for w, r in zip(np.split(w_ih, 4), np.split(w_hh, 4))
            )
            bi, bf, bc, bo = np.split(b_ih + b_hh, 4)
            cell = prefix + "cudnn_compatible_lstm_cell/"
            out[cell + "kernel"] = np.concatenate([i, c, f, o], 0).T
            out[cell + "bias"] = np.concatenate([bi, bc, bf, bo])
    return out


def _torch_module(mode: str, bidirectional: bool) -> torch.nn.Module:
    torch.manual_seed(3)
    kind = torch.nn.LSTM if mode == "lstm" else torch.nn.GRU
    module = kind(D, H, num_layers=2, bidirectional=bidirectional, dtype=torch.float64)
    with torch.no_grad():
        for w in module.parameters():
            w.normal_(0, 0.5)  # non-symmetric biases too: b_ih != b_hh
    return module


def _compat_cells(mode: str, depth: int) -> rk.RNNCell:
    if mode == "lstm":
        return rk.CudnnCompatibleLSTMCell(H, input_size=depth, dtype=torch.float64)
    return rk.CudnnCompatibleGRUCell(H, input_size=depth, dtype=torch.float64)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_tf_checkpoint_loads_into_layer_and_compatible_cells(tmp_path, mode, bidirectional):
    module = _torch_module(mode, bidirectional)
    layer_cls = rk.CudnnLSTM if mode == "lstm" else rk.CudnnGRU
    scope = layer_cls(1, 1).tf_name
    canonical = _tf_canonical_from_torch(module, mode, scope)
    opaque = np.concatenate([w.detach().numpy().ravel() for w in module._flat_weights])
    path = writer.write(tmp_path / "model.ckpt", {**canonical, f"{scope}/opaque_kernel": opaque})

    layer = layer_cls(2, H, direction="bidirectional" if bidirectional else "unidirectional",
                      input_size=D, dtype=torch.float64)  # fmt: skip
    assert list(rk.tf_variables(layer, scope=None)) == sorted(canonical, key=list(canonical).index)
    rk.load_tf_checkpoint(layer, path, scope=None)  # strict: opaque_kernel is known to be redundant
    x = torch.randn(T, B, D, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    out, state = layer(x, sequence_lengths=LENGTHS)

    # the fused kernel itself, on the original cuDNN-layout weights (packed: TF's cuDNN v3 length rule)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, torch.tensor(LENGTHS).clamp(min=1), enforce_sorted=False
    )
    ref_packed, _ = module(packed)
    ref_out, _ = torch.nn.utils.rnn.pad_packed_sequence(ref_packed, total_length=T)
    ref_out[:, 1] = 0  # length 0: zero outputs
    torch.testing.assert_close(out, ref_out, rtol=1e-12, atol=1e-12)

    # the compatible cells on the step loop, under the canonical names
    if not bidirectional:
        cell = rk.MultiRNNCell([_compat_cells(mode, D), _compat_cells(mode, H)])
        rk.load_tf_checkpoint(cell, path, scope=f"{scope}/rnn", strict=False)
        cell_out, cell_state = rk.dynamic_rnn(
            cell, x, sequence_length=LENGTHS, time_major=True, fused=False
        )
        hs = [s.h if mode == "lstm" else s for s in cell_state]
        torch.testing.assert_close(state[0], torch.stack(hs), rtol=1e-12, atol=1e-12)
    else:
        fw = [_compat_cells(mode, D), _compat_cells(mode, 2 * H)]
        bw = [_compat_cells(mode, D), _compat_cells(mode, 2 * H)]
        names = rk.tf_variables_stack_bidirectional(
            fw, bw, scope=f"{scope}/stack_bidirectional_rnn"
        )
        rk.load_tf_variable_dict(names, {k: v for k, v in canonical.items() if k in names})
        cell_out, _, _ = rk.stack_bidirectional_dynamic_rnn(
            fw, bw, x, sequence_length=LENGTHS, time_major=True
        )
    torch.testing.assert_close(out, cell_out, rtol=1e-12, atol=1e-12)

    # and back: the layer writes TF's canonical names and values (bias sums), and a torch module with halves
    back = reader.read(rk.save_tf_checkpoint(layer, tmp_path / "back.ckpt", scope=None))
    assert sorted(back) == sorted(canonical)
    for name, value in canonical.items():
        np.testing.assert_allclose(back[name], value, rtol=1e-14, atol=1e-14)
    exported = layer.to_torch_module()
    bias_ih, bias_hh = exported.bias_ih_l0.detach(), exported.bias_hh_l0.detach()
    if mode == "lstm":
        torch.testing.assert_close(bias_ih, bias_hh)  # TF restored each saved sum as two halves
    torch.testing.assert_close(bias_ih + bias_hh, module.bias_ih_l0 + module.bias_hh_l0)


def test_forget_bias_must_be_zero_to_restore_cudnn_lstm_into_lstm_cells():
    layer = rk.CudnnLSTM(1, H, input_size=D, dtype=torch.float64)
    x = torch.randn(T, B, D, dtype=torch.float64)
    values = {k.removeprefix("cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/"): v.detach()
              for k, v in rk.tf_variables(layer, scope=None).items()}  # fmt: skip
    out, _ = layer(x)
    for forget_bias, same in [(0.0, True), (1.0, False)]:
        cell = rk.LSTMCell(H, forget_bias=forget_bias, input_size=D, dtype=torch.float64)
        rk.load_tf_variables(cell, {f"lstm_cell/{k}": v for k, v in values.items()}, scope=None)
        cell_out, _ = rk.dynamic_rnn(cell, x, time_major=True)
        assert torch.allclose(cell_out, out, atol=1e-12) is same


def test_layer_state_shapes_time_major_and_dropout():
    layer = rk.CudnnLSTM(2, H, direction="bidirectional", dropout=0.5)
    x = torch.randn(T, B, D)
    out, (h, c) = layer(x)
    assert out.shape == (T, B, 2 * H) and h.shape == c.shape == (4, B, H)
    assert layer.state_shape(B) == ([4, B, H], [4, B, H])
    out_bm, (h_bm, _) = layer(x.transpose(0, 1), time_major=False, training=False)
    out_tm, (h_tm, _) = layer(x, training=False)
    torch.testing.assert_close(out_bm.transpose(0, 1), out_tm)
    torch.testing.assert_close(h_bm.transpose(0, 1), h_tm)
    layer.eval()
    torch.testing.assert_close(layer(x)[0], out_tm)  # eval(): no dropout, deterministic
    layer.train()
    assert not torch.allclose(layer(x)[0], out_tm)  # dropout between the layers in training
    assert (
        rk.fused.explain(layer)
        == "fused: torch._VF.lstm(num_layers=2, hidden_size=4, bidirectional=True)"
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (cuDNN)")
@pytest.mark.parametrize("cls", [rk.CudnnLSTM, rk.CudnnGRU, rk.CudnnRNNTanh, rk.CudnnRNNRelu])
def test_cudnn_on_cuda_equals_cpu(cls):
    torch.manual_seed(0)
    layer = cls(2, 8, direction="bidirectional", input_size=5)
    x = torch.randn(7, 3, 5)
    lengths = [7, 2, 0]
    out, state = layer(x, sequence_lengths=lengths)
    gpu = cls(2, 8, direction="bidirectional", input_size=5, device="cuda")
    gpu.load_state_dict(layer.state_dict())
    out_gpu, state_gpu = gpu(x.cuda(), sequence_lengths=lengths)
    torch.testing.assert_close(out_gpu.cpu(), out, rtol=1e-4, atol=1e-5)
    for a, b in zip(state_gpu, state):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-4, atol=1e-5)
    cell = rk.MultiRNNCell([rk.CudnnCompatibleLSTMCell(8, input_size=5, device="cuda")])
    assert rk.fused.explain(cell).startswith("fused: torch._VF.lstm")
