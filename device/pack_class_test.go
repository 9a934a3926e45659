package device

import (
	"testing"

	"github.com/densecl/densecl/kernels"
)

// TestPackClass checks that PackB packs a weight matrix for its own shape
// class: a Dense(10) kernel for skinny_n's parameters, a 3-row kernel for
// skinny_k's, others for the large class's.
func TestPackClass(t *testing.T) {
	d := OpenCPULike(t)
	skinnyN := kernels.CPUGemm
	skinnyN.NWI = 8
	skinnyN.NC = 128
	if err := d.SetGemmParamsFor(kernels.ClassSkinnyN, skinnyN); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		k, n int
		want kernels.GemmClass
	}{{512, 10, kernels.ClassSkinnyN}, {3, 512, kernels.ClassSkinnyK}, {784, 512, kernels.ClassLarge}} {
		b, err := d.Alloc(c.k * c.n)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := d.PackB(kernels.Gemm{K: c.k, N: c.n}, b)
		if err != nil {
			t.Fatal(err)
		}
		if want := d.GemmParamsFor(c.want); pb.params != want {
			t.Errorf("K=%d N=%d: packed for %v, want %v's %v", c.k, c.n, pb.params, c.want, want)
		}
		pb.Release()
		b.Release()
	}
}
