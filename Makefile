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

# test runs the whole suite (on PoCL when no other device is there).
test: deps
	go vet ./...
	go test ./...

# check adds gofmt and staticcheck to the suite.
check: test
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go run honnef.co/go/tools/cmd/staticcheck@latest ./...
