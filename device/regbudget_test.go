package device

import (
	"strings"
	"testing"

	"github.com/densecl/densecl/kernels"
)

// TestXgemmOptionsBudget checks that a register budget reaches the build
// options only where the compiler is NVIDIA's (cl_nv_compiler_options).
func TestXgemmOptionsBudget(t *testing.T) {
	p := kernels.GPUGemmDefault("NVIDIA Corporation", kernels.ClassLarge)
	p.MaxRegs = 128
	g := kernels.Gemm{M: 256, N: 256, K: 256, LDA: 256, LDB: 256, LDC: 256}
	nv := Info{Extensions: "cl_khr_fp64 cl_nv_compiler_options cl_nv_device_attribute_query"}.Limits()
	other := Info{Extensions: "cl_khr_fp64"}.Limits()
	plain := p.Options(g, kernels.Limits{})
	if o := p.Launch(g, nv, false).Options; o != plain+" -cl-nv-maxrregcount=128" {
		t.Errorf("NVIDIA: options %q, want %q and -cl-nv-maxrregcount=128", o, plain)
	}
	if o := p.Launch(g, other, false).Options; o != plain {
		t.Errorf("another compiler: options %q, want %q (no budget)", o, plain)
	}
	p.MaxRegs = 0
	if o := p.Launch(g, nv, false).Options; strings.Contains(o, "maxrregcount") {
		t.Errorf("NVIDIA, no budget: options %q", o)
	}
}
