#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment in .venv with the tested pin set.
# mmcv 2.1.0 has no wheels for this torch: it is compiled once from source (~20 min on 2 cores);
# pip keeps the built wheel in its cache, so later environments on the same machine reuse it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MMEDIT_VIT_VENV:-$root/.venv}"
py="${PYTHON:-python3.11}"
stamp="$venv/.mmedit_vit_stamp"
want="$(cat "$root/requirements/constraints.txt" "$root/setup.py" | sha256sum | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ] && ! command -v "$py" >/dev/null 2>&1; then
  echo "[setup_env] $py not found: install Python 3.11 or set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
echo "[setup_env] creating the environment in $venv"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --constraint "$root/requirements/constraints.txt")
"${pip[@]}" --upgrade pip wheel "setuptools<81"
"${pip[@]}" torch torchvision mmengine
if ! "$venv/bin/python" -c "import mmcv.ops" 2>/dev/null; then
  echo "[setup_env] installing mmcv 2.1.0 with compiled ops (built from source the first time)"
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "${pip[@]}" --no-build-isolation mmcv==2.1.0
fi
"${pip[@]}" --no-build-isolation -e "$root[dev,deploy]"
echo "$want" > "$stamp"
echo "[setup_env] ready: $venv"
