#!/usr/bin/env bash
# What CI runs: install rnnkit with every extra into .venv, then
#   1. pytest (tests/, docstring examples in src/rnnkit, >>> examples in docs/*.md); arguments go to pytest;
#   2. scripts/lint.sh: ruff check, ruff format --check, mypy, mkdocs build --strict;
#   3. scripts/check_wheel.sh: build sdist + wheel, install the wheel into a fresh venv, run it there;
#   4. scripts/test_newest_torch.sh: the fidelity tests again on the newest torch release (its venv in ~/.cache/rnnkit).
# Stops at the first failing step. RNNKIT_SKIP_LINT=1 / RNNKIT_SKIP_WHEEL=1 / RNNKIT_SKIP_NEWEST_TORCH=1 skip
# steps 2 / 3 / 4 (local use only).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup_env.sh" all,dev
cd "$root"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
t0=$SECONDS
echo "test.sh: pytest on torch $(.venv/bin/python -c 'import torch; print(torch.__version__)') (the pin)"
set +e
.venv/bin/python -m pytest "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# pytest exits 5 when it collected no test: that is a failure of the suite, say so plainly.
if [ "$rc" -eq 5 ]; then echo "test.sh: pytest collected no tests" >&2; fi
if [ "$rc" -ne 0 ]; then exit "$rc"; fi
echo "test.sh: pytest ok ($((SECONDS - t0)) s)"
if [ "${RNNKIT_SKIP_LINT:-0}" != 1 ]; then
  t1=$SECONDS
  bash scripts/lint.sh
  echo "test.sh: lint.sh ok ($((SECONDS - t1)) s)"
fi
if [ "${RNNKIT_SKIP_WHEEL:-0}" != 1 ]; then
  t2=$SECONDS
  bash scripts/check_wheel.sh
  echo "test.sh: check_wheel.sh ok ($((SECONDS - t2)) s)"
fi
if [ "${RNNKIT_SKIP_NEWEST_TORCH:-0}" != 1 ]; then
  t3=$SECONDS
  bash scripts/test_newest_torch.sh
  echo "test.sh: test_newest_torch.sh ok ($((SECONDS - t3)) s)"
fi
# Repeat pytest's counts last, so the run's closing line is the test result.
summary="$(grep -E '[0-9]+ passed' "$log" | tail -1)"
passed="$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+')"
skipped="$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || true)"
echo "pytest: ${passed} passed, 0 failed${skipped:+, ${skipped} skipped}"
