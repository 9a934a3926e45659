// Package densetest holds the conformance checks that every backend of
// densecl passes: random and awkward GEMM shapes, float64 references, NaN
// poisoning and relative error norms. Tests of package device and package
// fallback (and layers) share them, and the GEMM tuner of package bench
// checks each candidate with RelErr. JSONSchema and DecodeJSONLine are the
// one description of densebench's JSON lines that the tests of bench and
// of densebench both check.
package densetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/kernels"
)

// Tol is the largest relative norm error ‖out − ref‖ / ‖ref‖ accepted for
// float32 results at the sizes of these tests.
const Tol = 1e-5

// Rand returns a generator with a fixed seed.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// Uniform returns n values drawn from U(-1, 1), never all zero.
func Uniform(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// NaNs returns n NaNs: poison for outputs, so that an unwritten element fails.
func NaNs(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

// RefGemm computes g on a, b, c and bias in float64 and returns the whole
// C buffer, elements outside the M×N window copied from c unchanged.
func RefGemm(g kernels.Gemm, a, b, c, bias []float32) []float64 {
	out := make([]float64, len(c))
	for i, v := range c {
		out[i] = float64(v)
	}
	for i := 0; i < g.M; i++ {
		for j := 0; j < g.N; j++ {
			var s float64
			for k := 0; k < g.K; k++ {
				ai := g.OffA + i*g.LDA + k
				if g.TransA {
					ai = g.OffA + k*g.LDA + i
				}
				bi := g.OffB + k*g.LDB + j
				if g.TransB {
					bi = g.OffB + j*g.LDB + k
				}
				s += float64(a[ai]) * float64(b[bi])
			}
			v := float64(g.Alpha) * s
			if g.Bias {
				v += float64(bias[g.OffBias+j])
			}
			ci := g.OffC + i*g.LDC + j
			if g.Beta != 0 {
				v += float64(g.Beta) * float64(c[ci])
			}
			out[ci] = fallback.Apply(g.Act, v)
		}
	}
	return out
}

// RelErr returns ‖got − want‖ / ‖want‖ over the M×N window of C that g
// writes, and an error if an element of got is NaN where want is not or
// an element outside the window changed (outside holds the values before).
func RelErr(g kernels.Gemm, got []float32, want []float64, outside []float32) (float64, error) {
	var num, den float64
	inside := make([]bool, len(got))
	for i := 0; i < g.M; i++ {
		for j := 0; j < g.N; j++ {
			ci := g.OffC + i*g.LDC + j
			inside[ci] = true
			w, x := want[ci], float64(got[ci])
			if math.IsNaN(w) != math.IsNaN(x) {
				return math.Inf(1), fmt.Errorf("element C[%d,%d] = %v, want %v", i, j, x, w)
			}
			if math.IsNaN(w) || math.IsInf(w, 0) {
				if x != w && !math.IsNaN(w) {
					return math.Inf(1), fmt.Errorf("element C[%d,%d] = %v, want %v", i, j, x, w)
				}
				continue
			}
			num += (x - w) * (x - w)
			den += w * w
		}
	}
	for i, in := range inside {
		if !in && !same(got[i], outside[i]) {
			return math.Inf(1), fmt.Errorf("element %d outside C's window changed: %v, was %v", i, got[i], outside[i])
		}
	}
	if den == 0 {
		return math.Sqrt(num), nil
	}
	return math.Sqrt(num / den), nil
}

func same(a, b float32) bool {
	return a == b || (a != a && b != b)
}

// GemmCase is one GEMM with its inputs.
type GemmCase struct {
	G             kernels.Gemm
	A, B, C, Bias []float32
}

func (c GemmCase) String() string {
	g := c.G
	return fmt.Sprintf("M=%d N=%d K=%d tA=%v tB=%v bias=%v act=%s alpha=%g beta=%g ld=%d/%d/%d off=%d/%d/%d",
		g.M, g.N, g.K, g.TransA, g.TransB, g.Bias, g.Act.Kind, g.Alpha, g.Beta, g.LDA, g.LDB, g.LDC, g.OffA, g.OffB, g.OffC)
}

var primes = []int{2, 3, 5, 7, 11, 13, 17, 31, 37, 61, 67, 97, 127, 131, 257, 263, 293}

// dim draws a dimension from 1..300 with a bias towards 1, primes and
// sizes just off a tile.
func dim(r *rand.Rand) int {
	switch r.IntN(5) {
	case 0:
		return 1 + r.IntN(8)
	case 1:
		return primes[r.IntN(len(primes))]
	case 2:
		return []int{15, 16, 17, 31, 33, 63, 64, 65, 127, 129}[r.IntN(10)]
	default:
		return 1 + r.IntN(300)
	}
}

// NewCase makes a case with fresh random inputs, optional padding of the
// leading dimensions and offsets, and C poisoned with NaN unless beta ≠ 0.
func NewCase(r *rand.Rand, g kernels.Gemm, pad bool) GemmCase {
	ar, ac := g.M, g.K
	if g.TransA {
		ar, ac = g.K, g.M
	}
	br, bc := g.K, g.N
	if g.TransB {
		br, bc = g.N, g.K
	}
	g.LDA, g.LDB, g.LDC = ac, bc, g.N
	g.OffA, g.OffB, g.OffC, g.OffBias = 0, 0, 0, 0
	if pad {
		g.LDA += r.IntN(5)
		g.LDB += r.IntN(5)
		g.LDC += r.IntN(5)
		g.OffA, g.OffB, g.OffC, g.OffBias = r.IntN(7), r.IntN(7), r.IntN(7), r.IntN(3)
	}
	c := GemmCase{G: g}
	c.A = Uniform(r, g.OffA+(ar-1)*g.LDA+ac+r.IntN(3))
	c.B = Uniform(r, g.OffB+(br-1)*g.LDB+bc+r.IntN(3))
	n := g.OffC + (g.M-1)*g.LDC + g.N + r.IntN(3)
	if g.Beta != 0 {
		c.C = Uniform(r, n)
	} else {
		c.C = NaNs(n)
	}
	if g.Bias {
		c.Bias = Uniform(r, g.OffBias+g.N)
	}
	return c
}

// GemmCases returns n random cases (n >= 40): M, N, K from 1..300 with
// 1, primes, K=3, N=10 and N=1 always among them, every combination of
// transposes with and without bias, and, when allActs is set, every
// activation at least once (otherwise linear and relu only).
func GemmCases(r *rand.Rand, n int, allActs bool) []GemmCase {
	var acts []kernels.Activation
	if allActs {
		for k := kernels.ActKind(0); k.Valid(); k++ {
			acts = append(acts, kernels.Act(k))
		}
		// relu with Keras's arguments.
		acts = append(acts,
			kernels.Activation{Kind: kernels.ReLU, Alpha: 0.5, MaxValue: 1, HasMax: true, Threshold: 0.25},
			kernels.Activation{Kind: kernels.ReLU, Threshold: -0.2},
			kernels.Activation{Kind: kernels.ELU, Alpha: 0.7})
	}
	fixed := [][3]int{{1, 1, 1}, {1, 10, 3}, {300, 10, 3}, {97, 1, 31}, {13, 10, 512}, {64, 64, 64}, {65, 17, 3}, {7, 300, 1}, {300, 300, 300}}
	var cases []GemmCase
	for i := 0; i < n; i++ {
		var g kernels.Gemm
		if i < len(fixed) {
			g.M, g.N, g.K = fixed[i][0], fixed[i][1], fixed[i][2]
		} else {
			g.M, g.N, g.K = dim(r), dim(r), dim(r)
		}
		g.Alpha, g.Beta = 1, 0
		combo := i % 8
		g.TransA, g.TransB, g.Bias = combo&1 != 0, combo&2 != 0, combo&4 != 0
		switch {
		case i < len(acts):
			// Every activation, without transposes, with a bias.
			g.TransA, g.TransB, g.Bias = false, false, true
			g.Act = acts[i]
		case i%3 == 0:
			g.Act = kernels.Act(kernels.ReLU)
		default:
			g.Act = kernels.Act(kernels.Linear)
		}
		if i%5 == 4 {
			g.Alpha, g.Beta = 0.5, -1.5
		}
		cases = append(cases, NewCase(r, g, i%4 == 3))
	}
	return cases
}

// Gemmer runs one GEMM on host slices: c is read (when beta ≠ 0) and
// written in place.
type Gemmer interface {
	Gemm(g kernels.Gemm, a, b, c, bias []float32) error
}

// T is the part of testing.TB the checks use.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// CheckGemm runs every case through impl and compares with the float64
// reference: relative norm error ≤ Tol, no NaN left from the poison,
// nothing written outside C's window, inputs unchanged.
func CheckGemm(t T, impl Gemmer, cases []GemmCase) {
	t.Helper()
	for _, c := range cases {
		want := RefGemm(c.G, c.A, c.B, c.C, c.Bias)
		a, b, bias := clone(c.A), clone(c.B), clone(c.Bias)
		got := clone(c.C)
		if err := impl.Gemm(c.G, a, b, got, bias); err != nil {
			t.Errorf("%v: %v", c, err)
			continue
		}
		e, err := RelErr(c.G, got, want, c.C)
		if err != nil {
			t.Errorf("%v: %v", c, err)
			continue
		}
		if e > Tol {
			t.Errorf("%v: relative error %.3g > %g", c, e, Tol)
		}
		for _, in := range []struct {
			name      string
			now, then []float32
		}{{"A", a, c.A}, {"B", b, c.B}, {"bias", bias, c.Bias}} {
			for i := range in.now {
				if !same(in.now[i], in.then[i]) {
					t.Errorf("%v: input %s changed at %d", c, in.name, i)
					break
				}
			}
		}
	}
}

func clone(s []float32) []float32 {
	if s == nil {
		return nil
	}
	return append([]float32(nil), s...)
}

// NormErr returns ‖got − want‖ / ‖want‖ for two whole vectors.
func NormErr(got []float32, want []float64) float64 {
	var num, den float64
	for i := range got {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}
