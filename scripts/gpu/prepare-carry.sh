#!/usr/bin/env bash
# Run in the project's root (a plain clone is enough) before a GPU check. It fills .device/
# (kept out of git through .git/info/exclude) with what a bare NVIDIA GPU machine lacks:
#   .device/bin/   densebench and the test binaries of cl, device, layers and bench (built here)
#   .device/ocl/   Debian's OpenCL ICD loader (ocl-icd-libopencl1), unpacked
#   .device/*.sh, *.py  on-gpu.sh (the standard check), nvidia-opencl-env.sh, the PyTorch peers
# Then, on the GPU machine, from the project's root with .device/ alongside:
#   bash .device/on-gpu.sh [tests gemm models peers]
# Needs: Go (the module's), and apt-get download for the ICD loader.
# Optional: the CLBlast peer, built only when CLBLAST_PEER names its C source (a program that
# prints JSON lines of CLBlast's SGEMM per MxNxK argument) and libclblast-dev can be installed;
# without it on-gpu.sh's peers step skips CLBlast and says so.
# Options: SKIP_BUILD=1 keeps the binaries already in .device/bin.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(git rev-parse --show-toplevel)
cd "$root"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
mkdir -p .device/bin .device/deb .device/ocl
cp "$here/nvidia-opencl-env.sh" "$here/on-gpu.sh" "$here/cublas_sgemm.py" "$here/torch_models.py" .device/
lib=.device/ocl/usr/lib/x86_64-linux-gnu
if [ ! -e $lib/libOpenCL.so.1 ]; then
  (cd .device/deb && apt-get download ocl-icd-libopencl1 >/dev/null)
  dpkg -x .device/deb/ocl-icd-libopencl1_*.deb .device/ocl
fi
if [ -n "${CLBLAST_PEER:-}" ]; then
  need=()
  [ -e /usr/include/clblast_c.h ] || need+=(libclblast-dev)
  [ -e /usr/include/CL/cl.h ] || need+=(opencl-headers ocl-icd-opencl-dev)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  cp -L /usr/lib/x86_64-linux-gnu/libclblast.so.1 $lib/libclblast.so.1
  gcc -O2 -o .device/bin/clblast_gemm "$CLBLAST_PEER" -lclblast -lOpenCL
else
  echo "prepare-carry: no CLBLAST_PEER: the CLBlast peer is left out (optional)"
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  CGO_ENABLED=0 go build -ldflags='-s -w' -o .device/bin/densebench ./cmd/densebench
  for p in cl device layers bench; do CGO_ENABLED=0 go test -c -ldflags='-s -w' -o .device/bin/$p.test ./$p; done
fi
du -sh .device
echo "ready: on the GPU machine, with .device/ taken along: bash .device/on-gpu.sh"
