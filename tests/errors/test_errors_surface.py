"""Bad input → one clear error, for the wrappers, LayerNormBasicLSTMCell, the bidirectional/stacked unrolls,
``reverse_sequence``, ``raw_rnn`` and the bidirectional TF-name helpers (STYLE.md rules 5 and 11).

As in ``test_errors_core.py``: each case changes one thing in a correct baseline call (perturbed sizes are 7;
B=4, T=5, D=3, H=6) and is matched on its whole message; docs/errors.md carries the generated table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch

import rnnkit as rk
from tests._errors import Case, assert_in_doc, check, table

B, T, D, H = 4, 5, 3, 6
BAD = 7


def x3(*shape, dtype=torch.float32):
    return torch.zeros(*(shape or (B, T, D)), dtype=dtype)


def steps(n=T, batch=B):
    return [torch.zeros(batch, D) for _ in range(n)]


def lstm(depth=D):
    return rk.BasicLSTMCell(H, input_size=depth)


def state(batch=B, dtype=torch.float32, device="cpu"):
    return rk.LSTMStateTuple(*(torch.zeros(batch, H, dtype=dtype, device=device) for _ in "ch"))


def loop_fn(finished=None, items=5):
    """A raw_rnn loop_fn reading x3() for T steps, with ``finished`` (or the item count) replaced when given."""
    x = x3()

    def fn(time, cell_output, cell_state, loop_state):
        done = torch.full((B,), time >= T) if finished is None else finished
        result = (
            done,
            x[:, min(time, T - 1)],
            cell_state or lstm().zero_state(B),
            cell_output,
            None,
        )
        return result[:items]

    return fn


# One small TF checkpoint written by rnnkit (a BasicLSTMCell(H) for inputs of depth D) for the loading cases.
CKPT = Path(tempfile.mkdtemp(prefix="rnnkit-errors-")) / "model.ckpt"
rk.save_tf_checkpoint(lstm(), CKPT)

C = Case

# A table: one case per 3-4 lines reads better than the formatter's 9 lines per case.
# fmt: off
CASES = [
    # --- DropoutWrapper -----------------------------------------------------------------------------------
    C("dropout-keep-zero", "DropoutWrapper", "input_keep_prob", "0 (TF's keep probability, not a drop rate)",
      lambda: rk.DropoutWrapper(lstm(), input_keep_prob=0.0), ValueError,
      "DropoutWrapper: expected input_keep_prob in (0, 1], got 0.0"),
    C("dropout-keep-above-one", "DropoutWrapper", "output_keep_prob", "> 1",
      lambda: rk.DropoutWrapper(lstm(), output_keep_prob=1.5), ValueError,
      "DropoutWrapper: expected output_keep_prob in (0, 1], got 1.5"),
    C("dropout-keep-nan", "DropoutWrapper", "state_keep_prob", "NaN",
      lambda: rk.DropoutWrapper(lstm(), state_keep_prob=float("nan")), ValueError,
      "DropoutWrapper: expected state_keep_prob in (0, 1], got nan"),
    C("dropout-keep-str", "DropoutWrapper", "input_keep_prob", "a str",
      lambda: rk.DropoutWrapper(lstm(), input_keep_prob="0.5"), TypeError,
      "DropoutWrapper: expected input_keep_prob to be a float or a 0-d float tensor, got str '0.5'"),
    C("dropout-not-a-cell", "DropoutWrapper", "cell", "not an RNNCell",
      lambda: rk.DropoutWrapper(torch.nn.Linear(D, H)), TypeError,
      "DropoutWrapper: expected cell to be an rnnkit RNNCell, got Linear (missing: state_size, output_size, "
      "zero_state)"),
    C("dropout-seed", "DropoutWrapper", "seed", "a float",
      lambda: rk.DropoutWrapper(lstm(), seed=1.5), TypeError,
      "DropoutWrapper: expected seed to be an int or None, got float 1.5"),
    C("dropout-variational-depth", "DropoutWrapper", "input_size", "!= the inputs' depth (variational_recurrent)",
      lambda: rk.dynamic_rnn(rk.DropoutWrapper(rk.BasicLSTMCell(H), input_keep_prob=0.5,
                                               variational_recurrent=True, input_size=BAD), x3()), ValueError,
      "DropoutWrapper: built for input_size=7, got input depths [3]"),
    C("dropout-visitor", "DropoutWrapper", "dropout_state_filter_visitor", "returns neither bools nor a bool list",
      lambda: rk.dynamic_rnn(rk.DropoutWrapper(lstm(), state_keep_prob=0.5,
                                               dropout_state_filter_visitor=lambda s: BAD), x3()), ValueError,
      "DropoutWrapper: expected dropout_state_filter_visitor to return a bool or one bool per element of "
      "LSTMStateTuple (length 2), got int 7"),
    # --- Residual / Device / projection wrappers -----------------------------------------------------------
    C("residual-shape", "ResidualWrapper", "cell", "output size != input depth (default residual_fn)",
      lambda: rk.dynamic_rnn(rk.ResidualWrapper(lstm()), x3()), ValueError,
      "ResidualWrapper: expected the cell's output to have the inputs' shape (4, 3) (the default residual_fn "
      "adds them), got (4, 6)"),
    C("residual-fn", "ResidualWrapper", "residual_fn", "not callable",
      lambda: rk.ResidualWrapper(lstm(), residual_fn=BAD), TypeError,
      "ResidualWrapper: expected residual_fn to be callable, got int 7"),
    C("residual-not-a-cell", "ResidualWrapper", "cell", "not an RNNCell",
      lambda: rk.ResidualWrapper(BAD), TypeError,
      "ResidualWrapper: expected cell to be an rnnkit RNNCell, got int (missing: state_size, output_size, "
      "zero_state, __call__)"),
    C("device-name", "DeviceWrapper", "device", "not a device name",
      lambda: rk.DeviceWrapper(lstm(), "nope"), ValueError,
      "DeviceWrapper: expected a torch device name ('cpu', 'cuda:0') or a TF device string "
      "('/gpu:0', '/device:CPU:0', '/job:localhost/replica:0/task:0/device:GPU:1'), got 'nope'"),
    C("device-tf-other-job", "DeviceWrapper", "device", "a TF device of another job (another process)",
      lambda: rk.DeviceWrapper(lstm(), "/job:worker/task:1/device:GPU:0"), ValueError,
      "DeviceWrapper: expected a torch device name ('cpu', 'cuda:0') or a TF device string "
      "('/gpu:0', '/device:CPU:0', '/job:localhost/replica:0/task:0/device:GPU:1'), got "
      "'/job:worker/task:1/device:GPU:0'"),
    C("device-tf-type", "DeviceWrapper", "device", "a TF device of an unknown type",
      lambda: rk.DeviceWrapper(lstm(), "/device:TPU:0"), ValueError,
      "DeviceWrapper: expected a torch device name ('cpu', 'cuda:0') or a TF device string "
      "('/gpu:0', '/device:CPU:0', '/job:localhost/replica:0/task:0/device:GPU:1'), got '/device:TPU:0'"),
    C("device-type", "DeviceWrapper", "device", "neither str nor torch.device",
      lambda: rk.DeviceWrapper(lstm(), 3.5), TypeError,
      "DeviceWrapper: expected device to be a str or torch.device, got float 3.5"),
    C("output-projection-zero", "OutputProjectionWrapper", "output_size", "0",
      lambda: rk.OutputProjectionWrapper(lstm(), 0), ValueError,
      "OutputProjectionWrapper: expected output_size to be a positive int, got 0"),
    C("output-projection-float", "OutputProjectionWrapper", "output_size", "a float",
      lambda: rk.OutputProjectionWrapper(lstm(), 2.5), TypeError,
      "OutputProjectionWrapper: expected output_size to be a positive int, got float 2.5"),
    C("output-projection-activation", "OutputProjectionWrapper", "activation", "an unknown name",
      lambda: rk.OutputProjectionWrapper(lstm(), 2, activation="nope"), ValueError,
      "OutputProjectionWrapper: expected activation to be a callable or one of elu, gelu, linear, relu, relu6, "
      "selu, sigmoid, softplus, softsign, swish, tanh, got 'nope'"),
    C("input-projection-zero", "InputProjectionWrapper", "num_proj", "0",
      lambda: rk.InputProjectionWrapper(lstm(), 0), ValueError,
      "InputProjectionWrapper: expected num_proj to be a positive int, got 0"),
    C("input-projection-depth", "InputProjectionWrapper", "inputs", "depth != input_size",
      lambda: rk.dynamic_rnn(rk.InputProjectionWrapper(rk.BasicLSTMCell(H), 4, input_size=D), x3(B, T, BAD)),
      ValueError, "InputProjectionWrapper: built for input_size=3, got inputs.shape[-1]=7"),
    C("input-projection-vs-cell", "InputProjectionWrapper", "num_proj", "!= the wrapped cell's input_size",
      lambda: rk.dynamic_rnn(rk.InputProjectionWrapper(lstm(), BAD), x3()), ValueError,
      "BasicLSTMCell: built for input_size=3, got inputs.shape[-1]=7"),
    # --- LayerNormBasicLSTMCell ---------------------------------------------------------------------------
    C("layer-norm-num-units", "LayerNormBasicLSTMCell", "num_units", "0",
      lambda: rk.LayerNormBasicLSTMCell(0), ValueError,
      "LayerNormBasicLSTMCell: expected num_units to be a positive int, got 0"),
    C("layer-norm-keep", "LayerNormBasicLSTMCell", "dropout_keep_prob", "0",
      lambda: rk.LayerNormBasicLSTMCell(H, dropout_keep_prob=0.0), ValueError,
      "LayerNormBasicLSTMCell: expected dropout_keep_prob in (0, 1], got 0.0"),
    C("layer-norm-gain", "LayerNormBasicLSTMCell", "norm_gain", "a str",
      lambda: rk.LayerNormBasicLSTMCell(H, norm_gain="1"), TypeError,
      "LayerNormBasicLSTMCell: expected norm_gain to be a float, got str '1'"),
    C("layer-norm-flag", "LayerNormBasicLSTMCell", "layer_norm", "not a bool",
      lambda: rk.LayerNormBasicLSTMCell(H, layer_norm=1), TypeError,
      "LayerNormBasicLSTMCell: expected layer_norm to be a bool, got int 1"),
    C("layer-norm-depth", "LayerNormBasicLSTMCell", "inputs", "depth != input_size",
      lambda: rk.dynamic_rnn(rk.LayerNormBasicLSTMCell(H, input_size=D), x3(B, T, BAD)), ValueError,
      "LayerNormBasicLSTMCell: built for input_size=3, got inputs.shape[-1]=7"),
    # --- bidirectional_dynamic_rnn ------------------------------------------------------------------------
    C("bidi-not-a-cell", "bidirectional_dynamic_rnn", "cell_fw", "not an RNNCell",
      lambda: rk.bidirectional_dynamic_rnn(BAD, lstm(), x3()), TypeError,
      "bidirectional_dynamic_rnn: expected cell_fw to be an rnnkit RNNCell, got int (missing: state_size, "
      "output_size, zero_state, __call__)"),
    C("bidi-rank2", "bidirectional_dynamic_rnn", "inputs", "rank < 3",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(B, D)), ValueError,
      "bidirectional_dynamic_rnn: expected inputs of rank 3 [B, T, D], got shape (4, 3)"),
    C("bidi-list", "bidirectional_dynamic_rnn", "inputs", "a list of per-step tensors",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), steps()), TypeError,
      "bidirectional_dynamic_rnn: expected inputs as one [B, T, D] tensor (or a nested structure of them), got "
      "a list of 5 rank-2 tensors; use static_rnn for a list of per-step tensors"),
    C("bidi-int", "bidirectional_dynamic_rnn", "inputs", "integer dtype",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(dtype=torch.int64)), TypeError,
      "bidirectional_dynamic_rnn: expected floating-point inputs, got torch.int64"),
    C("bidi-B0", "bidirectional_dynamic_rnn", "inputs", "B == 0",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(0, T, D)), ValueError,
      "bidirectional_dynamic_rnn: expected at least one batch row (B >= 1), got shape (0, 5, 3)"),
    C("bidi-depth", "bidirectional_dynamic_rnn", "inputs", "depth != the cells' input_size",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(B, T, BAD)), ValueError,
      "BasicLSTMCell: built for input_size=3, got inputs.shape[-1]=7"),
    C("bidi-dtype", "bidirectional_dynamic_rnn", "dtype", "!= the inputs' dtype",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(), dtype=torch.float64), TypeError,
      "bidirectional_dynamic_rnn: expected dtype to match the inputs' dtype torch.float32, got torch.float64"),
    C("bidi-length-long", "bidirectional_dynamic_rnn", "sequence_length", "an entry > T",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(), sequence_length=[BAD, 1, 1, 1]), ValueError,
      "bidirectional_dynamic_rnn: expected sequence_length <= the number of time steps (5), got 7"),
    C("bidi-length-negative", "bidirectional_dynamic_rnn", "sequence_length", "an entry < 0",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(), sequence_length=[-1, 1, 1, 1]), ValueError,
      "bidirectional_dynamic_rnn: expected sequence_length >= 0, got a minimum of -1"),
    C("bidi-init-batch", "bidirectional_dynamic_rnn", "initial_state_bw", "B != the inputs' B",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(), initial_state_bw=state(batch=BAD)), ValueError,
      "bidirectional_dynamic_rnn (initial_state_bw): expected a state tensor of shape [B=4, 6], got shape (7, 6)"),
    C("bidi-init-structure", "bidirectional_dynamic_rnn", "initial_state_fw", "a tensor for an LSTMStateTuple",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(), initial_state_fw=torch.zeros(B, H)), ValueError,
      "bidirectional_dynamic_rnn (initial_state_fw) (state): expected a structure like LSTMStateTuple(leaf, "
      "leaf), got leaf"),
    C("bidi-init-dtype", "bidirectional_dynamic_rnn", "initial_state_fw", "dtype != the inputs'",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(), initial_state_fw=state(dtype=torch.float64)),
      TypeError, "bidirectional_dynamic_rnn (initial_state_fw): expected state tensors of dtype torch.float32 "
      "(the inputs'), got torch.float64"),
    C("bidi-init-device", "bidirectional_dynamic_rnn", "initial_state_bw", "on another device than the inputs",
      lambda: rk.bidirectional_dynamic_rnn(lstm(), lstm(), x3(), initial_state_bw=state(device="meta")),
      ValueError, "bidirectional_dynamic_rnn (initial_state_bw): expected state tensors on cpu (the inputs'), "
      "got meta"),
    # --- static_bidirectional_rnn and the stacks ----------------------------------------------------------
    C("static-bidi-tensor", "static_bidirectional_rnn", "inputs", "one tensor instead of a list",
      lambda: rk.static_bidirectional_rnn(lstm(), lstm(), x3()), TypeError,
      "static_bidirectional_rnn: expected inputs to be a list of [B, D] tensors, got a tensor of shape "
      "(4, 5, 3); use bidirectional_dynamic_rnn for one [B, T, D] tensor (or list(x.unbind(1)))"),
    C("static-bidi-empty", "static_bidirectional_rnn", "inputs", "an empty list",
      lambda: rk.static_bidirectional_rnn(lstm(), lstm(), []), ValueError,
      "static_bidirectional_rnn: expected a non-empty list of inputs, got an empty list"),
    C("static-bidi-step-batch", "static_bidirectional_rnn", "inputs", "a later step with another B",
      lambda: rk.static_bidirectional_rnn(lstm(), lstm(), steps(2) + steps(1, batch=BAD)), ValueError,
      "static_bidirectional_rnn: expected every step to have B=4, got inputs[2] of shape (7, 3)"),
    C("static-bidi-length", "static_bidirectional_rnn", "sequence_length", "an entry > T",
      lambda: rk.static_bidirectional_rnn(lstm(), lstm(), steps(), sequence_length=[BAD, 1, 1, 1]), ValueError,
      "static_bidirectional_rnn: expected sequence_length <= the number of time steps (5), got 7"),
    C("static-bidi-dtype", "static_bidirectional_rnn", "dtype", "!= the inputs' dtype",
      lambda: rk.static_bidirectional_rnn(lstm(), lstm(), steps(), dtype="float64"), TypeError,
      "static_bidirectional_rnn: expected dtype to match the inputs' dtype torch.float32, got torch.float64"),
    C("stack-bidi-depths", "stack_bidirectional_dynamic_rnn", "cells_bw", "another number of layers",
      lambda: rk.stack_bidirectional_dynamic_rnn([lstm()], [lstm(), lstm()], x3()), ValueError,
      "stack_bidirectional_dynamic_rnn: expected cells_fw and cells_bw of the same depth, got 1 and 2"),
    C("stack-bidi-empty", "stack_bidirectional_dynamic_rnn", "cells_fw", "an empty list",
      lambda: rk.stack_bidirectional_dynamic_rnn([], [], x3()), ValueError,
      "stack_bidirectional_dynamic_rnn: expected at least one cell in cells_fw, got an empty list"),
    C("stack-bidi-not-list", "stack_bidirectional_dynamic_rnn", "cells_fw", "a cell instead of a list",
      lambda: rk.stack_bidirectional_dynamic_rnn(BAD, [lstm()], x3()), TypeError,
      "stack_bidirectional_dynamic_rnn: expected cells_fw to be a list of cells (one per layer), got int 7"),
    C("stack-bidi-str", "stack_bidirectional_dynamic_rnn", "cells_bw", "a str instead of a list",
      lambda: rk.stack_bidirectional_dynamic_rnn([lstm()], "lstm", x3()), TypeError,
      "stack_bidirectional_dynamic_rnn: expected cells_bw to be a list of cells (one per layer), got str 'lstm'"),
    C("stack-bidi-states", "stack_bidirectional_dynamic_rnn", "initial_states_fw", "a list of another length",
      lambda: rk.stack_bidirectional_dynamic_rnn([lstm()], [lstm()], x3(), initial_states_fw=[]), ValueError,
      "stack_bidirectional_dynamic_rnn: expected initial_states_fw to be a list of 1 states (one per layer), got "
      "a list of length 0"),
    C("stack-bidi-layer-depth", "stack_bidirectional_dynamic_rnn", "cells_fw", "layer 2 not built for 2H inputs",
      lambda: rk.stack_bidirectional_dynamic_rnn([lstm(), lstm()], [lstm(), lstm()], x3()), ValueError,
      "BasicLSTMCell: built for input_size=3, got inputs.shape[-1]=12"),
    C("stack-bidi-int", "stack_bidirectional_dynamic_rnn", "inputs", "integer dtype",
      lambda: rk.stack_bidirectional_dynamic_rnn([lstm()], [lstm()], x3(dtype=torch.int32)), TypeError,
      "stack_bidirectional_dynamic_rnn: expected floating-point inputs, got torch.int32"),
    C("stack-static-tensor", "stack_bidirectional_rnn", "inputs", "one tensor instead of a list",
      lambda: rk.stack_bidirectional_rnn([lstm()], [lstm()], x3()), TypeError,
      "stack_bidirectional_rnn: expected inputs to be a list of [B, D] tensors, got a tensor of shape (4, 5, 3); "
      "use stack_bidirectional_dynamic_rnn for one [B, T, D] tensor (or list(x.unbind(1)))"),
    # --- reverse_sequence ---------------------------------------------------------------------------------
    C("reverse-negative", "reverse_sequence", "seq_lengths", "an entry < 0",
      lambda: rk.reverse_sequence(x3(), torch.tensor([1, -1, 1, 1])), ValueError,
      "reverse_sequence: expected seq_lengths >= 0, got a minimum of -1"),
    C("reverse-too-long", "reverse_sequence", "seq_lengths", "an entry > T",
      lambda: rk.reverse_sequence(x3(), torch.tensor([1, BAD, 1, 1])), ValueError,
      "reverse_sequence: expected seq_lengths <= the number of time steps (5), got 7"),
    C("reverse-shape", "reverse_sequence", "seq_lengths", "length != B",
      lambda: rk.reverse_sequence(x3(), torch.ones(BAD, dtype=torch.int64)), ValueError,
      "reverse_sequence: expected seq_lengths of shape [B] = (4,), got shape (7,)"),
    C("reverse-float", "reverse_sequence", "seq_lengths", "a float tensor",
      lambda: rk.reverse_sequence(x3(), torch.ones(B)), TypeError,
      "reverse_sequence: expected seq_lengths to hold integers, got torch.float32"),
    C("reverse-input", "reverse_sequence", "input", "not a tensor",
      lambda: rk.reverse_sequence(x3().numpy(), [1, 1, 1, 1]), TypeError,
      "reverse_sequence: expected input to be a tensor, got a numpy float32 array of shape (4, 5, 3)"),
    C("reverse-axes", "reverse_sequence", "seq_axis", "out of range",
      lambda: rk.reverse_sequence(x3(), [1, 1, 1, 1], seq_axis=BAD), ValueError,
      "reverse_sequence: expected (seq_axis, batch_axis) (1, 0) or (0, 1) on an input of rank >= 2, got (7, 0) "
      "on shape (4, 5, 3)"),
    # --- raw_rnn ------------------------------------------------------------------------------------------
    C("raw-rnn-loop-fn", "raw_rnn", "loop_fn", "not callable",
      lambda: rk.raw_rnn(lstm(), BAD), TypeError, "raw_rnn: expected loop_fn to be callable, got int 7"),
    C("raw-rnn-items", "raw_rnn", "loop_fn", "returns 4 items instead of 5",
      lambda: rk.raw_rnn(lstm(), loop_fn(items=4)), TypeError,
      "raw_rnn: expected loop_fn to return (finished, next_input, next_cell_state, emit_output, next_loop_state) "
      "at time 0, got a tuple of length 4"),
    C("raw-rnn-finished", "raw_rnn", "loop_fn", "finished as a float tensor",
      lambda: rk.raw_rnn(lstm(), loop_fn(finished=torch.zeros(B))), TypeError,
      "raw_rnn: expected loop_fn to return finished as a bool tensor [B] at time 0, got a torch.float32 tensor "
      "of shape (4,)"),
    C("raw-rnn-not-a-cell", "raw_rnn", "cell", "not an RNNCell",
      lambda: rk.raw_rnn(torch.nn.Linear(D, H), loop_fn()), TypeError,
      "raw_rnn: expected cell to be an rnnkit RNNCell, got Linear (missing: state_size, output_size, zero_state)"),
    # --- TF names and hooks -------------------------------------------------------------------------------
    C("tf-names-bidi-not-a-cell", "tf_variables_bidirectional", "cell_fw", "not an rnnkit cell",
      lambda: rk.tf_variables_bidirectional(BAD, lstm()), TypeError,
      "tf_variables_bidirectional: expected an rnnkit cell, got int"),
    C("tf-names-stack-depths", "tf_variables_stack_bidirectional", "cells_bw", "another number of layers",
      lambda: rk.tf_variables_stack_bidirectional([lstm()], [lstm(), lstm()]), ValueError,
      "tf_variables_stack_bidirectional: expected cells_fw and cells_bw of the same depth, got 1 and 2"),
    C("load-dict-not-mapping", "load_tf_variable_dict", "variables", "not a mapping",
      lambda: rk.load_tf_variable_dict([], {}), TypeError,
      "load_tf_variable_dict: expected variables to be a mapping of TF name -> parameter, got list"),
    C("load-dict-missing", "load_tf_variable_dict", "values", "names missing (strict)",
      lambda: rk.load_tf_variable_dict(rk.tf_variables(lstm()), {}), ValueError,
      "load_tf_variable_dict: expected the model's TF variables, got missing ['rnn/basic_lstm_cell/kernel', "
      "'rnn/basic_lstm_cell/bias']"),
    # --- TF checkpoints (the saved one: a BasicLSTMCell(6) for D=3 under "rnn") ----------------------------
    C("load-ckpt-missing", "load_tf_checkpoint", "path", "no checkpoint there",
      lambda: rk.load_tf_checkpoint(lstm(), CKPT.parent / "nope"), rk.tf_checkpoint.CheckpointError,
      f"{CKPT.parent / 'nope'}: no checkpoint found (missing {CKPT.parent / 'nope'}.index)"),
    C("load-ckpt-path-type", "load_tf_checkpoint", "path", "not a path",
      lambda: rk.load_tf_checkpoint(lstm(), BAD), TypeError,
      "load_tf_checkpoint: expected path to be a str or os.PathLike, got int 7"),
    C("load-ckpt-scope", "load_tf_checkpoint", "scope", "another scope than the checkpoint's",
      lambda: rk.load_tf_checkpoint(lstm(), CKPT, scope="fw"), rk.tf_checkpoint.CheckpointError,
      f"{CKPT}: load_tf_checkpoint: expected the cell's TF variables under scope 'fw', got no variable there; "
      "RNN scopes in the checkpoint: ['rnn'] (closest: 'rnn')"),
    C("load-ckpt-shape", "load_tf_checkpoint", "module_or_cell", "num_units != the checkpoint's",
      lambda: rk.load_tf_checkpoint(rk.BasicLSTMCell(BAD, input_size=D), CKPT), rk.tf_checkpoint.CheckpointError,
      f"{CKPT}: load_tf_checkpoint: shape mismatch [rnn/basic_lstm_cell/kernel: expected (10, 28), got (9, 24); "
      "rnn/basic_lstm_cell/bias: expected (28,), got (24,)]"),
    C("load-ckpt-unbuilt", "load_tf_checkpoint", "module_or_cell", "an unbuilt cell",
      lambda: rk.load_tf_checkpoint(rk.BasicLSTMCell(H), CKPT), ValueError,
      "load_tf_checkpoint: expected a built cell, got BasicLSTMCell whose variable rnn/basic_lstm_cell/kernel "
      "does not exist yet; pass input_size= to the cell, call cell.build(D), or run it once"),
    C("load-ckpt-not-a-model", "load_tf_checkpoint", "module_or_cell", "neither a cell nor a model with names",
      lambda: rk.load_tf_checkpoint(BAD, CKPT), TypeError,
      "load_tf_checkpoint: expected an rnnkit cell, a module named with rk.tf_name, or a module with a "
      "tf_variables() method, got int"),
    C("load-ckpt-strict", "load_tf_checkpoint", "strict", "not a bool",
      lambda: rk.load_tf_checkpoint(lstm(), CKPT, strict="no"), TypeError,
      "load_tf_checkpoint: expected strict to be a bool, got 'no'"),
    C("save-ckpt-prefix-type", "save_tf_checkpoint", "prefix", "not a path",
      lambda: rk.save_tf_checkpoint(lstm(), BAD), TypeError,
      "save_tf_checkpoint: expected prefix to be a str or os.PathLike, got int 7"),
    C("save-ckpt-not-a-model", "save_tf_checkpoint", "module_or_cell", "neither a cell nor a model with names",
      lambda: rk.save_tf_checkpoint(BAD, CKPT.parent / "other"), TypeError,
      "save_tf_checkpoint: expected an rnnkit cell, a module named with rk.tf_name, or a module with a "
      "tf_variables() method, got int"),
    # --- fused kernels (rk.fused; dynamic_rnn's fused= argument) --------------------------------------------
    C("fused-impossible", "dynamic_rnn (rk.fused)", "fused", "True for a cell torch's kernels cannot run",
      lambda: rk.dynamic_rnn(rk.GRUCell(H, input_size=D), torch.zeros(B, T, D), fused=True), ValueError,
      "dynamic_rnn: fused=True, but torch's fused kernels cannot run this: GRUCell has no fused form: torch's GRU "
      "kernel applies the reset gate after the matmul, TF's before"),
    C("fused-type", "dynamic_rnn (rk.fused)", "fused", "not None/True/False",
      lambda: rk.dynamic_rnn(lstm(), torch.zeros(B, T, D), fused="yes"), TypeError,
      "dynamic_rnn: expected fused to be None, True or False, got 'yes'"),
    C("begin-sequence", "begin_sequence", "cell", "not a module",
      lambda: rk.begin_sequence(BAD), TypeError, "begin_sequence: expected a cell (a torch.nn.Module), got int"),
]

BASELINES = {
    "wrappers": lambda: rk.dynamic_rnn(
        rk.MultiRNNCell([rk.DropoutWrapper(lstm(), 0.5, 0.9, 0.8, variational_recurrent=True, input_size=D, seed=1),
                         rk.ResidualWrapper(rk.BasicLSTMCell(H, input_size=H)),
                         rk.OutputProjectionWrapper(rk.InputProjectionWrapper(lstm(), D, input_size=H), 2)]),
        x3()),
    "device": lambda: rk.dynamic_rnn(rk.DeviceWrapper(lstm(), "cpu"), x3()),
    "layer_norm": lambda: rk.dynamic_rnn(rk.LayerNormBasicLSTMCell(H, input_size=D, dropout_keep_prob=0.9), x3()),
    "bidirectional": lambda: rk.bidirectional_dynamic_rnn(
        lstm(), lstm(), x3(), sequence_length=[5, 0, 3, 1], initial_state_fw=state(), initial_state_bw=state(),
        dtype=torch.float32),
    "static_bidirectional": lambda: rk.static_bidirectional_rnn(lstm(), lstm(), steps(), dtype="float32",
                                                                sequence_length=[5, 0, 3, 1]),
    "stacks": lambda: (rk.stack_bidirectional_dynamic_rnn([lstm(), lstm(2 * H)], [lstm(), lstm(2 * H)], x3(),
                                                          initial_states_fw=[state(), state()]),
                       rk.stack_bidirectional_rnn([lstm()], [lstm()], steps())),
    "reverse_sequence": lambda: rk.reverse_sequence(x3(), [5, 0, 3, 1]),
    "raw_rnn": lambda: rk.raw_rnn(lstm(), loop_fn()),
    "tf_names": lambda: (rk.load_tf_variable_dict(rk.tf_variables_bidirectional(lstm(), lstm()),
                                                  {k: v.detach() for k, v in
                                                   rk.tf_variables_bidirectional(lstm(), lstm()).items()}),
                         rk.tf_variables_stack_bidirectional([lstm()], [lstm()]), rk.begin_sequence(lstm())),
}
# fmt: on


@pytest.mark.parametrize("name", list(BASELINES))
def test_baseline_calls_succeed(name):
    """The correct calls every case perturbs: they must not raise."""
    BASELINES[name]()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case):
    check(case)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def surface_table() -> str:
    """The table of CASES that docs/errors.md carries (written by ``tools/errors_table.py``)."""
    return table(CASES, "test_errors_surface.py").replace(
        str(CKPT.parent), "…"
    )  # a temp dir per run


def test_errors_doc_is_in_sync():
    assert_in_doc(surface_table())
