#!/usr/bin/env bash
# Build the sdist and the wheel, check what the wheel holds, install it into a fresh virtual environment and run
# it there: what a user gets from `pip install rnnkit` (core: help, inspect), then `pip install rnnkit[tasks]`.
# scripts/test.sh (so CI) runs this after lint.sh.
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
# Say what setuptools warned about (deprecations...) without failing on it: the build backend is not pinned.
grep -E "^(WARNING|.*Warning:)" "$work/build.log" | sort -u | sed 's/^/check_wheel.sh: build warned: /' || true
wheel="$(ls "$work"/dist/rnnkit-*.whl)"
ls "$work"/dist/rnnkit-*.tar.gz >/dev/null
echo "check_wheel.sh: built $(basename "$wheel") and $(basename "$work"/dist/rnnkit-*.tar.gz) ($((SECONDS - t0)) s)"

# 2. The wheel's contents: the version from src/rnnkit/_version.py, every module of src/rnnkit, every file listed in
#    scripts/wheel_files.txt, and nothing outside the package.
"$py" - "$wheel" "$root/scripts/wheel_files.txt" "$root/src/rnnkit/_version.py" "$root/src" <<'PY'
import pathlib, re, sys, zipfile
wheel, listing, version_file, src = sys.argv[1:]
names = set(zipfile.ZipFile(wheel).namelist())
modules = sorted(p.relative_to(src).as_posix() for p in pathlib.Path(src, "rnnkit").rglob("*.py"))
version = re.search(r'__version__ = "([^"]+)"', open(version_file).read()).group(1)
problems = []
if f"-{version}-" not in wheel.rsplit("/", 1)[-1]:
    problems.append(f"wheel name does not carry version {version}")
wanted = [l.strip() for l in open(listing) if l.strip() and not l.startswith("#")]
problems += [f"missing {w}" for w in sorted(set(wanted) | set(modules)) if w not in names]
stray = sorted(n for n in names if not n.startswith(("rnnkit/", f"rnnkit-{version}.dist-info/")))
problems += [f"unexpected top-level file {n}" for n in stray]
if problems:
    sys.exit("check_wheel.sh: wheel contents wrong: " + "; ".join(problems))
print(f"check_wheel.sh: wheel holds {len(names)} files: all {len(modules)} modules of src/rnnkit and "
      f"all {len(wanted)} files of scripts/wheel_files.txt")
PY

# 3. A fresh environment (no system site-packages), torch from the constraints pin, first the wheel alone: what
#    `pip install rnnkit` gives (torch + numpy). The command must start, inspect a TF checkpoint, and name the
#    extra a task needs in one line (exit 2).
t1=$SECONDS
"$base" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c "$root/scripts/constraints.txt" "$wheel"
echo "check_wheel.sh: installed the wheel without extras into a fresh venv ($((SECONDS - t1)) s)"
(
  cd "$work"
  "$work/venv/bin/python" -c "
import importlib.util
present = [m for m in ('safetensors', 'matplotlib', 'tqdm', 'tensorboard') if importlib.util.find_spec(m)]
assert not present, f'a core install should not have {present}'
"
  "$work/venv/bin/rnnkit" --help >/dev/null
  "$work/venv/bin/rnnkit" inspect "$root/tests/fixtures/checkpoints/basic_lstm/model.ckpt" \
    | grep -q "rnn/basic_lstm_cell/kernel" || { echo "check_wheel.sh: core rnnkit inspect FAILED" >&2; exit 1; }
  set +e
  err="$("$work/venv/bin/rnnkit" train sine --out "$work/core-run" 2>&1 >/dev/null)"
  rc=$?
  set -e
  if [ "$rc" -ne 2 ] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || [[ "$err" != *"pip install 'rnnkit[tasks]'"* ]]; then
    echo "check_wheel.sh: core rnnkit train should say in one line (exit 2) to install rnnkit[tasks]; got rc=$rc: $err" >&2
    exit 1
  fi
)
echo "check_wheel.sh: core install: rnnkit --help, inspect of a TF checkpoint, train names the extra ok"

# 4. The tasks extra on top (torch stays), as `pip install rnnkit[tasks]` gives it.
t1=$SECONDS
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c "$root/scripts/constraints.txt" "$wheel[tasks]"
echo "check_wheel.sh: installed the tasks extra ($((SECONDS - t1)) s)"

# 5. Run it from outside the clone.
t2=$SECONDS
cd "$work"
"$work/venv/bin/python" -c "
import sys, rnnkit
assert rnnkit.__file__.startswith(sys.prefix), f'rnnkit imported from {rnnkit.__file__}, not the fresh venv'
print('check_wheel.sh: import rnnkit', rnnkit.__version__, 'from', rnnkit.__file__)
"
"$work/venv/bin/rnnkit" --help >/dev/null
echo "check_wheel.sh: rnnkit --help ok"
# MNIST from the clone's data/mnist/ (the wheel does not carry it); the run writes its checkpoint, metrics and plots.
"$work/venv/bin/rnnkit" train mnist --max-steps 20 --data-dir "$root/data/mnist" --out "$work/run"
for f in config.json metrics.jsonl checkpoint.safetensors loss.png; do
  [ -s "$work/run/$f" ] || { echo "check_wheel.sh: the run wrote no $f" >&2; exit 1; }
done
echo "check_wheel.sh: 20-step training in the fresh venv ok ($((SECONDS - t2)) s); total $((SECONDS - t0)) s"
