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
	nv := &Device{info: Info{Extensions: "cl_khr_fp64 cl_nv_compiler_options cl_nv_device_attribute_query"}}
	other := &Device{info: Info{Extensions: "cl_khr_fp64"}}
	if o := nv.xgemmOptions(p, g); !strings.HasSuffix(o, " -cl-nv-maxrregcount=128") || !strings.HasPrefix(o, p.XgemmOptions(g)) {
		t.Errorf("NVIDIA: options %q, want XgemmOptions and -cl-nv-maxrregcount=128", o)
	}
	if o := other.xgemmOptions(p, g); o != p.XgemmOptions(g) {
		t.Errorf("another compiler: options %q, want %q (no budget)", o, p.XgemmOptions(g))
	}
	p.MaxRegs = 0
	if o := nv.xgemmOptions(p, g); strings.Contains(o, "maxrregcount") {
		t.Errorf("NVIDIA, no budget: options %q", o)
	}
}
