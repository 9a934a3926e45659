#!/bin/sh
# Installs densecl's system dependencies from Debian's packages, only those
# missing: OpenCL headers and the ICD loader to build, PoCL when no OpenCL
# platform is registered, clinfo to look at devices.
set -eu
need=""
[ -e /usr/include/CL/cl.h ] || need="$need opencl-headers"
[ -e /usr/lib/x86_64-linux-gnu/libOpenCL.so ] || ldconfig -p 2>/dev/null | grep -q 'libOpenCL\.so ' || need="$need ocl-icd-opencl-dev"
ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 || need="$need pocl-opencl-icd"
command -v clinfo >/dev/null 2>&1 || need="$need clinfo"
[ -z "$need" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$need" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need >/dev/null
