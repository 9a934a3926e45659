#!/usr/bin/env bash
# Oclgrind, the OpenCL simulator whose race, bounds and barrier checks run
# the GPU kernels in device.TestOclgrind: Debian's oclgrind package,
# installed only when missing. The test registers it through a private
# OCL_ICD_VENDORS folder, so installing it does not add a device to the
# other tests.
set -euo pipefail
if command -v oclgrind >/dev/null 2>&1; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 oclgrind >/dev/null 2>&1; then
	$SUDO apt-get update -qq >/dev/null
	$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 oclgrind >/dev/null
fi
