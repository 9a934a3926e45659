package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densecl/densecl/bench"
	"github.com/densecl/densecl/npy"
)

// The README's predict commands run on a fresh clone: the model and input
// they name are in the repository (examples/), and the output is the
// one numpy computed (examples/y_expected.npy), within |got − want| <=
// 1e-5·|want| + 2e-6.
func TestREADMEPredict(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, want, err := npy.ReadFile(filepath.Join(root, "examples", "y_expected.npy"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, line := range strings.Split(string(readme), "\n") {
		cmd, ok := strings.CutPrefix(strings.TrimSpace(line), "go run ./cmd/densebench predict ")
		if !ok {
			continue
		}
		cmd, _, _ = strings.Cut(cmd, "#")
		args := strings.Fields(cmd)
		out := filepath.Join(t.TempDir(), "y.npy")
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "-model", "-input":
				args[i+1] = filepath.Join(root, args[i+1])
			case "-o":
				out = filepath.Join(filepath.Dir(out), args[i+1])
				args[i+1] = out
			}
		}
		for _, be := range []string{"fallback", "opencl"} {
			if be == "opencl" && !hasPlatform() {
				continue
			}
			code, _, errOut := runCmd(append(append([]string{"predict"}, args...), "-backend", be)...)
			if code != exitOK {
				t.Fatalf("%s (%s): exit %d: %s", line, be, code, errOut)
			}
			_, got, err := npy.ReadFile(out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s (%s): %d values, want %d", line, be, len(got), len(want))
			}
			for i, w := range want {
				if d := float64(got[i] - w); !(d <= 1e-5*float64(abs(w))+2e-6 && -d <= 1e-5*float64(abs(w))+2e-6) {
					t.Fatalf("%s (%s): element %d is %v, want %v", line, be, i, got[i], w)
				}
			}
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("the README has no predict command")
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// Every -spec of a densebench command in the README is a spec that parses:
// a reader can paste each line as it stands.
func TestREADMESpecs(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.Contains(line, "densebench ") {
			continue
		}
		_, rest, ok := strings.Cut(line, `-spec "`)
		if !ok {
			continue
		}
		spec, _, _ := strings.Cut(rest, `"`)
		if _, err := bench.ParseSpec(spec); err != nil {
			t.Errorf("README: %s: %v", line, err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("the README has no -spec")
	}
}
