#!/usr/bin/env bash
# Install rnnkit into .venv and run the main job: train the default MNIST model, offline, from the clone.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup_env.sh" all
cd "$root"
exec .venv/bin/rnnkit train mnist "$@"
