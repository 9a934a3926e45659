package hdf5

import (
	"bytes"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
)

// FuzzHDF5 opens arbitrary bytes, walks every group and reads every
// attribute and dataset: errors are expected, panics, hangs and
// allocations beyond densetest.FuzzAllocLimit or cases longer than
// densetest.FuzzTimeLimit are bugs.
func FuzzHDF5(f *testing.F) {
	// Small seeds: the fuzzer mutates and minimises big inputs slowly.
	// The larger fixtures get random mutations in TestMutations.
	for _, name := range []string{
		"seed_attrs_sb0.h5", "seed_attrs_sb2.h5", "seed_attrs_sb3.h5",
		"seed_chunked_sb0.h5", "seed_chunked_sb2.h5", "seed_chunked_sb3.h5",
		"dense_storage_sb3.h5", "keras3_nested_deflated.keras",
	} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		densetest.Bounded(t, func() {
			file, err := NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				return
			}
			_ = exercise(file)
		})
	})
}
