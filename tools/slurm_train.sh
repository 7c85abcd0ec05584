#!/usr/bin/env bash
# Training under Slurm with mmengine's slurm launcher (one task per GPU; mmengine reads SLURM_PROCID,
# SLURM_NTASKS, SLURM_LOCALID and the first host of SLURM_NODELIST):
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] [PORT=29500] \
#     bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py options]
# GPUS / GPUS_PER_NODE nodes are allocated; PORT is the rendezvous port on the first node.
set -euo pipefail
if (($# < 3)); then
  echo "usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py options]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON_BIN:-${MMEDIT_VIT_VENV:-$root/.venv}/bin/python}"
export MASTER_PORT="${PORT:-29500}"
# shellcheck disable=SC2086  # SRUN_ARGS is a list of options
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec srun -p "$PARTITION" --job-name="$JOB_NAME" \
  --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
  "$python" -u "$root/tools/train.py" "$CONFIG" --launcher slurm "${@:4}"
