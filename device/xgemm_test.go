package device_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// The GPU kernels (cl/xgemm.cl) are checked here on whatever device the
// tests run on, forced with SetGemmParams: on PoCL they run as they would
// on a GPU, only slower. Each program costs a build (about a second on
// PoCL, several on a GPU), so each check below builds few: one program
// per (parameters, layout, bias, compiled activation, vector widths), and
// a case list that keeps those fixed.

// xgemmDefaults are the GPU kernels' vendor defaults, every class.
func xgemmDefaults() []kernels.XgemmParams {
	var out []kernels.XgemmParams
	for _, v := range []string{"NVIDIA Corporation", "Advanced Micro Devices, Inc."} {
		for _, c := range kernels.GemmClasses {
			if p := kernels.GPUGemmDefault(v, c); !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// xgemmCase makes a case of g's shape, layout and bias with fresh random
// inputs and C poisoned with NaN (unless beta ≠ 0). aligned: leading
// dimensions and offsets are multiples of 8 (plus 8 of slack), so that
// the kernel keeps its full vector widths; otherwise they are odd, so
// that every vector narrows to 1.
func xgemmCase(r *rand.Rand, g kernels.Gemm, aligned bool) densetest.GemmCase {
	ar, ac := g.M, g.K
	if g.TransA {
		ar, ac = g.K, g.M
	}
	br, bc := g.K, g.N
	if g.TransB {
		br, bc = g.N, g.K
	}
	ld := func(cols int) int {
		if aligned {
			return (cols+7)/8*8 + 8
		}
		return cols | 1
	}
	g.LDA, g.LDB, g.LDC = ld(ac), ld(bc), ld(g.N)
	if aligned {
		g.OffA, g.OffB, g.OffC, g.OffBias = 8, 16, 24, 3
	} else {
		g.OffA, g.OffB, g.OffC, g.OffBias = 1, 3, 5, 1
	}
	c := densetest.GemmCase{G: g}
	c.A = densetest.Uniform(r, g.OffA+(ar-1)*g.LDA+ac)
	c.B = densetest.Uniform(r, g.OffB+(br-1)*g.LDB+bc)
	n := g.OffC + (g.M-1)*g.LDC + g.N + 2
	if g.Beta != 0 {
		c.C = densetest.Uniform(r, n)
	} else {
		c.C = densetest.NaNs(n)
	}
	if g.Bias {
		c.Bias = densetest.Uniform(r, g.OffBias+g.N)
	}
	return c
}

// xgemmShapes are awkward shapes: 1, primes, K=3, N=10, sizes off every
// tile, one full 128×128 tile with edges, K a multiple of every slice.
var xgemmShapes = [][3]int{{1, 1, 1}, {7, 10, 3}, {131, 133, 37}, {61, 200, 64}, {97, 10, 129}, {2, 67, 17}}

// xgemmCases returns one case per shape, all of one program: layout
// (tA, tB), bias, aligned or not; activation act (relu is compiled in,
// other kinds share the program of ACT -1), alpha and beta varied at run
// time.
func xgemmCases(r *rand.Rand, shapes [][3]int, tA, tB, bias, aligned bool, acts []kernels.Activation) []densetest.GemmCase {
	var cases []densetest.GemmCase
	for i, s := range shapes {
		g := kernels.Gemm{M: s[0], N: s[1], K: s[2], TransA: tA, TransB: tB, Bias: bias, Alpha: 1,
			Act: acts[i%len(acts)]}
		if i%3 == 2 {
			g.Alpha, g.Beta = 0.5, -1.5
		}
		cases = append(cases, xgemmCase(r, g, aligned))
	}
	return cases
}

// checkXgemm runs the cases with p on d, checking them against the
// float64 reference (densetest.CheckGemm: error, NaN poison, guard
// region, inputs unchanged) and against the fallback.
func checkXgemm(t *testing.T, d *device.Device, p kernels.XgemmParams, cases []densetest.GemmCase) {
	t.Helper()
	if err := d.SetGemmParams(p); err != nil {
		t.Fatal(err)
	}
	densetest.CheckGemm(t, gemmer{d}, cases)
	for _, c := range cases {
		want := append([]float32(nil), c.C...)
		if err := fallback.Gemm(c.G, c.A, c.B, want, c.Bias); err != nil {
			t.Fatal(err)
		}
		got := append([]float32(nil), c.C...)
		if err := (gemmer{d}).Gemm(c.G, c.A, c.B, got, c.Bias); err != nil {
			t.Fatal(err)
		}
		wantF := make([]float64, len(want))
		for i, v := range want {
			wantF[i] = float64(v)
		}
		if e, err := densetest.RelErr(c.G, got, wantF, c.C); err != nil || e > densetest.Tol {
			t.Errorf("%v: %v against the fallback: error %.3g, %v", p, c, e, err)
		}
	}
}

var (
	xgemmRelu = []kernels.Activation{kernels.Act(kernels.ReLU)}
	// Kinds read at run time: one program for all of them.
	xgemmRuntimeActs = func() []kernels.Activation {
		var acts []kernels.Activation
		for k := kernels.ActKind(0); k.Valid(); k++ {
			if k != kernels.Linear && k != kernels.ReLU {
				acts = append(acts, kernels.Act(k))
			}
		}
		return append(acts, kernels.Activation{Kind: kernels.ReLU, Alpha: 0.5, MaxValue: 1, HasMax: true, Threshold: 0.25})
	}()
)

// TestXgemmDefaults checks each vendor default: one program each, a
// different layout each, with a bias and relu (or every other activation).
func TestXgemmDefaults(t *testing.T) {
	d := open(t)
	r := densetest.Rand(21)
	for i, p := range xgemmDefaults() {
		t.Run(p.String(), func(t *testing.T) {
			acts := xgemmRelu
			shapes := xgemmShapes
			if i == 0 {
				// Every activation, through the kernel that reads the kind
				// at run time.
				acts = xgemmRuntimeActs
				shapes = slices.Repeat(xgemmShapes, 4)[:len(acts)]
			}
			checkXgemm(t, d, p, xgemmCases(r, shapes, i&1 != 0, i&2 != 0, true, i%3 != 2, acts))
		})
	}
}

// TestXgemmLayouts runs the NVIDIA default of the large class through
// every layout, aligned (vector loads and stores) and not (scalar), with
// and without bias.
func TestXgemmLayouts(t *testing.T) {
	d := open(t)
	r := densetest.Rand(22)
	p := kernels.GPUGemmDefault("NVIDIA", kernels.ClassLarge)
	for combo := range 4 {
		tA, tB := combo&1 != 0, combo&2 != 0
		aligned := combo == 0 || combo == 3
		t.Run(fmt.Sprintf("tA=%v/tB=%v/aligned=%v", tA, tB, aligned), func(t *testing.T) {
			checkXgemm(t, d, p, xgemmCases(r, xgemmShapes, tA, tB, combo != 1, aligned, xgemmRelu))
		})
	}
}

// TestXgemmDenseShapes runs each class's NVIDIA default on the products
// the class is for: the seed model's layers, the MLP's, a large one.
func TestXgemmDenseShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("large shapes")
	}
	d := open(t)
	r := densetest.Rand(23)
	for _, s := range [][3]int{{16384, 512, 3}, {16384, 10, 512}, {256, 512, 784}, {256, 10, 256}, {300, 300, 300}} {
		c := kernels.GPUThresholds.ClassOf(s[0], s[1], s[2])
		p := kernels.GPUGemmDefault("NVIDIA", c)
		t.Run(fmt.Sprintf("%dx%dx%d/%s", s[0], s[1], s[2], c), func(t *testing.T) {
			g := kernels.Gemm{M: s[0], N: s[1], K: s[2], Alpha: 1, Bias: true, Act: kernels.Act(kernels.ReLU)}
			checkXgemm(t, d, p, []densetest.GemmCase{densetest.NewCase(r, g, false)})
		})
	}
}

// xgemmSpace returns every class's search space, each member once, with
// its class.
func xgemmSpace() (ps []kernels.XgemmParams, classes []kernels.GemmClass) {
	for _, c := range kernels.GemmClasses {
		for _, p := range kernels.GPUGemmSpace(c) {
			if !slices.Contains(ps, p) {
				ps = append(ps, p)
				classes = append(classes, c)
			}
		}
	}
	return ps, classes
}

// xgemmValues lists the parameter values of p, as "NAME=value".
func xgemmValues(p kernels.XgemmParams) []string {
	return []string{
		"Kernel=" + p.Kernel().String(), "MWG=" + strconv.Itoa(p.MWG), "NWG=" + strconv.Itoa(p.NWG),
		"KWG=" + strconv.Itoa(p.KWG), "MDIMC=" + strconv.Itoa(p.MDIMC), "NDIMC=" + strconv.Itoa(p.NDIMC),
		"MDIMA=" + strconv.Itoa(p.MDIMA), "NDIMB=" + strconv.Itoa(p.NDIMB), "KWI=" + strconv.Itoa(p.KWI),
		"VWM=" + strconv.Itoa(p.VWM), "VWN=" + strconv.Itoa(p.VWN), fmt.Sprint("STRM=", p.STRM),
		fmt.Sprint("STRN=", p.STRN), fmt.Sprint("SA=", p.SA), fmt.Sprint("SB=", p.SB), fmt.Sprint("DB=", p.DB),
	}
}

// xgemmSample returns members of the search spaces that together take
// every value of every parameter at least once (a greedy cover).
func xgemmSample() []kernels.XgemmParams {
	all, _ := xgemmSpace()
	need := map[string]bool{}
	for _, p := range all {
		for _, v := range xgemmValues(p) {
			need[v] = true
		}
	}
	var out []kernels.XgemmParams
	for len(need) > 0 {
		best, bestN := -1, 0
		for i, p := range all {
			n := 0
			for _, v := range xgemmValues(p) {
				if need[v] {
					n++
				}
			}
			if n > bestN {
				best, bestN = i, n
			}
		}
		out = append(out, all[best])
		for _, v := range xgemmValues(all[best]) {
			delete(need, v)
		}
	}
	return out
}

// checkMember runs member i of a list through one program: a layout, bias
// and alignment chosen by i, so that a run over the list covers them all.
func checkMember(t *testing.T, d *device.Device, r *rand.Rand, i int, p kernels.XgemmParams) {
	t.Helper()
	tA, tB := i&1 != 0, i&2 != 0
	aligned := i%3 != 2
	acts := xgemmRelu
	if i%2 == 1 {
		acts = xgemmRuntimeActs[i%len(xgemmRuntimeActs):][:1]
	}
	checkXgemm(t, d, p, xgemmCases(r, xgemmShapes, tA, tB, i%4 != 3, aligned, acts))
}

// TestXgemmSpaceSample checks a sample of the search spaces in which every
// value of every parameter occurs.
func TestXgemmSpaceSample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program per member of the sample")
	}
	d := open(t)
	r := densetest.Rand(24)
	sample := xgemmSample()
	t.Logf("%d members", len(sample))
	for i, p := range sample {
		t.Run(p.String(), func(t *testing.T) { checkMember(t, d, r, i, p) })
	}
}

// EnvSweep names the environment variable that runs TestXgemmSpaceSweep:
// "all" or a class name, then optionally ":FROM-TO" (member indexes) and
// "/STEP" (every STEP-th member): "all", "large:0-99", "all/10".
const EnvSweep = "DENSECL_XGEMM_SWEEP"

// TestXgemmSpaceSweep checks every member of the search spaces (one program
// each: hundreds of builds, seconds each on PoCL). It runs only when
// DENSECL_XGEMM_SWEEP is set.
func TestXgemmSpaceSweep(t *testing.T) {
	sel := os.Getenv(EnvSweep)
	if sel == "" {
		t.Skip("set " + EnvSweep + "=all (or large, large:0-99, all/10) to check the members of the search spaces")
	}
	d := open(t)
	from, to, step := 0, 1<<30, 1
	sel, st, ok := strings.Cut(sel, "/")
	var err error
	if ok {
		if step, err = strconv.Atoi(st); err != nil || step < 1 {
			t.Fatalf("%s: bad step %q", EnvSweep, st)
		}
	}
	name, rng, ok := strings.Cut(sel, ":")
	if ok {
		a, b, _ := strings.Cut(rng, "-")
		from, err = strconv.Atoi(a)
		if err == nil {
			to, err = strconv.Atoi(b)
		}
		if err != nil {
			t.Fatalf("%s: bad range %q", EnvSweep, rng)
		}
	}
	classes := kernels.GemmClasses
	if name != "all" {
		c, err := kernels.ParseGemmClass(name)
		if err != nil {
			t.Fatal(err)
		}
		classes = []kernels.GemmClass{c}
	}
	deadline, hasDeadline := t.Deadline()
	for _, c := range classes {
		space := kernels.GPUGemmSpace(c)
		r := densetest.Rand(uint64(25 + c))
		for i, p := range space {
			if i < from || i > to || (i-from)%step != 0 {
				continue
			}
			if hasDeadline && time.Until(deadline) < time.Minute {
				t.Logf("stopped before %s member %d: the test's time is nearly up", c, i)
				return
			}
			t.Run(fmt.Sprintf("%s/%d/%s", c, i, p), func(t *testing.T) {
				checkMember(t, d, r, i, p)
				if !t.Failed() {
					t.Logf("checked %s member %d", c, i)
				}
			})
		}
	}
}
