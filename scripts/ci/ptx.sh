#!/usr/bin/env bash
# The tools of kernels/ptxas_test.go, which assembles every GPU program with
# NVIDIA's PTX assembler without a GPU: clang-15, llvm-15 and libclc-15 from
# Debian main (OpenCL C to PTX), and ptxas from the nvidia-cuda-toolkit .deb
# of Debian's non-free component, unpacked without its dependencies into
# ${XDG_CACHE_HOME:-$HOME/.cache}/densecl/cuda-toolkit, where the test looks.
# The non-free component is named in a private sources list used for that
# one download: the system's apt sources are left as they were. Installs
# only what is missing; prints nothing on success.
set -euo pipefail

# quiet runs a command, printing its output only when it fails.
quiet() {
	local out
	if ! out="$("$@" 2>&1)"; then
		printf '%s\n' "$out" >&2
		return 1
	fi
}

# apt-get's lock may be held by another installer; wait for it. A fresh
# machine's package lists may be missing or old: update them once and try
# again.
apt_install() {
	local cmd=(apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "$@")
	if ! DEBIAN_FRONTEND=noninteractive "${cmd[@]}" >/dev/null 2>&1; then
		quiet apt-get update -qq
		DEBIAN_FRONTEND=noninteractive quiet "${cmd[@]}"
	fi
}

if ! command -v clang-15 >/dev/null || ! command -v llc-15 >/dev/null ||
	! [ -e /usr/lib/clc/nvptx64--nvidiacl.bc ]; then
	apt_install clang-15 llvm-15 libclc-15
fi

dest="${XDG_CACHE_HOME:-$HOME/.cache}/densecl/cuda-toolkit"
if [ -x "$dest/usr/bin/ptxas" ] || [ -x "$dest/usr/lib/nvidia-cuda-toolkit/bin/ptxas" ]; then
	exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The suites and mirror of the system's sources, with non-free added.
. /etc/os-release
mirror="http://deb.debian.org/debian"
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
	uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
	[ -n "$uri" ] && mirror="$uri"
fi
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/deb"
echo "deb $mirror ${VERSION_CODENAME:-bookworm} main non-free" >"$tmp/sources.list"
opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/none"
	-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "Debug::NoLocking=1"
	-o "APT::Sandbox::User=root")
quiet apt-get -qq "${opts[@]}" update
(cd "$tmp/deb" && quiet apt-get -qq "${opts[@]}" download nvidia-cuda-toolkit)
mkdir -p "$dest.partial"
quiet dpkg-deb -x "$tmp"/deb/nvidia-cuda-toolkit_*.deb "$dest.partial"
rm -rf "$dest"
mv "$dest.partial" "$dest"
