package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/kernels"
)

var (
	nan  = float32(math.NaN())
	pinf = float32(math.Inf(1))
	ninf = float32(math.Inf(-1))
	nzer = float32(math.Copysign(0, -1))
)

// sameIEEE reports whether got matches the float64 reference want: NaN for
// NaN, the same infinity, the same zero (sign included), or within
// 1e-5·|want| + 1e-6.
func sameIEEE(got float32, want float64) bool {
	g := float64(got)
	switch {
	case math.IsNaN(want):
		return math.IsNaN(g)
	case math.IsInf(want, 0):
		return g == want
	case want == 0 && g == 0:
		return math.Signbit(g) == math.Signbit(want)
	}
	return math.Abs(g-want) <= 1e-5*math.Abs(want)+1e-6
}

// A zero times NaN or Inf is NaN on every backend, as in Keras and numpy:
// Dense(1) with kernel [[w]], bias [0], on input [[x]].
func TestDenseZeroTimesNonFinite(t *testing.T) {
	for _, b := range testBackends(t) {
		for _, c := range []struct{ w, x float32 }{
			{nan, 0}, {pinf, 0}, {ninf, 0}, {nan, nzer}, {pinf, nzer},
			{0, nan}, {0, pinf}, {nzer, ninf},
		} {
			m := build(t, b, Dense{Units: 1, InputShape: []int{1}})
			if err := m.SetWeights("dense", []Tensor{{Shape: []int{1, 1}, Data: []float32{c.w}}, {Shape: []int{1}, Data: []float32{0}}}); err != nil {
				t.Fatal(err)
			}
			y, err := m.Predict(Tensor{Shape: []int{1, 1}, Data: []float32{c.x}})
			if err != nil {
				t.Fatal(err)
			}
			if !math.IsNaN(float64(y.Data[0])) {
				t.Errorf("%s: kernel [[%v]] on [[%v]] gives %v, want NaN", b.Name(), c.w, c.x, y.Data[0])
			}
		}
	}
}

// NaN, ±Inf and signed zeros placed in the inputs and the weights of Dense
// layers (one layer, and two that a CPU device fuses into one kernel) give
// what a float64 reference gives, on every backend, for every path of the
// epilogue: linear, elementwise activations, softmax.
func TestDenseSpecialValues(t *testing.T) {
	const rows, k, hidden, n = 37, 3, 20, 10
	rng := rand.New(rand.NewPCG(11, 11))
	x := randTensor(rng, rows, k)
	// Inputs: a row with NaN, rows with ±Inf, rows with signed zeros, a
	// row all zeros (which meets the NaN and Inf weights below).
	x.Data[1*k+0] = nan
	x.Data[2*k+1] = pinf
	x.Data[3*k+2] = ninf
	x.Data[4*k+0], x.Data[4*k+1] = nzer, 0
	for j := range k {
		x.Data[5*k+j] = 0
		x.Data[6*k+j] = nzer
	}
	x.Data[7*k+0], x.Data[7*k+1] = pinf, ninf // Inf - Inf in the sum
	xa := x                                   // the Activation layer's input: -0 included
	w1 := randTensor(rng, k, hidden)
	w1.Data[0*hidden+3] = nan  // meets x's zeros: NaN in column 3
	w1.Data[1*hidden+4] = pinf // column 4
	w1.Data[2*hidden+5] = ninf // column 5
	w1.Data[0*hidden+6] = 0
	w1.Data[1*hidden+6] = nzer // column 6: zeros times x's infinities
	for i := range k {
		w1.Data[i*hidden+7] = nzer // column 7 all -0
	}
	b1 := randTensor(rng, hidden)
	b1.Data[8] = nzer
	b1.Data[9] = pinf
	w2 := randTensor(rng, hidden, n)
	b2 := randTensor(rng, n)
	for _, act := range []string{"linear", "relu", "sigmoid", "tanh", "elu", "gelu", "softsign", "silu", "softmax"} {
		a, err := resolveActivation("dense", act, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := func(v float64) float64 { return fallback.Apply(a.elem, v) }
		soft := act == "softmax"
		one := refDense(x.Data, rows, k, w1.Data, b1.Data, hidden, f, soft)
		h := refDense(x.Data, rows, k, w1.Data, b1.Data, hidden, func(v float64) float64 { return math.Max(v, 0) }, false)
		hid := make([]float32, len(h))
		for i, v := range h {
			hid[i] = float32(v)
		}
		two := refDense(hid, rows, hidden, w2.Data, b2.Data, n, f, soft)
		ref3 := make([]float64, len(xa.Data))
		for r := range rows {
			row := ref3[r*k : (r+1)*k]
			for j := range row {
				row[j] = float64(xa.Data[r*k+j])
			}
			if soft {
				refSoftmax(row)
			} else {
				for j := range row {
					row[j] = f(row[j])
				}
			}
		}
		for _, b := range testBackends(t) {
			name := fmt.Sprintf("%s, %s", b.Name(), act)
			m := build(t, b, Dense{Units: hidden, Activation: act, InputShape: []int{k}})
			if err := m.SetWeights("dense", []Tensor{w1, b1}); err != nil {
				t.Fatal(err)
			}
			check(t, name+", one layer", m, x, one)
			m2 := build(t, b, Dense{Units: hidden, Activation: "relu", InputShape: []int{k}}, Dense{Units: n, Activation: act})
			if err := m2.SetWeights("dense", []Tensor{w1, b1}); err != nil {
				t.Fatal(err)
			}
			if err := m2.SetWeights("dense_1", []Tensor{w2, b2}); err != nil {
				t.Fatal(err)
			}
			check(t, name+", two layers", m2, x, two)
			// The Activation layer on the input itself: NaN and ±Inf
			// through the elementwise and softmax kernels.
			m3 := build(t, b, InputLayer{Shape: []int{k}}, Activation{Activation: act})
			check(t, name+", activation layer", m3, xa, ref3)
		}
	}
}

func check(t *testing.T, what string, m *Sequential, x Tensor, want []float64) {
	t.Helper()
	y, err := m.Predict(x)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	bad := 0
	for i, w := range want {
		if !sameIEEE(y.Data[i], w) {
			if bad++; bad <= 3 {
				t.Errorf("%s: element %d is %v, want %v", what, i, y.Data[i], w)
			}
		}
	}
}

// The fallback's GEMM forms every product, whatever the transposes, alpha
// and beta: a zero of A against a NaN or Inf of B gives NaN.
func TestFallbackGemmZeroTimesNonFinite(t *testing.T) {
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, ab := range [][2]float32{{1, 0}, {2, 0}, {1, 1}, {0, 0}} {
				g := kernels.Gemm{M: 3, N: 2, K: 2, TransA: tA, TransB: tB, Alpha: ab[0], Beta: ab[1]}
				a := []float32{0, 1, 2, 3, 4, 5} // op(A)[0, 0] = 0
				b := []float32{nan, 1, 2, 3}     // op(B)[0, 0] = NaN
				c := []float32{1, 1, 1, 1, 1, 1}
				if err := fallback.Gemm(g, a, b, c, nil); err != nil {
					t.Fatal(err)
				}
				if !math.IsNaN(float64(c[0])) || math.IsNaN(float64(c[1])) {
					t.Errorf("%+v: C = %v, want NaN first and a number second", g, c)
				}
			}
		}
	}
}
