#!/usr/bin/env bash
# Build the sdist and the wheel, check what the wheel holds, install it into a fresh virtual environment and run
# it there: what a user gets from `pip install rnnkit[tasks]`. scripts/test.sh (so CI) runs this after lint.sh.
# A file missing from the package (a module, a data file, py.typed) fails here even when the editable install in
# .venv hides it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON_BIN:-$root/.venv/bin/python}"  # has `build` (dev extra)
base="${PYTHON:-python3}"                   # makes the fresh environment
unset PYTHONPATH                            # the installed wheel, not src/, must answer
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
t0=$SECONDS

# 1. sdist, then the wheel built from the unpacked sdist (so the sdist is proven complete too).
if ! "$py" -m build --outdir "$work/dist" "$root" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  echo "check_wheel.sh: python -m build FAILED" >&2
  exit 1
fi
wheel="$(ls "$work"/dist/rnnkit-*.whl)"
ls "$work"/dist/rnnkit-*.tar.gz >/dev/null
echo "check_wheel.sh: built $(basename "$wheel") and $(basename "$work"/dist/rnnkit-*.tar.gz) ($((SECONDS - t0)) s)"

# 2. The wheel's contents: the version from src/rnnkit/_version.py, every listed file, nothing outside the package.
"$py" - "$wheel" "$root/scripts/wheel_files.txt" "$root/src/rnnkit/_version.py" <<'PY'
import re, sys, zipfile
wheel, listing, version_file = sys.argv[1:]
names = set(zipfile.ZipFile(wheel).namelist())
version = re.search(r'__version__ = "([^"]+)"', open(version_file).read()).group(1)
problems = []
if f"-{version}-" not in wheel.rsplit("/", 1)[-1]:
    problems.append(f"wheel name does not carry version {version}")
wanted = [l.strip() for l in open(listing) if l.strip() and not l.startswith("#")]
problems += [f"missing {w}" for w in wanted if w not in names]
stray = sorted(n for n in names if not n.startswith(("rnnkit/", f"rnnkit-{version}.dist-info/")))
problems += [f"unexpected top-level file {n}" for n in stray]
if problems:
    sys.exit("check_wheel.sh: wheel contents wrong: " + "; ".join(problems))
print(f"check_wheel.sh: wheel holds {len(names)} files, including all {len(wanted)} of scripts/wheel_files.txt")
PY

# 3. A fresh environment (no system site-packages), torch from the constraints pin, the wheel with its tasks extra.
t1=$SECONDS
"$base" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c "$root/scripts/constraints.txt" "$wheel[tasks]"
echo "check_wheel.sh: installed into a fresh venv ($((SECONDS - t1)) s)"

# 4. Run it from outside the clone.
t2=$SECONDS
cd "$work"
"$work/venv/bin/python" -c "
import sys, rnnkit
assert rnnkit.__file__.startswith(sys.prefix), f'rnnkit imported from {rnnkit.__file__}, not the fresh venv'
print('check_wheel.sh: import rnnkit', rnnkit.__version__, 'from', rnnkit.__file__)
"
# The console script file always exists (pyproject declares it); what matters is whether its module shipped.
if "$work/venv/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('rnnkit.cli') is None)"; then
  "$work/venv/bin/rnnkit" --help >/dev/null
  echo "check_wheel.sh: rnnkit --help ok"
  "$work/venv/bin/rnnkit" train mnist --max-steps 20 --data-dir "$root/data/mnist" --run-dir "$work/run"
else
  # No rnnkit.cli in the package yet: train with the quickstart example against the installed package.
  "$work/venv/bin/python" "$root/examples/quickstart.py" --steps 20
fi
echo "check_wheel.sh: 20-step training in the fresh venv ok ($((SECONDS - t2)) s); total $((SECONDS - t0)) s"
