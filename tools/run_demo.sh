#!/usr/bin/env bash
# README command 1: set up (or reuse) the environment, then run the main job.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup_env.sh"
cd "$root"
exec "${MMEDIT_VIT_VENV:-$root/.venv}/bin/python" tools/demo.py "$@"
