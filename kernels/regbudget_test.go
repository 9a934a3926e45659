package kernels

import (
	"strings"
	"testing"
)

func TestRegBudget(t *testing.T) {
	for _, c := range []struct{ wg, groups, want int }{
		{256, 2, 128}, {256, 1, 255}, {256, 3, 80}, {128, 3, 168}, {1024, 1, 64}, {1024, 8, 0}, {0, 1, 0},
	} {
		if got := RegBudgetFor(c.wg, c.groups); got != c.want {
			t.Errorf("RegBudgetFor(%d, %d) = %d, want %d", c.wg, c.groups, got, c.want)
		}
	}
	p := GPUGemmDefault("NVIDIA Corporation", ClassLarge)
	if p.MaxRegs != 0 || p.NVOptions() != "" {
		t.Errorf("NVIDIA's large default has budget %d (%q): the sm_90 figures show it spilling at 128", p.MaxRegs, p.NVOptions())
	}
	p.MaxRegs = 128
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if o := p.NVOptions(); o != "-cl-nv-maxrregcount=128" {
		t.Errorf("NVOptions() = %q", o)
	}
	if s := p.String(); !strings.HasSuffix(s, "/db/r128") {
		t.Errorf("String() = %q, want the budget at the end", s)
	}
	for _, bad := range []int{-1, 8, 256} {
		p.MaxRegs = bad
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "MaxRegs") {
			t.Errorf("MaxRegs %d: %v, want an error", bad, err)
		}
	}
	g := Gemm{M: 64, N: 64, K: 64, LDA: 64, LDB: 64, LDC: 64}
	p.MaxRegs = 128
	if o := p.Options(g, Limits{NVCompilerOptions: true}); !strings.HasSuffix(o, " -cl-nv-maxrregcount=128") {
		t.Errorf("NVIDIA: options %q, want the budget at the end", o)
	}
	if o := p.Options(g, Limits{}); strings.Contains(o, "maxrregcount") {
		t.Errorf("another compiler: options %q, want no budget", o)
	}
	// The space searches the budget for the large class's 256-work-item,
	// 64-accumulator members only.
	n := 0
	for _, c := range GemmClasses {
		for _, p := range GPUGemmSpace(c) {
			if p.MaxRegs == 0 {
				continue
			}
			n++
			if c != ClassLarge || p.MDIMC*p.NDIMC != 256 || p.MaxRegs != 128 {
				t.Errorf("%s: %s has a budget", c, p)
			}
		}
	}
	if n == 0 {
		t.Error("no member of the space has a register budget")
	}
}
