#!/usr/bin/env bash
# The fidelity tests again on the newest torch release: pyproject allows torch>=2.1, so `pip install rnnkit` gives
# users the newest torch, while .venv (and the rest of CI) uses the pin in scripts/constraints.txt. scripts/test.sh
# (so CI) runs this after the main pytest run; arguments go to pytest.
#
# The environment lives in the user cache, ${XDG_CACHE_HOME:-~/.cache}/rnnkit/venv-torch-$NEWEST_TORCH (made once,
# reused by every clone on the machine while it holds $NEWEST_TORCH; RNNKIT_NEWEST_TORCH_VENV overrides the place):
# torch, numpy, pytest, hypothesis; rnnkit itself comes from src/ (PYTHONPATH), so no build step. The newest torch exists only as the
# CUDA build: its libtorch links against the nvidia-* libraries, so `import torch` fails without them even on a
# CPU-only machine (measured: `--no-deps` leaves libcudnn.so.9 and 10 others unresolved). They are installed with
# it, as pip resolves them (torch 2.15.0 with its CUDA 13 libraries, from PyPI on this project's machine: 68 s and
# 5.4 GB the first time, nothing afterwards). The tests run on the CPU.
#
# The release is the pin in scripts/newest_torch.txt: set it to the newest release when one comes out (the
# NEWEST_TORCH variable overrides it for one run); RNNKIT_SKIP_NEWEST_TORCH=1 in scripts/test.sh skips this step
# (local use only).
#
# PIP_CONSTRAINT=/dev/null for that install: some machines cap torch in a pip-wide constraints file (on ours
# /etc/xdg/pip caps it at 2.14.1: "The user requested (constraint) torch<=2.14.1"), which would refuse the newest
# release; the variable replaces that file for this one command and keeps the machine's package indexes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
NEWEST_TORCH="${NEWEST_TORCH:-$(sed -n 's/^torch==//p' scripts/newest_torch.txt)}"
if [ -z "$NEWEST_TORCH" ]; then
  echo "test_newest_torch.sh: scripts/newest_torch.txt names no torch==VERSION" >&2
  exit 1
fi
venv="${RNNKIT_NEWEST_TORCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rnnkit/venv-torch-$NEWEST_TORCH}"
py="$venv/bin/python"
t0=$SECONDS

have="$("$py" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [ "$have" != "$NEWEST_TORCH" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "${PYTHON:-python3}" -m venv "$venv"
  PIP_CONSTRAINT=/dev/null "$py" -m pip install --quiet --disable-pip-version-check \
    "torch==$NEWEST_TORCH" "numpy>=1.24" "pytest>=7.4" "hypothesis>=6.80"
  echo "test_newest_torch.sh: made $venv with torch $NEWEST_TORCH ($((SECONDS - t0)) s)"
fi
version="$("$py" -c 'import torch; print(torch.__version__)')"
case "$version" in
  "$NEWEST_TORCH"*) ;;
  *) echo "test_newest_torch.sh: expected torch $NEWEST_TORCH in $venv, got $version" >&2; exit 1 ;;
esac
echo "test_newest_torch.sh: fidelity tests on torch $version (CPU)"

# The fidelity tests: TF fixture replays (cells, surface, contrib, checkpoints, names), the numerics and clip
# boundaries (the clips: tests/cells/test_lstm_cell.py, with LSTMCell's contract cases), the unroll properties,
# the cell contract, the fused kernels (with swap_memory's recomputed chunks and the TF -> torch weight re-layout),
# the sequence kernels (their native loops call the BLAS this torch exports), seq2seq's TF fixtures and NumPy
# reference.
tests=(
  tests/tf_fixtures/test_tf_fixtures.py
  tests/tf_fixtures/test_tf_fixtures_surface.py
  tests/tf_fixtures/test_tf_fixtures_contrib.py
  tests/tf_names/test_tf_names.py
  tests/tf_checkpoint/test_read_fixtures.py
  tests/unroll/test_numerics.py
  tests/cells/test_lstm_cell.py
  tests/unroll/test_properties_unroll.py
  tests/contract
  tests/fused
  tests/cells/test_lstm_layout.py
  tests/unroll/test_swap_memory.py
  tests/kernels
  tests/seq2seq
)
PYTHONPATH="$root/src" "$py" -m pytest -q -p no:cacheprovider "${tests[@]}" "$@"
echo "test_newest_torch.sh: ok on torch $version ($((SECONDS - t0)) s)"
