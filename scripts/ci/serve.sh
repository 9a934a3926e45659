#!/usr/bin/env bash
# The serving tests' tools (serve/oip, cmd/denseserve): protoc from
# Debian's protobuf-compiler (the generated-code check), curl, and grpcurl
# from the module proxy. protoc-gen-go and protoc-gen-go-grpc are go.mod
# tools (go tool), built by the test itself at the pinned versions.
# Installs only what is missing; prints nothing on success.
set -euo pipefail
need=()
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
fi
gobin="$(go env GOPATH)/bin"
if ! command -v grpcurl >/dev/null 2>&1 && [ ! -x "$gobin/grpcurl" ]; then
	go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4 >/dev/null 2>&1
fi
