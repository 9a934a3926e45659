package main

import (
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
)

// TestBatcher runs densebench batcher briefly: one JSON line with every
// field, then text mode on the fallback with two replicas, then bad flags.
func TestBatcher(t *testing.T) {
	spec := "Dense(8, activation='relu', input_shape=(3,)); Dense(2, activation='softmax')"
	code, out, errOut := runCmd("batcher", "-spec", spec, "-duration", "150ms", "-concurrency", "8", "-max-batch", "4", "-max-delay", "200us", "-json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if kinds := decodeLines(t, out); kinds["batcher"] != 1 || len(kinds) != 1 {
		t.Fatalf("kinds %v, want one batcher line", kinds)
	}
	m, _, _ := densetest.DecodeJSONLine(strings.TrimSpace(out))
	for k, want := range map[string]float64{"concurrency": 8, "max_batch": 4, "max_delay_ms": 0.2, "replicas": 1} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	for _, k := range []string{"samples_per_s", "unbatched_samples_per_s", "ceiling_samples_per_s", "p50_ms", "p99_ms", "mean_batch"} {
		if v, _ := m[k].(float64); !(v > 0) {
			t.Errorf("%s = %v, want > 0", k, m[k])
		}
	}
	if m["spec"] != spec {
		t.Errorf("spec %v", m["spec"])
	}

	code, out, errOut = runCmd("batcher", "-spec", spec, "-duration", "150ms", "-concurrency", "4", "-replicas", "2", "-backend", "fallback", "-no-progress")
	if code != exitOK || !strings.Contains(out, "batched") || !strings.Contains(out, "unbatched") || !strings.Contains(out, "ceiling") ||
		!strings.Contains(out, "2 replica(s)") {
		t.Errorf("text: exit %d, stderr %q\n%s", code, errOut, out)
	}

	for _, args := range [][]string{
		{"batcher"},
		{"batcher", "-spec", spec, "-concurrency", "0"},
		{"batcher", "-spec", spec, "-max-batch", "0"},
		{"batcher", "-spec", spec, "-max-delay", "-1ms"},
		{"batcher", "-spec", spec, "-duration", "0s"},
		{"batcher", "-spec", spec, "-replicas", "0"},
		{"batcher", "-spec", "Dense(2)"},
		{"batcher", "-spec", spec, "-backend", "both"},
	} {
		if code, _, errOut := runCmd(args...); code != exitUsage || !strings.HasPrefix(errOut, "densebench: batcher: ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line", args, code, errOut)
		}
	}
	if code, out, _ := runCmd("batcher", "-h"); code != exitOK || !strings.Contains(out, "ceiling") {
		t.Errorf("batcher -h: exit %d\n%s", code, out)
	}
}
