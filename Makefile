# The two set-up commands of the README, and a few helpers.
.PHONY: bench test deps check

# deps installs what densecl needs at run time from Debian's packages when
# it is missing: the OpenCL ICD loader, and PoCL (an OpenCL platform for the
# CPU) when no platform is registered. Building needs no C toolchain.
deps:
	@sh scripts/deps.sh

# bench runs densebench's main job on the default device.
bench: deps
	go run ./cmd/densebench

# test runs the whole suite (on PoCL when no other device is there), then
# the batcher's tests under the race detector, which needs cgo and a C
# compiler (scripts/ci/race.sh installs gcc for CI).
test: deps
	go vet ./...
	go test ./...
	@if command -v gcc >/dev/null 2>&1; then \
		echo "CGO_ENABLED=1 go test -race ./serve"; CGO_ENABLED=1 go test -race ./serve; \
	else echo "no C compiler: the race detector's run over ./serve is left out" >&2; fi

# check adds gofmt and staticcheck to the suite.
check: test
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go run honnef.co/go/tools/cmd/staticcheck@latest ./...
