package kernels

import (
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
		seen := map[XgemmParams]bool{}
		for _, p := range space {
			if err := p.Validate(); err != nil {
				t.Errorf("%s: %v", c, err)
			}
			if seen[p] {
				t.Errorf("%s: %v twice", c, p)
			}
			seen[p] = true
			if p.LocalBytes() > SpaceMaxLocal || p.MDIMC*p.NDIMC > SpaceMaxWG {
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
		f    func(*XgemmParams)
	}{
		{"MWG not a multiple of MDIMC·VWM", func(p *XgemmParams) { p.MWG = 32; p.VWM = 4 }},
		{"NWG not a power of 2", func(p *XgemmParams) { p.NWG = 96 }},
		{"KWG not a multiple of KWI", func(p *XgemmParams) { p.KWI = 32 }},
		{"KDIMA does not divide KWG", func(p *XgemmParams) { p.MDIMA = 8 }},
		{"NDIMB does not divide the work-group", func(p *XgemmParams) { p.NDIMB = 512 }},
		{"vector width 3", func(p *XgemmParams) { p.VWN = 3 }},
		{"DB without local memory", func(p *XgemmParams) { p.SA, p.SB, p.MDIMA, p.NDIMB = false, false, 0, 0 }},
		{"MaxRegs under the least budget", func(p *XgemmParams) { p.MaxRegs = 8 }},
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
		a, b, c := p.Widths(tc.g)
		if a != tc.vwa || b != tc.vwb || c != tc.vwc {
			t.Errorf("%+v: widths %d %d %d, want %d %d %d", tc.g, a, b, c, tc.vwa, tc.vwb, tc.vwc)
		}
	}
}
