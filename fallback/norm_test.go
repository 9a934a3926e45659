package fallback

import (
	"math"
	"testing"

	"github.com/densecl/densecl/kernels"
)

// Norm follows Keras's formulas on a row worked by hand, and refuses
// parameter vectors that are too short.
func TestNormByHand(t *testing.T) {
	x := []float32{1, 2, 3, 6} // mean 3, variance (4+1+0+9)/4 = 3.5
	inv := 1 / math.Sqrt(3.5+0.5)
	for _, c := range []struct {
		k    kernels.Norm
		p0   []float32
		p1   []float32
		want []float64
	}{
		{kernels.Norm{Op: kernels.NormLayer, Epsilon: 0.5}, nil, nil, []float64{-2 * inv, -1 * inv, 0, 3 * inv}},
		{kernels.Norm{Op: kernels.NormLayer, Epsilon: 0.5, Gamma: true, Beta: true}, []float32{2, 2, 2, 2}, []float32{1, 1, 1, 1}, []float64{1 - 4*inv, 1 - 2*inv, 1, 1 + 6*inv}},
		{kernels.Norm{Op: kernels.NormRMS, Epsilon: 0.5}, []float32{1, 1, 1, 2}, nil, []float64{inv, 2 * inv, 3 * inv, 12 * inv}},
		{kernels.Norm{Op: kernels.NormScaleShift}, []float32{1, 2, 3, 4}, []float32{0, 1, 0, 1}, []float64{1, 5, 9, 25}},
		{kernels.Norm{Op: kernels.NormPReLU}, []float32{0.5, 0.5, 0.5, 0.5}, nil, []float64{1, 2, 3, 6}},
	} {
		c.k.Rows, c.k.Cols = 1, 4
		y := make([]float32, 4)
		if err := Norm(c.k, x, y, c.p0, c.p1); err != nil {
			t.Fatal(err)
		}
		for i, w := range c.want {
			if math.Abs(float64(y[i])-w) > 1e-6 {
				t.Errorf("%+v: %v, want %v", c.k, y, c.want)
				break
			}
		}
	}
	if err := Norm(kernels.Norm{Op: kernels.NormScaleShift, Rows: 1, Cols: 4}, x, x, []float32{1}, nil); err == nil {
		t.Error("short parameters: no error")
	}
	neg := []float32{-2}
	y := []float32{0}
	_ = Norm(kernels.Norm{Op: kernels.NormPReLU, Rows: 1, Cols: 1}, neg, y, []float32{0.25}, nil)
	if y[0] != -0.5 {
		t.Errorf("prelu(-2) with alpha 0.25 = %v", y[0])
	}
}
