package device_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// TestWrapHost runs kernels on buffers over host slices: an activation
// and a GEMM whose inputs are wrapped read-only and whose outputs are
// wrapped slices, one of them starting off any alignment. After SyncHost
// the results are in the slices, the inputs are unchanged, and a released
// wrap is refused.
func TestWrapHost(t *testing.T) {
	d := open(t)
	t.Logf("zero copy: %v", d.ZeroCopy())
	r := densetest.Rand(3)
	const n = 1001
	src := densetest.Uniform(r, n)
	orig := append([]float32(nil), src...)
	backing := densetest.NaNs(n + 1)
	dst := backing[1:] // 4 bytes past an allocation's start
	in, err := d.WrapHost(src, true)
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.WrapHost(dst, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Activate(kernels.Elementwise{N: n, Act: kernels.Act(kernels.ReLU)}, in, out); err != nil {
		t.Fatal(err)
	}
	if err := d.SyncHost(out); err != nil {
		t.Fatal(err)
	}
	for i, v := range src {
		if want := max(v, 0); dst[i] != want || v != orig[i] {
			t.Fatalf("element %d: relu(%v) = %v (input now %v)", i, orig[i], dst[i], v)
		}
	}
	if !isNaN(backing[0]) {
		t.Errorf("the float before the wrapped slice changed: %v", backing[0])
	}

	// A GEMM with wrapped A and C and a device-resident B, C synced twice.
	const m, k, nn = 37, 13, 10
	a, b := densetest.Uniform(r, m*k), densetest.Uniform(r, k*nn)
	c := make([]float32, m*nn)
	ab, _ := d.WrapHost(a, true)
	cb, _ := d.WrapHost(c, false)
	bb, _ := d.Alloc(k * nn)
	defer bb.Release()
	if err := d.Upload(bb, 0, b); err != nil {
		t.Fatal(err)
	}
	if err := d.Gemm(kernels.Gemm{M: m, N: nn, K: k, Alpha: 1}, ab, bb, cb, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := d.SyncHost(cb); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]float64, m*nn)
	for i := range m {
		for j := range nn {
			for l := range k {
				want[i*nn+j] += float64(a[i*k+l]) * float64(b[l*nn+j])
			}
		}
	}
	if e := densetest.NormErr(c, want); e > densetest.Tol {
		t.Errorf("GEMM on wrapped memory: error %.3g", e)
	}

	for _, b := range []*device.Buffer{in, out, ab, cb} {
		if err := b.Release(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC() // released wraps leave nothing pinned
	if err := d.SyncHost(out); !errors.Is(err, device.ErrClosed) {
		t.Errorf("sync of a released wrap: %v, want ErrClosed", err)
	}
	if _, err := d.WrapHost(nil, true); err == nil {
		t.Error("wrapping an empty slice: no error")
	}
	// SyncHost on an ordinary buffer only waits.
	if err := d.SyncHost(bb); err != nil {
		t.Errorf("sync of an allocated buffer: %v", err)
	}
}

func isNaN(v float32) bool { return v != v }
