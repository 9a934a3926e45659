package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// gemmCandidates returns the candidates the tuner tries for class c on d,
// most promising first: the points of the GEMM family that fit d.
func gemmCandidates(d *device.Device, c kernels.GemmClass) []kernels.GemmParams {
	return familyCandidates(d.Info(), c)
}

// familyCandidates returns the points of the GEMM family worth trying for
// class c on the device info describes. For CPUs (local memory emulated):
// register tiles that fit 16 vector registers of the preferred width (or
// 32 where the width is 16, AVX-512), K blocks that keep a B panel in L1
// or L2, blocks of C per work-item, with and without packing A (the same
// for every class). For GPUs: the class's part of the GPU kernels' search
// space (kernels.GPUGemmSpace) that fits the device.
func familyCandidates(info device.Info, c kernels.GemmClass) []kernels.GemmParams {
	var out []kernels.GemmParams
	add := func(p kernels.GemmParams) {
		if p.Validate() == nil && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if info.IsGPU() || !info.LocalMemGlobal {
		// The GPU kernels' search space for the class (kernels.GPUGemmSpace:
		// xgemm for large products, xgemm_direct for the others), less what
		// does not fit the device's work-group or local memory, and the
		// register budgets (MaxRegs) where the compiler is not NVIDIA's.
		lim := info.Limits()
		for _, p := range kernels.GPUGemmSpace(c) {
			if p.Fits(lim) == nil && (lim.NVCompilerOptions || p.MaxRegs == 0) {
				add(p)
			}
		}
		return out
	}
	vw := 8
	if info.FloatVector >= 16 {
		vw = 16
	}
	tiles := [][2]int{{6, 2 * vw}, {4, 3 * vw}, {8, vw}, {4, 2 * vw}, {5, 2 * vw}, {3, 4 * vw}}
	if vw == 16 {
		// 32 registers of 16 floats (AVX-512), tiles of at most 256 floats
		// (MicroGemmParams.Validate): 12 to 16 accumulators.
		tiles = [][2]int{{6, 32}, {8, 32}, {7, 32}, {4, 64}, {5, 48}, {4, 48}}
	}
	base := kernels.CPUGemm
	// Tiles with the default blocks, then blocks around the default tile.
	for _, t := range tiles {
		p := base
		p.MWI, p.NWI, p.VW = t[0], t[1], vw
		p.MC = roundTo(base.MC, t[0])
		p.NC = roundTo(base.NC, t[1])
		add(p)
	}
	for _, kc := range []int{128, 256, 512, 1024, 0} {
		p := base
		p.KC = kc
		add(p)
	}
	for _, b := range [][2]int{{48, 256}, {192, 256}, {96, 512}, {48, 1024}, {96, 128}} {
		p := base
		p.MC, p.NC = roundTo(b[0], p.MWI), roundTo(b[1], p.NWI)
		add(p)
	}
	for _, f := range []func(*kernels.MicroGemmParams){
		func(p *kernels.MicroGemmParams) { p.PackA = false },
		func(p *kernels.MicroGemmParams) { p.KWG = 8 },
		func(p *kernels.MicroGemmParams) { p.KWG = 2 },
		func(p *kernels.MicroGemmParams) { p.NWI, p.NC = 8, 256 },
		func(p *kernels.MicroGemmParams) { p.MWI, p.MC = 12, 96 },
	} {
		p := base
		f(&p)
		add(p)
	}
	return out
}

// roundTo returns n rounded to the nearest positive multiple of m.
func roundTo(n, m int) int { return max(1, (n+m/2)/m) * m }

// tuneTol is the largest relative norm error a candidate may show against
// the fallback on the verification shapes.
const tuneTol = 1e-5

// verifyCase is one product of the verification.
type verifyCase struct {
	m, n, k      int
	tA, tB, bias bool
	pad          int
	alpha, beta  float32
}

// tuneVerifyCases returns awkward products of class c under thresholds t
// (primes, sizes off every tile, N = 1 and 10, K = 3, padded leading
// dimensions and offsets): with full, transposes, beta and no bias too;
// else only the layout the tuner times (bias and relu, no transposes), so
// that a candidate is verified with the program it is timed with.
func tuneVerifyCases(t kernels.ClassThresholds, c kernels.GemmClass, full bool) []verifyCase {
	sn, sk, sm := max(t.SkinnyN, 0), max(t.SkinnyK, 0), max(t.SmallM, 0)
	var dims [][3]int // m, n, k
	switch c {
	case kernels.ClassLarge:
		dims = [][3]int{{sm + 67, sn + 37, sk + 283}, {sm + 3, sn + 1, sk + 1}, {sm + 29, sn + 97, sk + 500}}
	case kernels.ClassSkinnyN:
		dims = [][3]int{{131, min(10, max(sn, 1)), 300}, {67, 1, 61}, {29, max(sn, 1), 517}}
	case kernels.ClassSkinnyK:
		dims = [][3]int{{131, sn + 37, min(3, max(sk, 1))}, {67, sn + 1, max(sk, 1)}, {29, sn + 97, 1}}
	case kernels.ClassSmallM:
		dims = [][3]int{{1, sn + 37, sk + 283}, {min(13, max(sm, 1)), sn + 97, sk + 1}, {max(sm, 1), sn + 1, sk + 500}}
	}
	var out []verifyCase
	for i, d := range dims {
		if t.ClassOf(d[0], d[1], d[2]) != c {
			continue
		}
		out = append(out, verifyCase{m: d[0], n: d[1], k: d[2], bias: true, pad: i + 1, alpha: 1})
		if full {
			out = append(out,
				verifyCase{m: d[0], n: d[1], k: d[2], tA: true, pad: i, alpha: 1},
				verifyCase{m: d[0], n: d[1], k: d[2], tB: true, bias: true, pad: 3, alpha: 1},
				verifyCase{m: d[0], n: d[1], k: d[2], tA: true, tB: true, pad: 1, alpha: 0.5, beta: -1})
		}
	}
	return out
}

// tuneVerifyClass makes d use p for class c and runs the verification
// products of c (tuneVerifyCases), returning the largest relative norm
// error against fallback.Gemm, or an error when one exceeds tuneTol, holds
// NaN, writes outside C, or d refuses p.
func tuneVerifyClass(d *device.Device, c kernels.GemmClass, p kernels.GemmParams, full bool) (float64, error) {
	if err := d.SetGemmParamsFor(c, p); err != nil {
		return 0, err
	}
	cases := tuneVerifyCases(d.ClassThresholds(), c, full)
	if len(cases) == 0 {
		return 0, fmt.Errorf("no verification shapes of class %s under thresholds %+v", c, d.ClassThresholds())
	}
	rng := rand.New(rand.NewPCG(17, 23))
	worst := 0.0
	for _, s := range cases {
		g := kernels.Gemm{M: s.m, N: s.n, K: s.k, TransA: s.tA, TransB: s.tB, Alpha: s.alpha, Beta: s.beta, Bias: s.bias}
		if s.bias {
			g.Act = kernels.Act(kernels.ReLU)
		}
		ar, ac, br, bc := s.m, s.k, s.k, s.n
		if s.tA {
			ar, ac = ac, ar
		}
		if s.tB {
			br, bc = bc, br
		}
		g.LDA, g.LDB, g.LDC = ac+s.pad, bc+s.pad, s.n+s.pad
		g.OffA, g.OffB, g.OffC = s.pad, 2*s.pad, s.pad
		a := tuneRandom(rng, g.OffA+(ar-1)*g.LDA+ac)
		b := tuneRandom(rng, g.OffB+(br-1)*g.LDB+bc)
		bias := tuneRandom(rng, s.n)
		cm := tuneRandom(rng, g.OffC+(s.m-1)*g.LDC+s.n+1)
		if g.Beta == 0 {
			for i := range cm {
				cm[i] = float32(math.NaN())
			}
		}
		want := slices.Clone(cm)
		if err := fallback.Gemm(g, a, b, want, bias); err != nil {
			return 0, err
		}
		got, err := tuneRunHost(d, g, a, b, cm, bias)
		if err != nil {
			return 0, err
		}
		w64 := make([]float64, len(want))
		for i, v := range want {
			w64[i] = float64(v)
		}
		e, err := densetest.RelErr(g, got, w64, cm)
		if err != nil {
			return e, fmt.Errorf("%dx%dx%d: %v", s.m, s.n, s.k, err)
		}
		worst = max(worst, e)
		if e > tuneTol {
			return e, fmt.Errorf("%dx%dx%d tA=%v tB=%v: relative error %.3g > %g", s.m, s.n, s.k, s.tA, s.tB, e, tuneTol)
		}
	}
	return worst, nil
}

func tuneRandom(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// tuneRunHost runs g on d from host slices and returns C.
func tuneRunHost(d *device.Device, g kernels.Gemm, a, b, c, bias []float32) (out []float32, err error) {
	var bufs [4]*device.Buffer
	defer func() {
		for _, buf := range bufs {
			if e := buf.Release(); e != nil && err == nil {
				err = e
			}
		}
	}()
	for i, s := range [][]float32{a, b, c, bias} {
		buf, err := d.Alloc(len(s))
		if err != nil {
			return nil, err
		}
		bufs[i] = buf
		if err := d.Upload(buf, 0, s); err != nil {
			return nil, err
		}
	}
	if err := d.Gemm(g, bufs[0], bufs[1], bufs[2], bufs[3]); err != nil {
		return nil, err
	}
	out = make([]float32, len(c))
	return out, d.Download(out, bufs[2], 0)
}

// classBench holds the device buffers of one class's timed shapes and how
// many products one timed run holds per shape.
type classBench struct {
	d      *device.Device
	c      kernels.GemmClass
	shapes []Shape
	bufs   [][4]*device.Buffer
	reps   []int
}

func newClassBench(d *device.Device, c kernels.GemmClass, shapes []Shape) (*classBench, error) {
	cb := &classBench{d: d, c: c, shapes: shapes, reps: make([]int, len(shapes))}
	rng := rand.New(rand.NewPCG(29, 31))
	for i, s := range shapes {
		cb.reps[i] = 1
		cb.bufs = append(cb.bufs, [4]*device.Buffer{})
		for j, n := range []int{s.M * s.K, s.K * s.N, s.M * s.N, s.N} {
			buf, err := d.Alloc(n)
			if err != nil {
				cb.release()
				return nil, err
			}
			cb.bufs[i][j] = buf
			if err := d.Upload(buf, 0, tuneRandom(rng, n)); err != nil {
				cb.release()
				return nil, err
			}
		}
	}
	return cb, nil
}

func (cb *classBench) release() {
	for _, set := range cb.bufs {
		for _, b := range set {
			b.Release()
		}
	}
}

// run makes the device use p for the class and times one run of shape i:
// reps[i] products (bias + relu, as a Dense layer runs them) back to back,
// up to their completion.
func (cb *classBench) run(p kernels.GemmParams, i int) (time.Duration, error) {
	d := cb.d
	if err := d.SetGemmParamsFor(cb.c, p); err != nil {
		return 0, err
	}
	if err := d.Finish(); err != nil {
		return 0, err
	}
	s, b := cb.shapes[i], cb.bufs[i]
	g := kernels.Gemm{M: s.M, N: s.N, K: s.K, Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
	t0 := time.Now()
	for range cb.reps[i] {
		if err := d.Gemm(g, b[0], b[1], b[2], b[3]); err != nil {
			return 0, err
		}
	}
	if err := d.Finish(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// calibrate sets the products per run of each shape so that a run of p
// takes at least minRun (at most 1000 products), from the fastest of three
// single products (a busy machine only ever slows a run down).
func (cb *classBench) calibrate(p kernels.GemmParams, minRun time.Duration) error {
	for i := range cb.shapes {
		cb.reps[i] = 1
		if _, err := cb.run(p, i); err != nil { // build and warm up
			return err
		}
		fastest := time.Duration(math.MaxInt64)
		for range 3 {
			t, err := cb.run(p, i)
			if err != nil {
				return err
			}
			fastest = min(fastest, t)
		}
		cb.reps[i] = int(min(1000, max(1, math.Ceil(float64(minRun)/float64(max(fastest, time.Microsecond))))))
	}
	return nil
}

// gflops returns each shape's rate for times per product.
func (cb *classBench) gflops(ts []time.Duration) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		out[i] = round(cb.shapes[i].Flops()/t.Seconds()/1e9, 2)
	}
	return out
}
