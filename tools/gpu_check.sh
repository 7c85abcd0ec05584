#!/usr/bin/env bash
# The GPU measurements of the README, one command, under 9 minutes on one GPU:
#   bash tools/gpu_check.sh [OUT_DIR]        (default: $OUT, else work_dirs/gpu_check)
# 1. the models import with torch + timm + mmengine only (no mmcv / mmseg / mmdet);
# 2. tools/benchmark.py --device cuda --dtype bfloat16 for Tiny / Small / Base (+ with_cp at 512x512);
# 3. tools/throughput.py: segmenter_edit_b_ade20k (512x512, stand-in head; its loss resize as GEMMs, as the
#    configs' heads, and once with F.interpolate) and cls_edit_b_in1k (224x224), with and without with_cp
#    and torch.compile (default mode and reduce-overhead, i.e. CUDA graphs): images/s, peak memory, MFU;
#    operator profiles of the eager steps (profile_*.txt). Steps measured in the README before come last.
# Needs python3 with torch (CUDA), torchvision and timm. Wheels in .whl/ (mmengine and its pure-python
# dependencies addict, yapf, platformdirs, termcolor, rich, markdown-it-py, mdurl, pygments; timm to measure
# the pinned one) are installed into /tmp/site ahead of the machine's packages (no network). Every step has a
# time limit inside an overall budget (GPU_CHECK_BUDGET_S, default 540 s); what ran is in
# OUT_DIR/gpu_check.md, each step's log beside it.
set -uo pipefail
out="${1:-${OUT:-}}"
[[ -n "$out" ]] && out="$(realpath -m "$out")"  # relative to where the command was given
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${out:-$PWD/work_dirs/gpu_check}"
mkdir -p "$out"
py="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G '.whl/*.whl' > /dev/null; then
  "$py" -m pip install -q --no-index --no-deps --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="/tmp/site:$PYTHONPATH"
fi
budget="${GPU_CHECK_BUDGET_S:-540}"
start=$SECONDS
: > "$out/status.md"
failed=()  # steps that failed or did not run: the script exits 1 and names them

step() {  # step NAME LIMIT_S COMMAND...: runs with a time limit cut to what is left of the budget
  local name=$1 limit=$2 left rc
  shift 2
  left=$((budget - (SECONDS - start)))
  if ((left < 30)); then
    echo "- $name: skipped, the ${budget} s budget is spent" | tee -a "$out/status.md"
    failed+=("$name (not run: budget spent)")
    return
  fi
  ((limit > left)) && limit=$left
  echo "== $name (limit ${limit} s)"
  timeout -k 10 "$limit" "$@" > "$out/$name.log" 2>&1
  rc=$?
  tail -n 2 "$out/$name.log"
  if ((rc == 0)); then
    echo "- $name: ok, $((SECONDS - start)) s since start" >> "$out/status.md"
  else
    echo "- $name: FAILED with exit $rc (124: time limit ${limit} s), see $name.log" | tee -a "$out/status.md"
    failed+=("$name (exit $rc)")
  fi
}

step environment 60 "$py" - <<'EOF'
import importlib.util, sys
import torch, timm
print(f'python {sys.version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda}), timm {timm.__version__}')
print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'NO CUDA DEVICE')
missing = [m for m in ('mmengine', 'addict', 'yapf', 'termcolor', 'platformdirs', 'rich') if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f'missing modules {missing}: put their wheels in .whl/')
import mmedit_vit.models.backbones  # noqa: F401
heavy = [m for m in ('mmcv', 'mmseg', 'mmdet') if sys.modules.get(m) is not None]
if heavy:
    sys.exit(f'importing the models pulled in {heavy}')
print('mmedit_vit.models imports with torch + timm + mmengine only')
EOF

# GPU_CHECK_SMOKE=1: the same steps, tiny and on the CPU, to check the script itself
if [[ "${GPU_CHECK_SMOKE:-0}" == 1 ]]; then
  dev=(--device cpu --dtype float32); sizes=(tiny); arch=tiny
  bench_extra=(--batch 2 --img-size 32 --reps 1 --warmup 0 --cp-img-size 64 --cp-batch 1)
  tp_extra=(--iters 2 --batch 2 --img-size 64); warm=1; warm_compiled=1
else
  dev=(--device cuda --dtype bfloat16); sizes=(tiny small base); arch=base
  bench_extra=(--batch 64 --reps 10 --cp-img-size 512 --cp-batch 8)
  tp_extra=(--iters 200); warm=20; warm_compiled=30
fi
step benchmark 120 "$py" tools/benchmark.py "${dev[@]}" --sizes "${sizes[@]}" --cp-study "${bench_extra[@]}" --out "$out"

table="$out/throughput.md"
rm -f "$table"
tp=("$py" tools/throughput.py "${dev[@]}" --variant edit --arch "$arch" --table "$table")
step seg_eager 60 "${tp[@]}" --task seg "${tp_extra[@]}" --warmup "$warm" --profile "$out"
step seg_interpolate 60 "${tp[@]}" --task seg --resize interpolate "${tp_extra[@]}" --warmup "$warm" --profile "$out"
step cls_eager 75 "${tp[@]}" --task cls "${tp_extra[@]}" --warmup "$warm" --profile "$out"
step seg_cudagraphs 100 "${tp[@]}" --task seg --compile reduce-overhead "${tp_extra[@]}" --warmup "$warm_compiled"
step cls_cudagraphs 100 "${tp[@]}" --task cls --compile reduce-overhead "${tp_extra[@]}" --warmup "$warm_compiled"
step seg_compile 100 "${tp[@]}" --task seg --compile "${tp_extra[@]}" --warmup "$warm_compiled"
step cls_compile 100 "${tp[@]}" --task cls --compile "${tp_extra[@]}" --warmup "$warm_compiled"
step seg_cp 60 "${tp[@]}" --task seg --with-cp "${tp_extra[@]}" --warmup "$warm"
step cls_cp 60 "${tp[@]}" --task cls --with-cp "${tp_extra[@]}" --warmup "$warm"
step seg_cp_compile 100 "${tp[@]}" --task seg --with-cp --compile "${tp_extra[@]}" --warmup "$warm_compiled"
step cls_cp_compile 100 "${tp[@]}" --task cls --with-cp --compile "${tp_extra[@]}" --warmup "$warm_compiled"

{
  echo "# GPU check ($(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS - start)) s)"
  echo
  cat "$out/environment.log" 2>/dev/null
  echo
  cat "$out/status.md"
  echo
  cat "$out"/benchmark_*.md 2>/dev/null
  echo
  cat "$table" 2>/dev/null
  for profile in "$out"/profile_*.txt; do
    [[ -f "$profile" ]] || continue
    echo
    echo '```'
    head -n 30 "$profile"
    echo '```'
  done
} > "$out/gpu_check.md"
cat "$out/gpu_check.md"
if ((${#failed[@]})); then
  echo "gpu_check: ${#failed[@]} step(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "gpu_check: all steps ok"
