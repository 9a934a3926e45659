#!/usr/bin/env bash
# The race detector (make test runs it over ./serve) needs cgo and a C
# compiler: gcc from Debian's packages, installed only when missing.
set -euo pipefail
command -v gcc >/dev/null 2>&1 && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 gcc libc6-dev >/dev/null 2>&1; then
	$sudo apt-get update -qq >/dev/null
	$sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 gcc libc6-dev >/dev/null
fi
