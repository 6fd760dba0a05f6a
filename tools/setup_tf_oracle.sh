#!/usr/bin/env bash
# Create the TensorFlow oracle environments that every fixture generator (tools/make_*.py), the outside random
# checks (tools/tf_random_check.py) and the TF side of the benchmarks run in. The test suite never needs them:
# it replays the committed fixtures. Usage:
#   bash tools/setup_tf_oracle.sh            # both environments
#   bash tools/setup_tf_oracle.sh tf         # only .tf-oracle/tf
#   bash tools/setup_tf_oracle.sh tf215      # only .tf-oracle/tf215
# Environments (under .tf-oracle/ in the checkout, git-ignored):
#   .tf-oracle/tf     tensorflow-cpu 2.21 + tf-keras: tf.compat.v1 nn.rnn_cell / dynamic_rnn / Saver, and the
#                     block-cell kernels tf.raw_ops.LSTMBlockCell / BlockLSTM / GRUBlockCell.
#                     Run scripts as: TF_USE_LEGACY_KERAS=1 .tf-oracle/tf/bin/python tools/SCRIPT.py
#   .tf-oracle/tf215  tensorflow-cpu 2.15.1 + tensorflow-addons 0.23.0: tfa.seq2seq, which is tf.contrib.seq2seq
#                     ported to TF2 with the same math (tfa's C++ ops do not load; its Python ops do).
#                     Run scripts as: TF_ADDONS_PY_OPS=1 .tf-oracle/tf215/bin/python tools/SCRIPT.py
# Needs Python 3.11 (tensorflow-addons 0.23 has no wheel for newer Pythons); PYTHON=... picks the interpreter.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
which_envs="${1:-all}"

make_env() {  # make_env NAME PACKAGE...
  local dir="$root/.tf-oracle/$1"
  shift
  if [ ! -x "$dir/bin/python" ]; then
    "$python" -m venv "$dir"
  fi
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "setup_tf_oracle: $dir ready ($("$dir/bin/python" -c 'import tensorflow as tf; print("tensorflow", tf.__version__)' 2>/dev/null | tail -1))"
}

# numpy and the rnnkit replay side are not needed inside the oracle: the generators write .npz/.json only.
if [ "$which_envs" = all ] || [ "$which_envs" = tf ]; then
  make_env tf "tensorflow-cpu==2.21.0" "tf-keras~=2.21.0"
fi
if [ "$which_envs" = all ] || [ "$which_envs" = tf215 ]; then
  make_env tf215 "tensorflow-cpu==2.15.1" "tensorflow-addons==0.23.0"
fi
