#!/usr/bin/env bash
# Distributed training over torchrun: bash tools/dist_train.sh CONFIG GPUS [train.py options]
# NNODES, NODE_RANK, MASTER_ADDR and PORT select a multi-node run. Without CUDA it runs GPUS CPU processes (gloo).
set -euo pipefail
CONFIG=$1
GPUS=$2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON_BIN:-${MMEDIT_VIT_VENV:-$root/.venv}/bin/python}"
exec "$python" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
  --nproc_per_node="$GPUS" --master_port="${PORT:-29500}" \
  "$root/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
