package kernels

import "testing"

func withKC(p MicroGemmParams, kc int) MicroGemmParams {
	p.KC = kc
	return p
}

// TestGemmBlocks checks the blocks of C handed to work-items: whole tiles,
// enough blocks for the compute units, K blocks covering K.
func TestGemmBlocks(t *testing.T) {
	for _, p := range []MicroGemmParams{CPUGemm, withKC(CPUGemm, 256),
		{MWI: 4, NWI: 8, MDIM: 1, NDIM: 1, KWG: 2, VW: 4, MC: 8, NC: 16, KC: 16},
		{MWI: 3, NWI: 8, MDIM: 1, NDIM: 1, KWG: 3, VW: 8, MC: 9, NC: 24, KC: 7, PackA: true, PackB: true}} {
		for _, s := range [][3]int{{1, 1, 1}, {512, 512, 512}, {16384, 10, 512}, {256, 512, 784}, {7, 3000, 5}, {2048, 2048, 2048}} {
			m, n, k := s[0], s[1], s[2]
			mc, nc, kc := p.Blocks(m, n, k, 2)
			if mc%p.MWI != 0 || nc%p.NWI != 0 || mc < 1 || nc < 1 || kc < 1 || kc > k {
				t.Errorf("%v %v: blocks %d×%d×%d", p, s, mc, nc, kc)
			}
			blocks := ceilDiv(m, mc) * ceilDiv(n, nc)
			tiles := ceilDiv(m, p.MWI) * ceilDiv(n, p.NWI)
			if blocks < min(8, tiles) {
				t.Errorf("%v %v: %d blocks of %d×%d for 2 compute units", p, s, blocks, mc, nc)
			}
		}
	}
}

func TestPacksA(t *testing.T) {
	p := CPUGemm
	for _, c := range []struct {
		g    Gemm
		nc   int
		want bool
	}{
		{Gemm{M: 256, N: 512, K: 784, LDA: 784}, 256, false},    // 2 column blocks
		{Gemm{M: 256, N: 256, K: 512, LDA: 512}, 256, false},    // 1 column block
		{Gemm{M: 1000, N: 1000, K: 1000, LDA: 1000}, 256, true}, // 4 column blocks
		{Gemm{M: 256, N: 512, K: 1024, LDA: 1024}, 256, true},   // rows 4 KiB apart
		{Gemm{M: 256, N: 512, K: 784, LDA: 256, TransA: true}, 256, true},
		{Gemm{M: 256, N: 10, K: 1024, LDA: 1024}, 16, false}, // too narrow
		{Gemm{M: 8, N: 512, K: 1024, LDA: 1024}, 256, false}, // too few rows
		{Gemm{M: 256, N: 512, K: 8, LDA: 1024}, 256, false},  // too short
	} {
		if got := p.PacksA(c.g, c.nc); got != c.want {
			t.Errorf("PacksA(%dx%dx%d, lda %d, transA %v, nc %d) = %v, want %v",
				c.g.M, c.g.N, c.g.K, c.g.LDA, c.g.TransA, c.nc, got, c.want)
		}
	}
}
