#!/usr/bin/env bash
# README command 2: set up (or reuse) the environment, then run the whole test suite.
# The tests run on pytest-xdist workers, one per core (at most 4): MMEDIT_VIT_TEST_WORKERS=1 runs them in this
# process instead. A module's tests that share a trained model stay on one worker (tests/conftest.py).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup_env.sh"
cd "$root"
cores="$(nproc)"
workers="${MMEDIT_VIT_TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}"
if [ "$workers" -gt 1 ]; then
  exec "${MMEDIT_VIT_VENV:-$root/.venv}/bin/python" -m pytest tests -n "$workers" --dist loadgroup "$@"
fi
exec "${MMEDIT_VIT_VENV:-$root/.venv}/bin/python" -m pytest tests "$@"
