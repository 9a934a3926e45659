package layers

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randTensor returns a tensor of the given shape with values in [-1, 1)
// (never all zeros).
func randTensor(rng *rand.Rand, shape ...int) Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = float32(2*rng.Float64() - 1)
	}
	return t
}

// relErr is ||got - want|| / ||want||; NaN in got where want is finite
// counts as infinite error.
func relErr(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range want {
		d := float64(got[i]) - want[i]
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		num += d * d
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func checkClose(t *testing.T, what string, got Tensor, wantShape []int, want []float64, tol float64) {
	t.Helper()
	if !slices.Equal(got.Shape, wantShape) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape, wantShape)
	}
	if e := relErr(got.Data, want); e > tol {
		t.Fatalf("%s: relative error %.3g > %.1g\n got %v\nwant %v", what, e, tol, head(got.Data), head64(want))
	}
}

func head(x []float32) []float32 {
	return x[:min(len(x), 8)]
}

func head64(x []float64) []float64 {
	return x[:min(len(x), 8)]
}

// refDense is a float64 Dense: x (rows×k) · w (k×n) + b, then act, with
// softmax over each row when soft.
func refDense(x []float32, rows, k int, w, b []float32, n int, act func(float64) float64, soft bool) []float64 {
	out := make([]float64, rows*n)
	for r := 0; r < rows; r++ {
		row := out[r*n : (r+1)*n]
		for j := 0; j < n; j++ {
			s := 0.0
			for i := 0; i < k; i++ {
				s += float64(x[r*k+i]) * float64(w[i*n+j])
			}
			if b != nil {
				s += float64(b[j])
			}
			row[j] = s
		}
		if soft {
			refSoftmax(row)
		} else if act != nil {
			for j := range row {
				row[j] = act(row[j])
			}
		}
	}
	return out
}

func refSoftmax(row []float64) {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, v)
	}
	sum := 0.0
	for j, v := range row {
		row[j] = math.Exp(v - mx)
		sum += row[j]
	}
	for j := range row {
		row[j] /= sum
	}
}

func to32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func relu(x float64) float64 { return math.Max(x, 0) }

// build makes a model on b or fails the test.
func build(t *testing.T, b Backend, ls ...Layer) *Sequential {
	t.Helper()
	m, err := NewSequential(ls...)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Build(b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func mustWeights(t *testing.T, m *Sequential, layer string) []Tensor {
	t.Helper()
	w, err := m.Weights(layer)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
