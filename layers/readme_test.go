package layers_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/densecl/densecl/device"
)

// readmeProgram returns the README's Go program (the first ```go block
// that is a package main).
func readmeProgram(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		if strings.HasPrefix(m[1], "package main\n") {
			return m[1]
		}
	}
	t.Fatal("README.md has no Go program (a ```go block starting with package main)")
	return ""
}

// body returns the statements of the function that starts with head, one
// trimmed line each, for comparison.
func body(t *testing.T, src, head string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(src, head)
	if !ok {
		t.Fatalf("no %q", head)
	}
	rest, _, ok = strings.Cut(rest, "\n}\n")
	if !ok {
		t.Fatalf("%q has no end", head)
	}
	var out []string
	for _, l := range strings.Split(rest, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "// Output:") {
			out = append(out, l)
		}
	}
	return out
}

// The README's program is ExampleDefaultBackend's code, so that go doc
// shows what the README shows.
func TestREADMEProgramIsExample(t *testing.T) {
	ex, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	got := body(t, readmeProgram(t), "func main() {")
	want := body(t, string(ex), "func ExampleDefaultBackend() {")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README.md's main differs from ExampleDefaultBackend:\n%s\n---\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The README's program compiles as written in a module of its own that
// requires this checkout (a replace directive; modules from the cache or
// the proxy), and runs: on the default device, and with no OpenCL
// platform (the ICD loader pointed at an empty vendors folder), where it
// runs on the pure-Go fallback.
func TestREADMEProgramRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"main.go": readmeProgram(t),
		"go.mod": "module readmeexample\n\ngo 1.26\n\nrequire github.com/densecl/densecl v0.0.0-00010101000000-000000000000\n\n" +
			"replace github.com/densecl/densecl => " + root + "\n",
		"go.sum": string(sum),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "example")
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the README's program: %v\n%s", err, out)
	}

	_, listErr := device.List()
	noVendors := t.TempDir()
	for _, c := range []struct {
		name string
		env  []string
		want string // in what the program logs
	}{
		{"default device", nil, map[bool]string{true: "on opencl: ", false: "on fallback"}[listErr == nil]},
		{"no OpenCL platform", []string{"OCL_ICD_VENDORS=" + noVendors, "OCL_ICD_FILENAMES="}, "on fallback"},
	} {
		run := exec.CommandContext(ctx, bin)
		run.Dir = dir
		run.Env = append(os.Environ(), c.env...)
		var stdout, stderr bytes.Buffer
		run.Stdout, run.Stderr = &stdout, &stderr
		if err := run.Run(); err != nil {
			t.Errorf("%s: the README's program: %v\n%s", c.name, err, stderr.String())
			continue
		}
		if stdout.String() != "[16 32 32 10]\n" || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: the README's program printed %q and logged %q; want [16 32 32 10] and %q", c.name, stdout.String(), stderr.String(), c.want)
		}
	}
}
