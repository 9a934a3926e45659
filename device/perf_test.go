package device

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// Tests of the CPU path of the GEMM family: packed A and B, K blocks,
// blocks of C per work-item, GemmPacked, tuned parameters. The general
// conformance suite is gemm_test.go's.

// perfParamSets are the CPU-shaped configurations these tests run: the
// default (packed A and B, 6×16 tiles, K in one block), the default's
// program with 256-deep K blocks (block sizes are run-time arguments), one
// that packs nothing with small tiles and blocks (so that small shapes
// cross many K blocks, block edges and the gather path of an unpacked B),
// and one with odd tiles that packs both with tiny K blocks.
var perfParamSets = []kernels.MicroGemmParams{
	kernels.CPUGemm,
	withKC(kernels.CPUGemm, 256),
	{MWI: 4, NWI: 8, MDIM: 1, NDIM: 1, KWG: 2, VW: 4, MC: 8, NC: 16, KC: 16},
	{MWI: 3, NWI: 8, MDIM: 1, NDIM: 1, KWG: 3, VW: 8, MC: 9, NC: 24, KC: 7, PackA: true, PackB: true},
}

// withKC returns p with K blocks of kc.
func withKC(p kernels.MicroGemmParams, kc int) kernels.MicroGemmParams {
	p.KC = kc
	return p
}

// perfOpen opens the default device for a test or benchmark of this
// package, skipping when there is none, and closes it at the end.
func perfOpen(t testing.TB) *Device {
	t.Helper()
	d, err := Open("")
	if err != nil {
		t.Skipf("no OpenCL device: %v", err)
	}
	t.Cleanup(func() {
		logBuilds(t, d)
		d.Close()
	})
	return d
}

func perfUpload(t *testing.T, d *Device, s []float32) *Buffer {
	t.Helper()
	if s == nil {
		return nil
	}
	b, err := d.Alloc(len(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Release() })
	if err := d.Upload(b, 0, s); err != nil {
		t.Fatal(err)
	}
	return b
}

// perfCases are the shapes of these tests: narrow N (10, 1), K = 3,
// primes, sizes off every tile and block, one that crosses several K
// blocks of 256, under every combination of transposes, with and
// without bias (relu with, linear without, to bound the programs built),
// padded leading dimensions and offsets on some, alpha and beta on some.
func perfCases() []densetest.GemmCase {
	r := densetest.Rand(11)
	shapes := [][3]int{
		{1, 1, 1}, {1, 10, 3}, {37, 10, 512}, {97, 1, 31}, {61, 512, 3}, {13, 67, 131},
		{100, 33, 600}, {7, 17, 5}, {64, 64, 64}, {131, 97, 61},
	}
	var cases []densetest.GemmCase
	for i, s := range shapes {
		for combo := 0; combo < 8; combo++ {
			if (i+combo)%2 == 1 && s[0]*s[1]*s[2] > 1e5 {
				continue // big shapes under half the combinations
			}
			g := kernels.Gemm{M: s[0], N: s[1], K: s[2], Alpha: 1}
			g.TransA, g.TransB, g.Bias = combo&1 != 0, combo&2 != 0, combo&4 != 0
			if g.Bias {
				g.Act = kernels.Act(kernels.ReLU)
			}
			if (i+combo)%5 == 2 {
				g.Alpha, g.Beta = 0.75, -0.5
			}
			cases = append(cases, densetest.NewCase(r, g, (i+combo)%3 == 1))
		}
	}
	return cases
}

// perfGemmer runs GEMMs on host slices through Gemm, or through PackB and
// GemmPacked.
type perfGemmer struct {
	t      *testing.T
	d      *Device
	packed bool
}

func (p perfGemmer) Gemm(g kernels.Gemm, a, b, c, bias []float32) error {
	d := p.d
	A, B, C := perfUpload(p.t, d, a), perfUpload(p.t, d, b), perfUpload(p.t, d, c)
	Bias := perfUpload(p.t, d, bias)
	if p.packed {
		pb, err := d.PackB(g, B)
		if err != nil {
			return err
		}
		defer pb.Release()
		// B changes after packing: the product must use the packed copy.
		if err := d.Fill(B, 0, B.Len(), float32(math.NaN())); err != nil {
			return err
		}
		if err := d.GemmPacked(g, A, pb, C, Bias); err != nil {
			return err
		}
	} else if err := d.Gemm(g, A, B, C, Bias); err != nil {
		return err
	}
	return d.Download(c, C, 0)
}

// EnvExhaustive names the environment variable that runs this package's
// sampled sweeps whole: set to 1, TestGemmCPUPaths runs every transpose
// and bias combination under every parameter set, TestSoftmaxCPUPaths
// log_softmax on every row length, TestGemmPackedGPUParams every
// transpose of B with and without bias, and TestGemmConformance (its
// sampledGemmCases) every combination under every configuration.
const EnvExhaustive = "DENSECL_TEST_EXHAUSTIVE"

func exhaustive() bool { return os.Getenv(EnvExhaustive) == "1" }

// sampledCases keeps, of cases, the two combinations of transposes and
// bias that set every flag both ways: neither transposed without bias,
// and both transposed with bias (relu). Each combination is a program of
// its own, whose first launch PoCL compiles for seconds, and the
// parameter sets beside the default are there for their tiles and
// blocks, which every combination crosses alike.
func sampledCases(cases []densetest.GemmCase) []densetest.GemmCase {
	var out []densetest.GemmCase
	for _, c := range cases {
		if c.G.TransA == c.G.TransB && c.G.TransA == c.G.Bias {
			out = append(out, c)
		}
	}
	return out
}

func TestGemmCPUPaths(t *testing.T) {
	d := OpenCPULike(t)
	cases := perfCases()
	for i, p := range perfParamSets {
		cs := cases
		if i > 1 && !exhaustive() { // the default's program runs all
			cs = sampledCases(cases)
		}
		for _, packed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/packed=%v", p, packed), func(t *testing.T) {
				if err := d.SetGemmParams(p); err != nil {
					t.Fatal(err)
				}
				densetest.CheckGemm(t, perfGemmer{t, d, packed}, cs)
			})
		}
	}
	// Non-temporal stores of C, which only large products use, on every
	// case that allows them (tightly packed C, beta = 0).
	t.Run("nt-stores", func(t *testing.T) {
		defer func(n int) { ntStoreMin = n }(ntStoreMin)
		ntStoreMin = 1
		if err := d.SetGemmParams(kernels.CPUGemm); err != nil {
			t.Fatal(err)
		}
		densetest.CheckGemm(t, perfGemmer{t, d, true}, cases)
	})
}

// TestGemmPackedGPUParams checks PackB and GemmPacked with the GPU
// configuration, where the packed B is a plain copy.
func TestGemmPackedGPUParams(t *testing.T) {
	d := perfOpen(t)
	if err := d.SetGemmParams(kernels.GPUGemm); err != nil {
		t.Fatal(err)
	}
	var cases []densetest.GemmCase
	for _, c := range perfCases() {
		// B transposed with bias, and neither: two programs of the four
		// (all four with EnvExhaustive).
		if c.G.M*c.G.N*c.G.K < 2e5 && !c.G.TransA && (c.G.TransB == c.G.Bias || exhaustive()) {
			cases = append(cases, c)
		}
	}
	densetest.CheckGemm(t, perfGemmer{t, d, true}, cases)
}

// TestGemmPackedReuse multiplies several A by one packed B, and checks
// the errors of GemmPacked.
func TestGemmPackedReuse(t *testing.T) {
	d := perfOpen(t)
	r := densetest.Rand(5)
	const k, n = 131, 10
	g := kernels.Gemm{M: 50, N: n, K: k, Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
	c0 := densetest.NewCase(r, g, false)
	B, Bias := perfUpload(t, d, c0.B), perfUpload(t, d, c0.Bias)
	pb, err := d.PackB(g, B)
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Release()
	if pb.K() != k || pb.N() != n {
		t.Fatalf("packed B is %d×%d, want %d×%d", pb.K(), pb.N(), k, n)
	}
	for i, m := range []int{1, 7, 300, 6} {
		g.M = m
		c := densetest.NewCase(r, g, false)
		want := densetest.RefGemm(c.G, c.A, c0.B, c.C, c0.Bias)
		A, C := perfUpload(t, d, c.A), perfUpload(t, d, c.C)
		if err := d.GemmPacked(c.G, A, pb, C, Bias); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(c.C))
		if err := d.Download(got, C, 0); err != nil {
			t.Fatal(err)
		}
		if e, err := densetest.RelErr(c.G, got, want, c.C); err != nil || e > densetest.Tol {
			t.Errorf("product %d (M=%d): error %.3g, %v", i, m, e, err)
		}
	}
	A, C := perfUpload(t, d, make([]float32, 10*k)), perfUpload(t, d, make([]float32, 10*n))
	bad := g
	bad.M, bad.K = 10, k+1
	if err := d.GemmPacked(bad, A, pb, C, Bias); err == nil {
		t.Errorf("GemmPacked with K=%d on a packed B of K=%d: no error", bad.K, k)
	}
	if err := d.GemmPacked(g, A, nil, C, Bias); err == nil {
		t.Errorf("GemmPacked with a nil packed B: no error")
	}
	if _, err := d.PackB(kernels.Gemm{K: k, N: n + 1}, B); err == nil {
		t.Errorf("PackB of %d×%d from a buffer of %d: no error", k, n+1, B.Len())
	}
}

// TestSoftmaxCPUPaths checks softmax and log_softmax on the CPU kernels'
// paths: short rows (one vector, compiled per length), rows with and
// without a vector tail, many rows per work-item, in place, and rows with
// -Inf, +Inf and NaN, against a float64 reference.
func TestSoftmaxCPUPaths(t *testing.T) {
	d := perfOpen(t)
	r := densetest.Rand(13)
	for _, log := range []bool{false, true} {
		for _, s := range [][2]int{{1000, 10}, {5, 16}, {70, 9}, {65, 17}, {40, 24}, {200, 1000}} {
			rows, cols := s[0], s[1]
			if log && (cols == 10 || cols == 16) && !exhaustive() {
				// Short rows compile a program per length: log_softmax
				// takes one of them (9), softmax all three.
				continue
			}
			src := densetest.Uniform(r, rows*cols)
			for i := range src {
				src[i] *= 30
			}
			ninf, inf := float32(math.Inf(-1)), float32(math.Inf(1))
			src[cols+1] = ninf                // row 1: one -Inf
			src[2*cols+cols-1] = inf          // row 2: +Inf: NaN row
			src[3*cols] = float32(math.NaN()) // row 3: NaN row
			buf := perfUpload(t, d, src)
			sm := kernels.Softmax{Rows: rows, Cols: cols, Log: log}
			if err := d.Softmax(sm, buf, buf); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(src))
			if err := d.Download(got, buf, 0); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < rows; i++ {
				row, out := src[i*cols:(i+1)*cols], got[i*cols:(i+1)*cols]
				m := math.Inf(-1)
				nan := false
				for _, v := range row {
					m = math.Max(m, float64(v))
					nan = nan || math.IsNaN(float64(v)) || math.IsInf(float64(v), 1)
				}
				var sum float64
				for _, v := range row {
					sum += math.Exp(float64(v) - m)
				}
				var num, den float64
				for j, v := range row {
					want := math.Exp(float64(v)-m) / sum
					if log {
						want = float64(v) - m - math.Log(sum)
					}
					if nan {
						if !math.IsNaN(float64(out[j])) {
							t.Fatalf("log=%v %dx%d row %d: %v at %d, want NaN", log, rows, cols, i, out[j], j)
						}
						continue
					}
					if math.IsInf(want, -1) {
						if !math.IsInf(float64(out[j]), -1) {
							t.Fatalf("log=%v %dx%d row %d: %v at %d, want -Inf", log, rows, cols, i, out[j], j)
						}
						continue
					}
					num += (float64(out[j]) - want) * (float64(out[j]) - want)
					den += want * want
				}
				if den > 0 && math.Sqrt(num/den) > densetest.Tol {
					t.Fatalf("log=%v %dx%d row %d: relative error %.3g", log, rows, cols, i, math.Sqrt(num/den))
				}
			}
		}
	}
}

// The CPU kernels are chosen for devices that are not GPUs and whose local
// memory is ordinary memory; every other device gets the GPU ones.
func TestCPULike(t *testing.T) {
	for _, c := range []struct {
		info Info
		want bool
	}{
		{Info{Type: "cpu", LocalMemGlobal: true}, true},
		{Info{Type: "accelerator", LocalMemGlobal: true}, true},
		{Info{Type: "cpu", LocalMemGlobal: false}, false},
		{Info{Type: "gpu", LocalMemGlobal: false}, false},
		{Info{Type: "gpu", LocalMemGlobal: true}, false},
	} {
		if got := c.info.cpuLike(); got != c.want {
			t.Errorf("%s, local memory in global memory %v: cpuLike = %v, want %v", c.info.Type, c.info.LocalMemGlobal, got, c.want)
		}
	}
}

// logBuilds logs how many programs a test built on d: only in verbose
// test runs that built some, never in benchmarks, whose output it would
// bury.
func logBuilds(t testing.TB, d *Device) {
	if _, bench := t.(*testing.B); bench || !testing.Verbose() || d.Builds() == 0 {
		return
	}
	t.Logf("%d programs built on %s", d.Builds(), d)
}
