package device

import (
	"testing"

	"github.com/densecl/densecl/kernels"
)

// TestGemmSelection checks which kernel each device type uses by default:
// a CPU-like device keeps the CPU kernel and its class limits for every
// class; a GPU takes xgemm for large products and xgemm_direct for the
// others, with the GPU's limits (the seed model's and the MLP's products
// go direct).
func TestGemmSelection(t *testing.T) {
	cpu := &Device{info: Info{Type: "cpu", LocalMemGlobal: true}}
	gpu := &Device{info: Info{Type: "gpu", Vendor: "NVIDIA Corporation"}}
	for _, c := range kernels.GemmClasses {
		if p := cpu.GemmParamsFor(c); p != kernels.CPUGemm {
			t.Errorf("cpu %s: %v, want %v", c, p, kernels.CPUGemm)
		}
	}
	if got := cpu.ClassThresholds(); got != kernels.DefaultThresholds {
		t.Errorf("cpu thresholds %+v, want %+v", got, kernels.DefaultThresholds)
	}
	for _, tc := range []struct {
		m, n, k int
		want    kernels.GemmKernel
	}{
		{16384, 512, 3, kernels.KernelDirect},
		{16384, 10, 512, kernels.KernelDirect},
		{256, 512, 784, kernels.KernelDirect},
		{256, 256, 512, kernels.KernelDirect},
		{256, 10, 256, kernels.KernelDirect},
		{64, 4096, 4096, kernels.KernelDirect},
		{4096, 64, 4096, kernels.KernelDirect},
		{4096, 4096, 16, kernels.KernelDirect},
		{1024, 1024, 1024, kernels.KernelXgemm},
		{4096, 4096, 4096, kernels.KernelXgemm},
	} {
		p := gpu.GemmParamsFor(gpu.GemmClassOf(tc.m, tc.n, tc.k))
		if p.Kernel() != tc.want {
			t.Errorf("gpu %d×%d×%d: %v, want kernel %v", tc.m, tc.n, tc.k, p, tc.want)
		}
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
}
