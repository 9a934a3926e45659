#!/bin/sh
# Installs densecl's run-time dependencies from Debian's packages, only
# those missing: the OpenCL ICD loader (libOpenCL.so.1, which the binding
# loads at run time), PoCL when no OpenCL platform is registered, and
# clinfo to look at devices. Building needs none of them: no C compiler,
# no OpenCL headers.
set -eu
need=""
ldconfig -p 2>/dev/null | grep -q 'libOpenCL\.so\.1 ' || need="$need ocl-icd-libopencl1"
ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 || need="$need pocl-opencl-icd"
command -v clinfo >/dev/null 2>&1 || need="$need clinfo"
[ -z "$need" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$need" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need >/dev/null
