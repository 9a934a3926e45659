package kernels

import (
	"encoding/json"
	"testing"
)

func TestGPUGemmSpace(t *testing.T) {
	min := map[GemmClass]int{ClassLarge: 300, ClassSkinnyN: 50, ClassSkinnyK: 50, ClassSmallM: 50}
	for _, c := range GemmClasses {
		space := GPUGemmSpace(c)
		t.Logf("%s: %d candidates", c, len(space))
		if len(space) < min[c] {
			t.Errorf("%s: %d candidates, want at least %d", c, len(space), min[c])
		}
		seen := map[GemmParams]bool{}
		for _, p := range space {
			if err := p.Validate(); err != nil {
				t.Errorf("%s: %v", c, err)
			}
			if seen[p] {
				t.Errorf("%s: %v twice", c, p)
			}
			seen[p] = true
			if p.XgemmLocalBytes() > SpaceMaxLocal || p.MDIMC*p.NDIMC > SpaceMaxWG {
				t.Errorf("%s: %v exceeds the space's limits", c, p)
			}
		}
		for _, v := range []string{"NVIDIA Corporation", "Advanced Micro Devices, Inc."} {
			if d := GPUGemmDefault(v, c); !seen[d] {
				t.Errorf("%s: the default for %s, %v, is not in the space", c, v, d)
			}
		}
	}
}

func TestXgemmValidate(t *testing.T) {
	ok := GPUGemmDefault("NVIDIA", ClassLarge)
	for _, tc := range []struct {
		name string
		f    func(*GemmParams)
	}{
		{"MWG not a multiple of MDIMC·VWM", func(p *GemmParams) { p.MWG = 32; p.VWM = 4 }},
		{"NWG not a power of 2", func(p *GemmParams) { p.NWG = 96 }},
		{"KWG not a multiple of KWI", func(p *GemmParams) { p.KWI = 32 }},
		{"KDIMA does not divide KWG", func(p *GemmParams) { p.MDIMA = 8 }},
		{"NDIMB does not divide the work-group", func(p *GemmParams) { p.NDIMB = 512 }},
		{"vector width 3", func(p *GemmParams) { p.VWN = 3 }},
		{"DB without local memory", func(p *GemmParams) { p.SA, p.SB, p.MDIMA, p.NDIMB = false, false, 0, 0 }},
		{"CPU fields set", func(p *GemmParams) { p.MC = 96 }},
		{"unknown kernel", func(p *GemmParams) { p.Kernel = 7 }},
	} {
		p := ok
		tc.f(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: %v passes Validate", tc.name, p)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestGemmParamsJSON(t *testing.T) {
	for _, p := range []GemmParams{CPUGemm, GPUGemm, GPUGemmDefault("NVIDIA", ClassLarge), GPUGemmDefault("", ClassSkinnyK)} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q GemmParams
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatal(err)
		}
		if q != p {
			t.Errorf("%s: JSON %s reads back as %v", p, b, q)
		}
	}
	// A record written before the GPU kernels reads as KernelGemm.
	var q GemmParams
	if err := json.Unmarshal([]byte(`{"MWI":6,"NWI":16,"MDIM":1,"NDIM":1,"KWG":4,"VW":8}`), &q); err != nil || q.Kernel != KernelGemm {
		t.Errorf("old record: %v, kernel %v", err, q.Kernel)
	}
}

func TestXgemmWidths(t *testing.T) {
	p := GPUGemmDefault("NVIDIA", ClassLarge) // VWM 4, VWN 4
	for _, tc := range []struct {
		g             Gemm
		vwa, vwb, vwc int
	}{
		{Gemm{M: 64, N: 64, K: 64, LDA: 64, LDB: 64, LDC: 64}, 4, 4, 4},
		{Gemm{M: 64, N: 10, K: 64, LDA: 64, LDB: 10, LDC: 10}, 4, 2, 2},
		{Gemm{M: 64, N: 64, K: 3, LDA: 3, LDB: 64, LDC: 64}, 1, 4, 4},
		{Gemm{M: 64, N: 64, K: 64, LDA: 64, LDB: 64, LDC: 64, OffA: 2, OffC: 1}, 2, 4, 1},
		// Aᵀ: 128/64 = 2 elements of M per work-item.
		{Gemm{M: 64, N: 64, K: 64, LDA: 64, LDB: 64, LDC: 64, TransA: true}, 2, 4, 4},
	} {
		a, b, c := p.XgemmWidths(tc.g)
		if a != tc.vwa || b != tc.vwb || c != tc.vwc {
			t.Errorf("%+v: widths %d %d %d, want %d %d %d", tc.g, a, b, c, tc.vwa, tc.vwb, tc.vwc)
		}
	}
}
