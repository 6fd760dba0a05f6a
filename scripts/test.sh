#!/usr/bin/env bash
# Install rnnkit with its test extras into .venv and run the whole test suite (what CI runs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup_env.sh" all,test
cd "$root"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
# pytest exits 5 when it collected no test: that is a failure of the suite, say so plainly.
if [ "$rc" -eq 5 ]; then echo "test.sh: pytest collected no tests" >&2; fi
exit "$rc"
