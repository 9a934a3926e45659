package npy

import (
	"bytes"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
)

// FuzzNPY reads arbitrary bytes as .npy: errors are expected; a panic, a
// result whose data does not fill its shape, or more than
// densetest.FuzzAllocLimit allocated is a bug. Seeds:
// testdata/fuzz/FuzzNPY.
func FuzzNPY(f *testing.F) {
	for _, dict := range []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
		"{'descr': '|u1', 'fortran_order': False, 'shape': (6,), }",
		"{'descr': '>f8', 'fortran_order': False, 'shape': (), }",
		"{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647,), }",
	} {
		f.Add(npyRaw(dict, []byte("0123456789abcdefghijklmnopqrstuv")[:24]))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		densetest.LimitAllocs(t, densetest.FuzzAllocLimit, func() {
			shape, data, dtype, err := ReadDtype(bytes.NewReader(b))
			if err != nil {
				return
			}
			n := 1
			for _, d := range shape {
				n *= d
			}
			if n != len(data) || dtype == "" {
				t.Fatalf("shape %v (%d values) of %q, but %d values", shape, n, dtype, len(data))
			}
			var w bytes.Buffer
			if dtype == "float32" {
				if err := Write(&w, shape, data); err != nil {
					t.Fatalf("Write of what Read read: %v", err)
				}
			}
		})
	})
}
