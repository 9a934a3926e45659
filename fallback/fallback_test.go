package fallback_test

import (
	"math"
	"strings"
	"testing"

	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

type gemmer struct{}

func (gemmer) Gemm(g kernels.Gemm, a, b, c, bias []float32) error {
	return fallback.Gemm(g, a, b, c, bias)
}

func TestGemmConformance(t *testing.T) {
	densetest.CheckGemm(t, gemmer{}, densetest.GemmCases(densetest.Rand(7), 300, true))
}

func TestGemmBadInput(t *testing.T) {
	a, b, c := make([]float32, 12), make([]float32, 12), make([]float32, 9)
	for _, tc := range []struct {
		g    kernels.Gemm
		want string
	}{
		{kernels.Gemm{M: 0, N: 3, K: 4}, "M=0"},
		{kernels.Gemm{M: 3, N: 3, K: 5}, "needs a buffer of 15 floats, got 12"},
		{kernels.Gemm{M: 3, N: 3, K: 4, Bias: true}, "bias"},
		{kernels.Gemm{M: 3, N: 3, K: 4, OffC: -1}, "offset of C"},
	} {
		if err := fallback.Gemm(tc.g, a, b, c, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.g, err, tc.want)
		}
	}
}

func TestSoftmaxRowsSumToOne(t *testing.T) {
	r := densetest.Rand(2)
	src := densetest.Uniform(r, 3*1000)
	for i := range src {
		src[i] *= 1e4
	}
	out := make([]float32, len(src))
	if err := fallback.Softmax(kernels.Softmax{Rows: 3, Cols: 1000}, src, out); err != nil {
		t.Fatal(err)
	}
	for row := 0; row < 3; row++ {
		s := 0.0
		for _, v := range out[row*1000 : (row+1)*1000] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("row %d: %v", row, v)
			}
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-6 {
			t.Errorf("row %d sums to %v", row, s)
		}
	}
	// keras: softmax([-1, 0, 1]).
	want := []float64{0.09003057, 0.24472847, 0.66524096}
	got := make([]float64, 3)
	fallback.SoftmaxRow(got, []float32{-1, 0, 1}, false)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-7 {
			t.Errorf("softmax([-1,0,1])[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// Signed zeros go through the activations as Keras's backends give them:
// relu(-0) is -0 (tf.nn.relu, np.maximum(x, 0)), tanh(-0) is -0.
func TestApplySignedZero(t *testing.T) {
	nz := math.Copysign(0, -1)
	for _, k := range []kernels.ActKind{kernels.Linear, kernels.ReLU, kernels.Tanh, kernels.ELU, kernels.GELU, kernels.Softsign, kernels.SiLU} {
		a := kernels.Act(k)
		if got := fallback.Apply(a, nz); got != 0 || !math.Signbit(got) {
			t.Errorf("%v(-0) = %v, want -0", k, got)
		}
		if got := fallback.Apply(a, 0); got != 0 || math.Signbit(got) {
			t.Errorf("%v(+0) = %v, want +0", k, got)
		}
	}
}
