package layers

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/pyshape"
)

// forward64 runs a model's layers in float64 from their own weights (as
// Weights returns them) and configurations, one row of the last axis at a
// time: the reference of the fixtures. It knows the classes of the table
// that compute: Dense, BatchNormalization, LayerNormalization, PReLU,
// ReLU, LeakyReLU, ELU, Softmax and Activation's relu, linear and softmax;
// the rest are identities.
func forward64(t *testing.T, m *Sequential, x Tensor) []float64 {
	t.Helper()
	cur := make([]float64, len(x.Data))
	for i, v := range x.Data {
		cur[i] = float64(v)
	}
	cols := x.Shape[len(x.Shape)-1]
	f32 := func(v []float32) []float64 {
		out := make([]float64, len(v))
		for i, e := range v {
			out[i] = float64(e)
		}
		return out
	}
	rowwise := func(n int, f func(row []float64) []float64) {
		var next []float64
		for r := 0; r < len(cur)/cols; r++ {
			next = append(next, f(cur[r*cols:(r+1)*cols])...)
		}
		cur, cols = next, n
	}
	softmax := func(row []float64) []float64 {
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		s := 0.0
		out := make([]float64, len(row))
		for i, v := range row {
			out[i] = math.Exp(v - mx)
			s += out[i]
		}
		for i := range out {
			out[i] /= s
		}
		return out
	}
	elementwise := func(f func(float64) float64) {
		rowwise(cols, func(row []float64) []float64 {
			out := make([]float64, len(row))
			for i, v := range row {
				out[i] = f(v)
			}
			return out
		})
	}
	for _, l := range m.Layers() {
		ws, err := m.Weights(l.Name)
		if err != nil {
			t.Fatal(err)
		}
		switch c := l.Config.(type) {
		case Dense:
			k, n := ws[0].Shape[0], ws[0].Shape[1]
			w := f32(ws[0].Data)
			var b []float64
			if len(ws) > 1 {
				b = f32(ws[1].Data)
			}
			rowwise(n, func(row []float64) []float64 {
				out := make([]float64, n)
				for j := range n {
					s := 0.0
					if b != nil {
						s = b[j]
					}
					for i := range k {
						s += row[i] * w[i*n+j]
					}
					out[j] = s
				}
				switch c.Activation {
				case "", "linear":
				case "relu":
					for j := range out {
						out[j] = math.Max(out[j], 0)
					}
				case "softmax":
					out = softmax(out)
				default:
					t.Fatalf("forward64: activation %q", c.Activation)
				}
				return out
			})
		case BatchNormalization:
			i := 0
			var g, b []float64
			if !c.NoScale {
				g, i = f32(ws[i].Data), i+1
			}
			if !c.NoCenter {
				b, i = f32(ws[i].Data), i+1
			}
			mean, variance := f32(ws[i].Data), f32(ws[i+1].Data)
			rowwise(cols, func(row []float64) []float64 {
				out := make([]float64, len(row))
				for j, v := range row {
					o := (v - mean[j]) / math.Sqrt(variance[j]+c.eps())
					if g != nil {
						o *= g[j]
					}
					if b != nil {
						o += b[j]
					}
					out[j] = o
				}
				return out
			})
		case LayerNormalization:
			var g, b []float64
			i := 0
			if !c.NoScale || c.RMSScaling {
				g, i = f32(ws[0].Data), 1
			}
			if !c.NoCenter && !c.RMSScaling {
				b = f32(ws[i].Data)
			}
			rowwise(cols, func(row []float64) []float64 {
				mean, v := 0.0, 0.0
				for _, e := range row {
					mean += e
				}
				mean /= float64(len(row))
				for _, e := range row {
					v += (e - mean) * (e - mean)
				}
				v /= float64(len(row))
				out := make([]float64, len(row))
				for j, e := range row {
					o := (e - mean) / math.Sqrt(v+c.eps())
					if c.RMSScaling {
						o = e / math.Sqrt(v+c.eps())
					}
					if g != nil {
						o *= g[j]
					}
					if b != nil {
						o += b[j]
					}
					out[j] = o
				}
				return out
			})
		case Normalization:
			var mean, variance []float64
			if c.Mean != nil {
				for j := range cols {
					mean = append(mean, c.Mean[min(j, len(c.Mean)-1)])
					variance = append(variance, c.Variance[min(j, len(c.Variance)-1)])
				}
			} else {
				mean, variance = f32(ws[0].Data), f32(ws[1].Data)
			}
			rowwise(cols, func(row []float64) []float64 {
				out := make([]float64, len(row))
				for j, v := range row {
					sd := math.Max(math.Sqrt(variance[j]), 1e-7)
					out[j] = (v - mean[j]) / sd
					if c.Invert {
						out[j] = v*sd + mean[j]
					}
				}
				return out
			})
		case PReLU:
			alpha := f32(ws[0].Data)
			rowwise(cols, func(row []float64) []float64 {
				out := make([]float64, len(row))
				for j, v := range row {
					out[j] = v
					if v < 0 {
						out[j] = alpha[j] * v
					}
				}
				return out
			})
		case ReLU:
			elementwise(func(v float64) float64 {
				o := v
				if v < c.Threshold {
					o = c.NegativeSlope * (v - c.Threshold)
				}
				if c.MaxValue != nil {
					o = math.Min(o, *c.MaxValue)
				}
				return o
			})
		case LeakyReLU:
			elementwise(func(v float64) float64 { return math.Max(v, c.slope()*v) })
		case ELU:
			elementwise(func(v float64) float64 {
				if v > 0 {
					return v
				}
				return c.alpha() * math.Expm1(v)
			})
		case Softmax:
			rowwise(cols, softmax)
		case Activation:
			switch c.Activation {
			case "softmax":
				rowwise(cols, softmax)
			case "relu":
				elementwise(func(v float64) float64 { return math.Max(v, 0) })
			case "", "linear":
			default:
				t.Fatalf("forward64: activation %q", c.Activation)
			}
		case Flatten, Reshape:
			cols = pyshape.Elements(l.OutputShape[len(l.OutputShape)-1:])
			if len(l.OutputShape) == 2 {
				cols = l.OutputShape[1]
			}
		}
	}
	return cur
}

// The TF.js files of BatchNormalization, LayerNormalization, PReLU and
// the identities, written by @tensorflow/tfjs 4.22 itself
// (testdata/tfjs_norm/generate.js), load, print their classes, and
// predict as float64 computed from their own weights and as TF.js did.
func TestTFJSNormFixtures(t *testing.T) {
	for _, c := range []struct {
		name    string
		classes string
	}{
		{"batchnorm", "Dense BatchNormalization Dense BatchNormalization GaussianNoise GaussianDropout Dense"},
		{"layernorm", "Dense LayerNormalization PReLU AlphaDropout Dense LayerNormalization LeakyReLU ELU ReLU Dense"},
		{"spatial", "SpatialDropout1D Dense Softmax"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "tfjs_norm", c.name)
			raw, err := os.ReadFile(filepath.Join(dir, "predictions.json"))
			if err != nil {
				t.Fatal(err)
			}
			var pred struct {
				Input, Output struct {
					Shape []int
					Data  []float64
				}
			}
			if err := json.Unmarshal(raw, &pred); err != nil {
				t.Fatal(err)
			}
			x := Tensor{Shape: pred.Input.Shape, Data: to32(pred.Input.Data)}
			m, err := LoadTFJS(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			var classes []string
			for _, l := range m.Layers() {
				classes = append(classes, l.Class)
			}
			if got := strings.Join(classes, " "); got != c.classes {
				t.Errorf("classes %s, want %s", got, c.classes)
			}
			for _, opts := range [][]SummaryOption{nil, {Keras3Table(0)}} {
				var b strings.Builder
				if err := m.Summary(&b, opts...); err != nil {
					t.Fatal(err)
				}
			}
			want := forward64(t, m, x)
			for _, b := range testBackends(t) {
				if err := m.Build(b); err != nil {
					t.Fatal(err)
				}
				y, err := m.Predict(x)
				if err != nil {
					t.Fatal(err)
				}
				checkClose(t, c.name+" on "+b.Name()+" against TF.js", y, pred.Output.Shape, pred.Output.Data, 1e-5)
				for i, w := range want {
					if d := math.Abs(float64(y.Data[i]) - w); !(d <= 1e-5*math.Abs(w)+2e-6) {
						t.Fatalf("%s on %s: element %d is %v, float64 gives %v", c.name, b.Name(), i, y.Data[i], w)
					}
				}
			}
		})
	}
}

// The .h5 (tf.keras 2.15) and .keras (Keras 3.5) files of the
// normalizations and identities (testdata/norm/gen_norm.py, which says
// which Keras sources give the layouts) load, keep every class, predict
// as numpy's float64 on every backend, fold both BatchNormalization
// layers, and survive SaveTFJS and LoadTFJS unchanged.
func TestNormFiles(t *testing.T) {
	dir := filepath.Join("testdata", "norm")
	x := readNPY(t, filepath.Join(dir, "x.npy"))
	const classes = "Normalization Dense BatchNormalization Dense BatchNormalization GaussianNoise Dense LayerNormalization PReLU " +
		"GaussianDropout ActivityRegularization Dense LayerNormalization Dropout Dense"
	for _, c := range []struct{ file, want string }{
		{"norm_tfkeras2.15.h5", "expected.npy"},
		{"norm_keras3.5.0.keras", "expected_keras3.npy"},
	} {
		t.Run(c.file, func(t *testing.T) {
			m, err := Load(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			var got []string
			for _, l := range m.Layers() {
				got = append(got, l.Class)
			}
			if strings.Join(got, " ") != classes {
				t.Errorf("classes %v", got)
			}
			want := readNPY(t, filepath.Join(dir, c.want))
			for _, b := range testBackends(t) {
				if err := m.Build(b); err != nil {
					t.Fatal(err)
				}
				y, err := m.Predict(x)
				if err != nil {
					t.Fatalf("%s: %v", b.Name(), err)
				}
				checkExpected(t, b.Name(), y, want)
			}
			var e strings.Builder
			if err := m.Explain(&e); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(e.String(), "folded into dense"); n != 3 {
				t.Errorf("%d Normalization and BatchNormalization layers folded, want 3:\n%s", n, e.String())
			}
			out := t.TempDir()
			if err := m.SaveTFJS(out); err != nil {
				t.Fatal(err)
			}
			back, err := LoadTFJS(out)
			if err != nil {
				t.Fatal(err)
			}
			defer back.Close()
			if err := back.Build(Fallback()); err != nil {
				t.Fatal(err)
			}
			y, err := back.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			checkExpected(t, "after SaveTFJS and LoadTFJS", y, want)
			tr, nt := back.CountParams()
			tr0, nt0 := m.CountParams()
			if tr != tr0 || nt != nt0 || nt != 2*(9+7)+2*6+1 {
				t.Errorf("params %d/%d after the round trip, %d/%d before; want %d non-trainable", tr, nt, tr0, nt0, 2*(9+7)+2*6+1)
			}
		})
	}
}
