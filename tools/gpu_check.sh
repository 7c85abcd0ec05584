#!/usr/bin/env bash
# The GPU measurements, one command, under 10 minutes on one GPU:
#   bash tools/gpu_check.sh [OUT_DIR]        (default: $OUT, else work_dirs/gpu_check)
# 1. the models import with torch + timm + mmengine only (no mmcv / mmseg / mmdet);
# 2. tools/benchmark.py --device cuda --dtype bfloat16 for Small / Base (+ with_cp at 512x512); then its
#    --inference-study for Small: eager, torch.compile and onnxruntime's CUDA execution provider, with parity;
# 3. tools/throughput.py, bf16 autocast, generated data: segmenter_edit_b_ade20k (512x512, stand-in head; its
#    loss resize as GEMMs, as the configs' heads, and once with F.interpolate); cls_deit3_b_in1k, timm's own
#    VisionTransformer-B through the same step (--impl timm: Mixup/CutMix, BCE, LAMB, clipping) and
#    cls_edit_b_in1k (224x224, batch 128), eager, torch.compile and CUDA graphs (reduce-overhead):
#    images/s, peak memory, MFU; operator profiles of two eager steps (profile_*.txt);
# 4. the goals (python -m mmedit_vit.analysis.throughput RESULTS): ours / timm and EDIT-B / DeiT-III-B images/s,
#    MFU compiled, GEMM resize / F.interpolate.
# Needs python3 with torch (CUDA), torchvision and timm. Wheels in .whl/ (mmengine and its pure-python
# dependencies addict, yapf, platformdirs, termcolor, rich, markdown-it-py, mdurl, pygments; timm to measure
# the pinned one) are installed into /tmp/site ahead of the machine's packages (no network). Every step has a
# time limit inside an overall budget (GPU_CHECK_BUDGET_S, default 560 s); what ran is in
# OUT_DIR/gpu_check.md, each step's log beside it. Exits 1 when a step failed or did not fit in the budget,
# naming those steps.
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
budget="${GPU_CHECK_BUDGET_S:-560}"
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
  onnx_dev=(--device cpu --ort-provider CPUExecutionProvider); onnx_size=tiny
  onnx_extra=(--batch 2 --img-size 32 --reps 1 --warmup 0 --no-compile)
else
  dev=(--device cuda --dtype bfloat16); sizes=(small base); arch=base
  bench_extra=(--batch 64 --reps 5 --cp-img-size 512 --cp-batch 8)
  tp_extra=(--iters 100); warm=10; warm_compiled=20
  onnx_dev=(--device cuda --ort-provider CUDAExecutionProvider); onnx_size=small
  onnx_extra=(--batch 32 --reps 10 --warmup 3)
fi
step benchmark 90 "$py" tools/benchmark.py "${dev[@]}" --sizes "${sizes[@]}" --cp-study "${bench_extra[@]}" --out "$out"
# onnxruntime's CUDA execution provider against eager PyTorch and torch.compile (float32, TF32 off on both
# sides): parity (exit 1 above mmedit_vit.deploy.TOLERANCE) and time, every classifier of one size (docs/deploy.md);
# needs the onnxruntime-gpu, onnx, onnxscript, onnx-ir, protobuf, ml_dtypes and flatbuffers wheels in .whl/
step onnx_cuda 200 "$py" tools/benchmark.py "${onnx_dev[@]}" --sizes "$onnx_size" --inference-only "${onnx_extra[@]}" \
  --out "$out/onnx"

table="$out/throughput.md"
results="$out/throughput.jsonl"
rm -f "$table" "$results"
tp=("$py" tools/throughput.py "${dev[@]}" --arch "$arch" --table "$table" --json "$results")
# eager first (the comparisons), then compiled (default mode, then CUDA graphs): ours against timm's own ViT
step seg_gemm 60 "${tp[@]}" --variant edit --task seg "${tp_extra[@]}" --warmup "$warm" --profile "$out"
step seg_interpolate 60 "${tp[@]}" --variant edit --task seg --resize interpolate "${tp_extra[@]}" --warmup "$warm"
step cls_deit3 60 "${tp[@]}" --variant deit3 --task cls "${tp_extra[@]}" --warmup "$warm"
step cls_timm 60 "${tp[@]}" --impl timm --task cls "${tp_extra[@]}" --warmup "$warm"
step cls_edit 60 "${tp[@]}" --variant edit --task cls "${tp_extra[@]}" --warmup "$warm" --profile "$out"
step cls_deit3_compile 90 "${tp[@]}" --variant deit3 --task cls --compile "${tp_extra[@]}" --warmup "$warm_compiled"
step cls_timm_compile 90 "${tp[@]}" --impl timm --task cls --compile "${tp_extra[@]}" --warmup "$warm_compiled"
step cls_edit_compile 90 "${tp[@]}" --variant edit --task cls --compile "${tp_extra[@]}" --warmup "$warm_compiled"
step cls_deit3_cudagraphs 90 "${tp[@]}" --variant deit3 --task cls --compile reduce-overhead "${tp_extra[@]}" \
  --warmup "$warm_compiled"
step cls_timm_cudagraphs 90 "${tp[@]}" --impl timm --task cls --compile reduce-overhead "${tp_extra[@]}" \
  --warmup "$warm_compiled"
step goals 60 "$py" -m mmedit_vit.analysis.throughput "$results"

{
  echo "# GPU check ($(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS - start)) s)"
  echo
  cat "$out/environment.log" 2>/dev/null
  echo
  cat "$out/status.md"
  echo
  cat "$out"/benchmark_*.md 2>/dev/null
  echo
  cat "$out"/onnx/benchmark_*.md 2>/dev/null
  echo
  cat "$table" 2>/dev/null
  echo
  echo "## Goals"
  echo
  cat "$out/goals.log" 2>/dev/null
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
