#!/usr/bin/env bash
# The standard GPU check, run on the device machine from the project's root after
# scripts/gpu/prepare-carry.sh filled .device/ here:  bash .device/on-gpu.sh [STEPS]
# STEPS (default: tests gemm models peers; also tf32, tune). Everything goes to $OUT/gpu-log.txt and
# the JSON lines to $OUT/gpu.jsonl. Each step has its own timeout: tests up to 2 min a package, gemm 3,
# models 1-2, peers 2-3. Keep one run under 10 minutes: run "tests" alone while the suite is slow.
# The peers are optional: CLBlast runs only if prepare-carry.sh built it (CLBLAST_PEER), cuBLAS and
# PyTorch only where python3 imports torch; each missing one is named and skipped.
# Extra densebench flags for the gemm step: GEMM_FLAGS (e.g. "-act relu -bias").
root=$(pwd); D=$root/.device; OUT=${OUT:-/tmp/gpu-out}; mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu-log.txt") 2>&1
steps=${*:-tests gemm models peers}
step() { echo "=== $(date +%T) $*"; }
OCL_LOADER_DIR=$D/ocl/usr/lib/x86_64-linux-gnu . "$D/nvidia-opencl-env.sh"

export DENSECL_DEVICE=${DENSECL_DEVICE:-gpu}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
timeout 30 "$D/bin/densebench" devices
S=${SHAPES:-1024x1024x1024 2048x2048x2048 4096x4096x4096 8192x8192x8192 16384x512x3 16384x10x512 256x512x784}
for s in $steps; do case $s in
tests)
  for p in cl device layers bench; do
    step "go test $p (binary, 120 s)"
    (cd "$root/$p" && timeout 130 "$D/bin/$p.test" -test.count=1 -test.v -test.timeout=120s > "$OUT/test-$p.txt" 2>&1; echo "$p: exit $?")
    grep -E '^(--- FAIL|FAIL|ok|PASS|panic)' "$OUT/test-$p.txt" | head -20
    grep -E -A3 '^panic: test timed out' "$OUT/test-$p.txt" | head -6
  done ;;
gemm)
  step gemm
  timeout 200 "$D/bin/densebench" gemm -json -backend opencl -reps 9 $GEMM_FLAGS -shapes "${S// /,}" | grep '"gemm"' | tee -a "$OUT/gpu.jsonl" ;;
models)
  step models
  seed="Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')"
  mlp="Dense(512, activation='relu', input_shape=(784,)); Dense(256, activation='gelu'); Dense(10, activation='softmax')"
  for b in 1 16 256; do timeout 90 "$D/bin/densebench" model -json -backend opencl -batch $b -spec "$seed" | grep -E '"(model|transfer)"' | tee -a "$OUT/gpu.jsonl"; done
  for b in 1 256 4096; do timeout 90 "$D/bin/densebench" model -json -backend opencl -batch $b -spec "$mlp" | grep -E '"(model|transfer)"' | tee -a "$OUT/gpu.jsonl"; done ;;
tf32)
  step "gemm, TF32 tensor cores"
  timeout 200 "$D/bin/densebench" gemm -json -backend opencl -reps 9 -precision tf32 -shapes "${S// /,}" | grep '"gemm"' | tee -a "$OUT/gpu.jsonl" ;;
tune)
  step "tune every class (database record into \$OUT/gemmdb.json)"
  DENSECL_TUNED=off timeout 420 "$D/bin/densebench" tune -budget ${TUNE_BUDGET:-1m} -json -save-db "$OUT/gemmdb.json" | tee -a "$OUT/gpu.jsonl" ;;
peers)
  step "peers: CLBlast (OpenCL), cuBLAS and PyTorch (CUDA)"
  if [ -x "$D/bin/clblast_gemm" ]; then
    REPS=9 timeout 150 "$D/bin/clblast_gemm" $S | tee -a "$OUT/gpu.jsonl"
  else
    echo "peers: no CLBlast peer (optional; prepare-carry.sh builds it with CLBLAST_PEER)"
  fi
  if python3 -c 'import torch' 2>/dev/null; then
    timeout 120 python3 "$D/cublas_sgemm.py" $S | tee -a "$OUT/gpu.jsonl"
    timeout 120 python3 "$D/torch_models.py" | tee -a "$OUT/gpu.jsonl"
  else
    echo "peers: python3 has no torch: cuBLAS and PyTorch skipped (optional)"
  fi ;;
esac; done
step end
