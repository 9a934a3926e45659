package kernels

import (
	"strings"
	"testing"
)

// TestGemmParamsJSON checks that both families read back from their
// tagged form, and that the flat form of records written before the
// families split still reads.
func TestGemmParamsJSON(t *testing.T) {
	direct := GPUGemmDefault("", ClassSkinnyK)
	budget := GPUGemmDefault("NVIDIA", ClassLarge)
	budget.MaxRegs = 128
	for _, p := range []GemmParams{CPUGemm, GPUGemm, GPUGemmDefault("NVIDIA", ClassLarge), direct, budget} {
		k, raw, err := MarshalGemmParams(p)
		if err != nil {
			t.Fatal(err)
		}
		if k != p.Kernel().String() {
			t.Errorf("%s: tagged %q", p, k)
		}
		if strings.Contains(string(raw), "Direct") || strings.Contains(string(raw), "Kernel") {
			t.Errorf("%s: the kernel is a field of %s, not only the tag", p, raw)
		}
		q, err := UnmarshalGemmParams(k, raw)
		if err != nil {
			t.Fatalf("%s: %s %s: %v", p, k, raw, err)
		}
		if q != p {
			t.Errorf("%s: %s %s reads back as %v", p, k, raw, q)
		}
	}
	if _, _, err := MarshalGemmParams(nil); err == nil {
		t.Error("nil parameters marshal")
	}

	// Old records: the flat form, literally as they were written.
	for _, c := range []struct {
		name, json string
		want       GemmParams
	}{
		{"gemm, before the GPU kernels", `{"MWI":6,"NWI":16,"MDIM":1,"NDIM":1,"KWG":4,"VW":8}`,
			MicroGemmParams{MWI: 6, NWI: 16, MDIM: 1, NDIM: 1, KWG: 4, VW: 8}},
		{"gemm, database record", `{"MWI": 4, "NWI": 64, "MDIM": 1, "NDIM": 1, "KWG": 4, "VW": 16, "Local": false,
			"MC": 96, "NC": 256, "KC": 0, "PackB": true, "PackA": true}`,
			MicroGemmParams{MWI: 4, NWI: 64, MDIM: 1, NDIM: 1, KWG: 4, VW: 16, MC: 96, NC: 256, PackB: true, PackA: true}},
		{"xgemm", `{"MWI":0,"NWI":0,"MDIM":0,"NDIM":0,"KWG":16,"VW":0,"Local":false,"MC":0,"NC":0,"KC":0,"PackB":false,"PackA":false,
			"Kernel":"xgemm","MWG":128,"NWG":128,"MDIMC":16,"NDIMC":16,"MDIMA":64,"NDIMB":32,"KWI":2,"VWM":4,"VWN":4,
			"STRM":true,"STRN":true,"SA":true,"SB":true,"DB":true}`, GPUGemmDefault("NVIDIA", ClassLarge)},
		{"xgemm_direct with a budget", `{"MWI":0,"NWI":0,"MDIM":0,"NDIM":0,"KWG":4,"VW":0,"Local":false,"MC":0,"NC":0,"KC":0,"PackB":false,"PackA":false,
			"Kernel":"xgemm_direct","MWG":64,"NWG":128,"MDIMC":8,"NDIMC":32,"KWI":2,"VWM":1,"VWN":4,"STRN":true,"MaxRegs":96}`,
			XgemmParams{Direct: true, MWG: 64, NWG: 128, KWG: 4, MDIMC: 8, NDIMC: 32, KWI: 2, VWM: 1, VWN: 4, STRN: true, MaxRegs: 96}},
	} {
		p, err := UnmarshalGemmParams("", []byte(c.json))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if p != c.want {
			t.Errorf("%s: read as %v, want %v", c.name, p, c.want)
		}
	}

	// What does not read: a field of the other family, in either form; an
	// unknown field or kernel; no parameters.
	for _, c := range []struct{ name, kernel, json string }{
		{"flat gemm with a GPU field", "", `{"MWI":6,"NWI":16,"MDIM":1,"NDIM":1,"KWG":4,"VW":8,"MWG":64}`},
		{"flat gemm with a budget", "", `{"MWI":6,"NWI":16,"MDIM":1,"NDIM":1,"KWG":4,"VW":8,"MaxRegs":128}`},
		{"flat xgemm with a CPU field", "", `{"Kernel":"xgemm","MWG":64,"NWG":64,"KWG":16,"MC":96}`},
		{"flat, unknown field", "", `{"MWI":6,"Tile":3}`},
		{"flat, unknown kernel", "", `{"Kernel":"sgemm"}`},
		{"tagged gemm with a GPU field", "gemm", `{"MWI":6,"NWI":16,"MDIM":1,"NDIM":1,"KWG":4,"VW":8,"MWG":64}`},
		{"tagged xgemm with a CPU field", "xgemm", `{"MWG":64,"NWG":64,"KWG":16,"MC":96}`},
		{"tagged xgemm naming its kernel inside", "xgemm", `{"Kernel":"xgemm","MWG":64}`},
		{"unknown kernel", "sgemm", `{"MWG":64}`},
		{"no parameters", "xgemm", ``},
		{"null parameters", "gemm", `null`},
	} {
		if p, err := UnmarshalGemmParams(c.kernel, []byte(c.json)); err == nil {
			t.Errorf("%s: read as %v", c.name, p)
		}
	}
}

// TestGemmParamsLaunch checks that each family's Launch is what its
// Options, Range and Panels say, on both sides of the packing of A.
func TestGemmParamsLaunch(t *testing.T) {
	lim := Limits{ComputeUnits: 2, MaxWorkGroup: 1024, LocalMem: 48 << 10}
	small := Gemm{M: 1, N: 10, K: 784, LDA: 784, LDB: 10, LDC: 10, Bias: true, Act: Act(ReLU)}
	wide := Gemm{M: 1000, N: 1000, K: 1000, LDA: 1000, LDB: 1000, LDC: 1000, TransA: true}
	for _, p := range []GemmParams{CPUGemm, GPUGemm, GPUGemmDefault("NVIDIA", ClassLarge), GPUGemmDefault("", ClassSmallM)} {
		for _, g := range []Gemm{small, wide} {
			l := p.Launch(g, lim, false)
			global, local := p.Range(g, lim)
			if l.Options != p.Options(g, lim) || l.Global != global || l.Local != local || l.Kernel != p.Kernel().String() {
				t.Errorf("%s, %dx%dx%d: launch %q %v %v, want %q %v %v", p, g.M, g.N, g.K, l.Options, l.Global, l.Local, p.Options(g, lim), global, local)
			}
			a, b := p.Panels(g, lim)
			if packedA := strings.Contains(l.Options, "-DPACKED_A=1"); packedA != (a > 0) {
				t.Errorf("%s, %dx%dx%d: panels of A %d, options %q", p, g.M, g.N, g.K, a, l.Options)
			}
			if packedB := strings.Contains(l.Options, "-DPACKED_B=1"); packedB != (b > 0) {
				t.Errorf("%s, %dx%dx%d: panels of B %d, options %q", p, g.M, g.N, g.K, b, l.Options)
			}
		}
	}
	if a, b := CPUGemm.Panels(small, lim); a != 0 || b != CPUGemm.NWI {
		t.Errorf("CPUGemm at batch 1: panels %d, %d, want 0, %d", a, b, CPUGemm.NWI)
	}
	if a, b := CPUGemm.Panels(wide, lim); a != CPUGemm.MWI || b != CPUGemm.NWI {
		t.Errorf("CPUGemm, 1000³ with Aᵀ: panels %d, %d, want %d, %d", a, b, CPUGemm.MWI, CPUGemm.NWI)
	}
	// InPlaceB reads B in place and changes nothing else.
	if q := InPlaceB(CPUGemm); q.(MicroGemmParams).PackB || q.(MicroGemmParams).PackA != CPUGemm.PackA {
		t.Errorf("InPlaceB(CPUGemm) = %v", q)
	}
	if x := GPUGemmDefault("", ClassLarge); InPlaceB(x) != GemmParams(x) {
		t.Errorf("InPlaceB changed %v", x)
	}
}

// TestGemmParamsFits checks both families against a device's limits.
func TestGemmParamsFits(t *testing.T) {
	big := Limits{MaxWorkGroup: 1024, LocalMem: 48 << 10}
	for _, c := range []struct {
		p    GemmParams
		lim  Limits
		what string // in the error; "" for none
	}{
		{CPUGemm, Limits{MaxWorkGroup: 1, LocalMem: 0}, ""},
		{GPUGemm, big, ""},
		{GPUGemm, Limits{MaxWorkGroup: 128, LocalMem: 48 << 10}, "work-group 16×16"},
		{GPUGemm, Limits{MaxWorkGroup: 1024, LocalMem: 4096}, "local memory"},
		{GPUGemmDefault("NVIDIA", ClassLarge), big, ""},
		{GPUGemmDefault("NVIDIA", ClassLarge), Limits{MaxWorkGroup: 128, LocalMem: 48 << 10}, "work-group 16×16"},
		{GPUGemmDefault("NVIDIA", ClassLarge), Limits{MaxWorkGroup: 1024, LocalMem: 16 << 10}, "local memory"},
	} {
		err := c.p.Fits(c.lim)
		if (c.what == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.what)) {
			t.Errorf("%s on %+v: %v, want %q", c.p, c.lim, err, c.what)
		}
	}
}
