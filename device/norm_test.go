package device_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/kernels"
)

// norm64 is kernels.Norm in float64, from the formulas its doc gives.
func norm64(k kernels.Norm, x, p0, p1 []float32) []float64 {
	c := k.Cols
	y := make([]float64, len(x))
	for r := 0; r < k.Rows; r++ {
		row := x[r*c : (r+1)*c]
		mean, v := 0.0, 0.0
		for _, e := range row {
			mean += float64(e)
		}
		mean /= float64(c)
		for _, e := range row {
			v += (float64(e) - mean) * (float64(e) - mean)
		}
		v /= float64(c)
		for j, e := range row {
			xe := float64(e)
			var o float64
			switch k.Op {
			case kernels.NormLayer:
				g, b := 1.0, 0.0
				if k.Gamma {
					g = float64(p0[j])
				}
				if k.Beta {
					b = float64(p1[j])
				}
				o = (xe-mean)/math.Sqrt(v+float64(k.Epsilon))*g + b
			case kernels.NormRMS:
				o = xe * float64(p0[j]) / math.Sqrt(v+float64(k.Epsilon))
			case kernels.NormScaleShift:
				o = xe*float64(p0[j]) + float64(p1[j])
			case kernels.NormPReLU:
				o = xe
				if xe < 0 {
					o = float64(p0[j]) * xe
				}
			}
			y[r*c+j] = o
		}
	}
	return y
}

// relErr is ||got - want|| / ||want||.
func relErr(got []float32, want []float64) float64 {
	num, den := 0.0, 0.0
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	return math.Sqrt(num / max(den, 1e-30))
}

// Every row operation matches the fallback and float64 on awkward shapes
// (one column, primes, 10, rows off any work-group), with the output
// poisoned with NaN first, and in place.
func TestNorm(t *testing.T) {
	d := open(t)
	r := rand.New(rand.NewPCG(25, 26))
	vec := func(n int, lo, hi float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(lo + (hi-lo)*r.Float64())
		}
		return v
	}
	ops := []kernels.Norm{
		{Op: kernels.NormLayer, Epsilon: 1e-3, Gamma: true, Beta: true},
		{Op: kernels.NormLayer, Epsilon: 1e-5, Gamma: true},
		{Op: kernels.NormLayer, Epsilon: 1e-3, Beta: true},
		{Op: kernels.NormLayer, Epsilon: 1e-3},
		{Op: kernels.NormRMS, Epsilon: 1e-6},
		{Op: kernels.NormScaleShift},
		{Op: kernels.NormPReLU},
	}
	for _, op := range ops {
		for _, shape := range [][2]int{{1, 1}, {1, 3}, {7, 10}, {65, 17}, {3, 1}, {129, 513}} {
			k := op
			k.Rows, k.Cols = shape[0], shape[1]
			n := k.Rows * k.Cols
			x := vec(n, -3, 3)
			p0, p1 := vec(k.Cols, 0.5, 2), vec(k.Cols, -1, 1)
			want := norm64(k, x, p0, p1)
			fb := make([]float32, n)
			if err := fallback.Norm(k, x, fb, p0, p1); err != nil {
				t.Fatal(err)
			}
			if e := relErr(fb, want); !(e < 1e-6) {
				t.Errorf("fallback %+v: relative error %g", k, e)
			}
			for _, inPlace := range []bool{false, true} {
				bufs := make([]*device.Buffer, 4)
				for i, src := range [][]float32{x, nil, p0, p1} {
					size := n
					if i >= 2 {
						size = k.Cols
					}
					b, err := d.Alloc(size)
					if err != nil {
						t.Fatal(err)
					}
					defer b.Release()
					if src == nil {
						src = make([]float32, n)
						for j := range src {
							src[j] = float32(math.NaN())
						}
					}
					if err := d.Upload(b, 0, src); err != nil {
						t.Fatal(err)
					}
					bufs[i] = b
				}
				out := bufs[1]
				if inPlace {
					out = bufs[0]
				}
				if err := d.Norm(k, bufs[0], out, bufs[2], bufs[3]); err != nil {
					t.Fatalf("%+v: %v", k, err)
				}
				got := make([]float32, n)
				if err := d.Download(got, out, 0); err != nil {
					t.Fatal(err)
				}
				if e := relErr(got, want); !(e < 1e-5) {
					t.Errorf("opencl %+v (in place %v): relative error %g against float64", k, inPlace, e)
				}
				if e := relErr(got, toF64(fb)); !(e < 1e-5) {
					t.Errorf("opencl %+v (in place %v): relative error %g against the fallback", k, inPlace, e)
				}
			}
		}
	}
	// A NaN in a row makes that row NaN and leaves the others.
	k := kernels.Norm{Op: kernels.NormLayer, Rows: 2, Cols: 3, Epsilon: 1e-3}
	x := []float32{1, float32(math.NaN()), 2, 1, 2, 3}
	xb, _ := d.Alloc(6)
	defer xb.Release()
	_ = d.Upload(xb, 0, x)
	if err := d.Norm(k, xb, xb, nil, nil); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 6)
	_ = d.Download(got, xb, 0)
	for j := 0; j < 3; j++ {
		if !math.IsNaN(float64(got[j])) || math.IsNaN(float64(got[3+j])) {
			t.Fatalf("NaN row: %v", got)
		}
	}
	if err := d.Norm(kernels.Norm{Op: kernels.NormScaleShift, Rows: 2, Cols: 3}, xb, xb, nil, nil); err == nil {
		t.Error("scale and shift without its vectors: no error")
	}
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
