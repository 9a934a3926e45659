package device_test

import (
	"math"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// ulp32 is the spacing of float32 values at |v| (the smallest subnormal
// at 0 and below).
func ulp32(v float64) float64 {
	_, e := math.Frexp(math.Abs(v)) // |v| = m·2^e, 0.5 <= m < 1
	return math.Ldexp(1, max(e-24, -149))
}

// geluInputs returns the inputs of TestGELUAccuracy: a dense sweep of
// [-12, 12], random values, consecutive float32s around the points where
// erf(x/√2) rounds to ±1 in float32, and special values.
func geluInputs() []float32 {
	const sweep = 400_000
	var xs []float32
	for i := 0; i <= sweep; i++ {
		xs = append(xs, float32(-12+24*float64(i)/sweep))
	}
	r := densetest.Rand(7)
	for range 50_000 {
		// Log-uniform magnitudes from 2^-30 to 2^5, either sign.
		v := float32(math.Exp2(-30 + 35*r.Float64()))
		if r.IntN(2) == 0 {
			v = -v
		}
		xs = append(xs, v)
	}
	// erfc(z) = 2^-25 at z ≈ 3.9192, x = z·√2 ≈ 5.5426: past it erf(z) rounds
	// to 1 in float32.
	for _, c := range []float32{5.54, -5.54, 5.0, -5.0, 6.0, -6.0} {
		v := c
		for range 2000 {
			v = math.Nextafter32(v, float32(math.Inf(-1)))
		}
		for range 4000 {
			xs = append(xs, v)
			v = math.Nextafter32(v, float32(math.Inf(1)))
		}
	}
	for _, v := range []float64{
		0, math.Copysign(0, -1),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		3 * math.SmallestNonzeroFloat32, -3 * math.SmallestNonzeroFloat32,
		1e-40, -1e-40, 1e-38, -1e-38, 1e-30, -1e-30, 1e-10, -1e-10, 1e-4, -1e-4,
		20, -20, 100, -100, 1e10, -1e10, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32,
		math.Inf(1), math.Inf(-1), math.NaN(),
	} {
		xs = append(xs, float32(v))
	}
	return xs
}

// TestGELUAccuracy checks gelu (erf form) elementwise and in GEMM
// epilogues against 0.5x(1 + erf(x/√2)) in float64. Each finite output is
// within 3 float32 ulps of the reference, or within 1.5e-7·0.5|x|: 1 +
// erf(x/√2) cancels in float32 for negative x (as it does in Keras), so
// only an absolute error of erf is achievable there.
func TestGELUAccuracy(t *testing.T) {
	d := open(t)
	xs := geluInputs()
	n := len(xs)
	act := kernels.Act(kernels.GELU)
	// onDevice uploads the inputs, calls f on their buffers and an output
	// buffer of n floats (NaN poisoned) and downloads the output.
	onDevice := func(f func(in []*device.Buffer, out *device.Buffer) error, n int, inputs ...[]float32) []float32 {
		t.Helper()
		var bufs []*device.Buffer
		for _, s := range append(inputs, densetest.NaNs(n)) {
			b, err := d.Alloc(len(s))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Release()
			if err := d.Upload(b, 0, s); err != nil {
				t.Fatal(err)
			}
			bufs = append(bufs, b)
		}
		out := bufs[len(bufs)-1]
		if err := f(bufs[:len(bufs)-1], out); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, n)
		if err := d.Download(got, out, 0); err != nil {
			t.Fatal(err)
		}
		return got
	}
	// n is odd: the activation kernel's scalar tail runs too.
	elem := onDevice(func(b []*device.Buffer, out *device.Buffer) error {
		return d.Activate(kernels.Elementwise{N: n, Act: act}, b[0], out)
	}, n, xs)
	// The epilogue of a GEMM one column wide: x·[1] + 0, then gelu.
	col := onDevice(func(b []*device.Buffer, out *device.Buffer) error {
		return d.Gemm(kernels.Gemm{M: n, N: 1, K: 1, Alpha: 1, Act: act}, b[0], b[1], out, nil)
	}, n, xs, []float32{1})
	// And 16 columns wide, the vector stores of the GEMM: the finite
	// inputs, padded with 0, times the 16×16 identity. Inf·0 would be NaN,
	// so the other inputs keep the NaN poison.
	const w = 16
	var finite []float32
	var at []int
	for i, x := range xs {
		if !math.IsInf(float64(x), 0) && !math.IsNaN(float64(x)) {
			finite = append(finite, x)
			at = append(at, i)
		}
	}
	rows := (len(finite) + w - 1) / w
	a := make([]float32, rows*w)
	copy(a, finite)
	eye := make([]float32, w*w)
	for i := range w {
		eye[i*w+i] = 1
	}
	wide := onDevice(func(b []*device.Buffer, out *device.Buffer) error {
		return d.Gemm(kernels.Gemm{M: rows, N: w, K: w, Alpha: 1, Act: act}, b[0], b[1], out, nil)
	}, rows*w, a, eye)
	vec := densetest.NaNs(n)
	for j, i := range at {
		vec[i] = wide[j]
	}

	for _, run := range []struct {
		name string
		got  []float32
		skip func(x float64) bool
	}{
		{"activation", elem, nil},
		{"gemm, 1 column", col, nil},
		{"gemm, 16 columns", vec, func(x float64) bool { return math.IsInf(x, 0) || math.IsNaN(x) }},
	} {
		// Per sign of x (0: x > 0, 1: x < 0): the largest err/ulp32(want),
		// err/(0.5|x|), and err over the bound (1 is the limit).
		var maxULP, maxAbs, maxBound [2]float64
		var atULP, atAbs, atBound [2]float32
		bad := 0
		for i, x32 := range xs {
			x := float64(x32)
			if run.skip != nil && run.skip(x) {
				continue
			}
			got := float64(run.got[i])
			want := 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
			switch {
			case math.IsNaN(x):
				if !math.IsNaN(got) {
					t.Errorf("%s: gelu(NaN) = %v, want NaN", run.name, got)
				}
				continue
			case math.IsInf(x, 1):
				if !math.IsInf(got, 1) {
					t.Errorf("%s: gelu(+Inf) = %v, want +Inf", run.name, got)
				}
				continue
			case math.IsInf(x, -1):
				// 0.5x·(1 + erf) is -Inf·0: NaN, as in Keras and in
				// fallback.Apply.
				if !math.IsNaN(got) {
					t.Errorf("%s: gelu(-Inf) = %v, want NaN", run.name, got)
				}
				continue
			case x == 0:
				if got != 0 {
					t.Errorf("%s: gelu(%v) = %v, want 0", run.name, x, got)
				}
				continue
			}
			e := math.Abs(got - want)
			if math.IsNaN(e) {
				e = math.Inf(1)
			}
			eULP := e / ulp32(want)
			eAbs := e / (0.5 * math.Abs(x))
			eBound := min(eULP/3, eAbs/1.5e-7)
			s := 0
			if x < 0 {
				s = 1
			}
			if eULP > maxULP[s] {
				maxULP[s], atULP[s] = eULP, x32
			}
			if eAbs > maxAbs[s] && math.Abs(x) >= 0x1p-100 { // not for subnormal results
				maxAbs[s], atAbs[s] = eAbs, x32
			}
			if eBound > maxBound[s] {
				maxBound[s], atBound[s] = eBound, x32
			}
			if eBound > 1 {
				if bad++; bad <= 10 {
					t.Errorf("%s: gelu(%v) = %v, want %v: error %.3g ulp, %.3g·0.5|x|", run.name, x32, got, want, eULP, eAbs)
				}
			}
		}
		if bad > 10 {
			t.Errorf("%s: %d of %d values out of bounds", run.name, bad, n)
		}
		for s, sign := range []string{"x > 0", "x < 0"} {
			t.Logf("%s, %s: max error %.3g ulp (at %v), %.3g·0.5|x| (at %v); of the bound %.3g (at %v)",
				run.name, sign, maxULP[s], atULP[s], maxAbs[s], atAbs[s], maxBound[s], atBound[s])
		}
	}
}
