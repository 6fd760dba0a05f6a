#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install rnnkit into it, editable,
# with the extras named in $1 (default: all,test). Used by main.sh, test.sh and .ci/run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-all,test}"
python="${PYTHON:-python3}"
if [ ! -x "$root/.venv/bin/python" ]; then
  "$python" -m venv "$root/.venv"
fi
"$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c "$root/scripts/constraints.txt" -e "$root[$extras]"
