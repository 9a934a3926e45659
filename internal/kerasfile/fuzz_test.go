package kerasfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
)

// FuzzKeras reads arbitrary bytes as a .keras zip and as an HDF5 Keras
// file: errors are expected; panics, hangs and allocations beyond
// densetest.FuzzAllocLimit are bugs.
func FuzzKeras(f *testing.F) {
	// Small seeds: the fuzzer mutates and minimises big inputs slowly.
	// TestMutations and TestTruncated cover the bigger fixtures.
	for _, name := range []string{
		"fuzz_keras3.keras", "fuzz_legacy_sb3.h5", "keras3_nested_deflated.keras",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		densetest.LimitAllocs(t, densetest.FuzzAllocLimit, func() { fuzzKeras(t, b) })
	})
}

func fuzzKeras(t *testing.T, b []byte) {
	for _, read := range []func([]byte) (*Model, error){
		func(b []byte) (*Model, error) { return ReadKeras(bytes.NewReader(b), int64(len(b))) },
		func(b []byte) (*Model, error) { return ReadH5(bytes.NewReader(b), int64(len(b))) },
	} {
		m, err := read(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "kerasfile: ") {
				t.Fatalf("error without the package prefix: %q", err)
			}
			continue
		}
		for _, l := range m.Layers {
			for _, w := range l.Weights {
				n := 1
				for _, d := range w.Shape {
					n *= d
				}
				if n != len(w.Data) {
					t.Fatalf("layer %q weight %q: shape %v but %d values", l.Layer, w.Name, w.Shape, len(w.Data))
				}
			}
		}
	}
}
