#!/usr/bin/env bash
# Lint, format, type and docs checks; scripts/test.sh (so CI) runs this after the tests.
#   bash scripts/lint.sh          check: ruff check, ruff format --check, mypy src/rnnkit, mkdocs build --strict
#   bash scripts/lint.sh --fix    first apply ruff's safe fixes and the formatter, then check
# Tools come from .venv (scripts/setup_env.sh all,dev); set PYTHON_BIN to use another interpreter.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON_BIN:-$root/.venv/bin/python}"
export NO_MKDOCS_2_WARNING=1  # Material prints a banner about its successor on every build

step() {
  local name="$1" t0=$SECONDS
  shift
  if ! "$@"; then
    echo "lint.sh: $name FAILED (fix it, or try: bash scripts/lint.sh --fix)" >&2
    exit 1
  fi
  echo "lint.sh: $name ok ($((SECONDS - t0)) s)"
}

if [ "${1:-}" = "--fix" ]; then
  "$py" -m ruff check --fix --quiet . || true
  "$py" -m ruff format --quiet .
fi
step "ruff check" "$py" -m ruff check --quiet .
step "ruff format --check" "$py" -m ruff format --check --quiet .
step "mypy src/rnnkit" "$py" -m mypy        # files and rules: [tool.mypy] in pyproject.toml
step "mkdocs build --strict" "$py" -m mkdocs build --strict --quiet
