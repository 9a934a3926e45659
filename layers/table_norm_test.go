package layers

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/densecl/densecl/kernels"
)

// launches counts the operations a model runs on the fallback.
type launches struct {
	Backend
	gemms, acts, softmaxes, norms int
}

func (l *launches) Gemm(g kernels.Gemm, a, b, c, bias Buffer) error {
	l.gemms++
	return l.Backend.Gemm(g, a, b, c, bias)
}

func (l *launches) Activate(e kernels.Elementwise, src, dst Buffer) error {
	l.acts++
	return l.Backend.Activate(e, src, dst)
}

func (l *launches) Softmax(s kernels.Softmax, src, dst Buffer) error {
	l.softmaxes++
	return l.Backend.Softmax(s, src, dst)
}

func (l *launches) Norm(k kernels.Norm, src, dst, p0, p1 Buffer) error {
	l.norms++
	return l.Backend.(Normalizer).Norm(k, src, dst, p0, p1)
}

// ref64 is a float64 reference of the layers the tests build: each layer
// maps rows of the last axis.
type ref64 func(x []float64) []float64

func denseRef(w, b []float32, k, n int, act func(float64) float64) ref64 {
	return func(x []float64) []float64 {
		y := make([]float64, n)
		for j := range n {
			s := 0.0
			if b != nil {
				s = float64(b[j])
			}
			for i := range k {
				s += x[i] * float64(w[i*n+j])
			}
			y[j] = act(s)
		}
		return y
	}
}

func linear64(x float64) float64 { return x }
func relu64(x float64) float64   { return math.Max(x, 0) }

// bnRef is Keras's BatchNormalization at inference, in float64.
func bnRef(gamma, beta, mean, variance []float32, eps float64) ref64 {
	return func(x []float64) []float64 {
		y := make([]float64, len(x))
		for j, v := range x {
			g, b := 1.0, 0.0
			if gamma != nil {
				g = float64(gamma[j])
			}
			if beta != nil {
				b = float64(beta[j])
			}
			y[j] = g*(v-float64(mean[j]))/math.Sqrt(float64(variance[j])+eps) + b
		}
		return y
	}
}

// lnRef is Keras's LayerNormalization over the last axis, in float64.
func lnRef(gamma, beta []float32, eps float64, rms bool) ref64 {
	return func(x []float64) []float64 {
		mean := 0.0
		for _, v := range x {
			mean += v
		}
		mean /= float64(len(x))
		variance := 0.0
		for _, v := range x {
			variance += (v - mean) * (v - mean)
		}
		variance /= float64(len(x))
		y := make([]float64, len(x))
		for j, v := range x {
			g, b := 1.0, 0.0
			if gamma != nil {
				g = float64(gamma[j])
			}
			if beta != nil {
				b = float64(beta[j])
			}
			if rms {
				y[j] = v * g / math.Sqrt(variance+eps)
			} else {
				y[j] = (v-mean)/math.Sqrt(variance+eps)*g + b
			}
		}
		return y
	}
}

func preluRef(alpha []float32) ref64 {
	return func(x []float64) []float64 {
		y := make([]float64, len(x))
		for j, v := range x {
			if v >= 0 {
				y[j] = v
			} else {
				y[j] = float64(alpha[j]) * v
			}
		}
		return y
	}
}

func randVec(r *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return v
}

// normCase is a model with its float64 reference, built by setting random
// weights on it.
type normCase struct {
	name   string
	k      int // input width
	layers []Layer
	// weights sets the model's weights and returns the reference.
	weights func(t *testing.T, m *Sequential, r *rand.Rand) []ref64
	gemms   int // the products one Predict runs (one chunk)
	norms   int // the row kernels it runs
}

// setDense gives a Dense layer random weights and returns its reference.
func setDense(t *testing.T, m *Sequential, r *rand.Rand, name string, act func(float64) float64) ref64 {
	t.Helper()
	w, err := m.Weights(name)
	if err != nil {
		t.Fatal(err)
	}
	k, n := w[0].Shape[0], w[0].Shape[1]
	w[0].Data = randVec(r, k*n, -1, 1)
	var b []float32
	if len(w) > 1 {
		w[1].Data = randVec(r, n, -0.5, 0.5)
		b = w[1].Data
	}
	if err := m.SetWeights(name, w); err != nil {
		t.Fatal(err)
	}
	return denseRef(w[0].Data, b, k, n, act)
}

// setBN gives a BatchNormalization layer random weights (variances
// positive) and returns its reference.
func setBN(t *testing.T, m *Sequential, r *rand.Rand, name string, scale, center bool, eps float64) ref64 {
	t.Helper()
	w, err := m.Weights(name)
	if err != nil {
		t.Fatal(err)
	}
	c := w[0].Shape[0]
	var gamma, beta []float32
	i := 0
	if scale {
		w[i].Data = randVec(r, c, 0.5, 2)
		gamma, i = w[i].Data, i+1
	}
	if center {
		w[i].Data = randVec(r, c, -1, 1)
		beta, i = w[i].Data, i+1
	}
	w[i].Data = randVec(r, c, -1, 1)
	w[i+1].Data = randVec(r, c, 0.1, 3)
	if err := m.SetWeights(name, w); err != nil {
		t.Fatal(err)
	}
	return bnRef(gamma, beta, w[i].Data, w[i+1].Data, eps)
}

func setLN(t *testing.T, m *Sequential, r *rand.Rand, name string, scale, center, rms bool, eps float64) ref64 {
	t.Helper()
	w, err := m.Weights(name)
	if err != nil {
		t.Fatal(err)
	}
	var gamma, beta []float32
	i := 0
	if scale || rms {
		w[i].Data = randVec(r, len(w[i].Data), 0.5, 2)
		gamma, i = w[i].Data, i+1
	}
	if center && !rms {
		w[i].Data = randVec(r, len(w[i].Data), -1, 1)
		beta = w[i].Data
	}
	if err := m.SetWeights(name, w); err != nil {
		t.Fatal(err)
	}
	return lnRef(gamma, beta, eps, rms)
}

func normCases() []normCase {
	return []normCase{
		{name: "dense-bn-dense (folded after)", k: 7,
			layers: []Layer{Dense{Units: 10, InputShape: []int{7}}, BatchNormalization{}, Dense{Units: 3, Activation: "relu"}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				return []ref64{setDense(t, m, r, "dense", linear64), setBN(t, m, r, "batch_normalization", true, true, 1e-3), setDense(t, m, r, "dense_1", relu64)}
			}, gemms: 2},
		{name: "dense(relu)-bn-dense (folded before)", k: 3,
			layers: []Layer{Dense{Units: 17, Activation: "relu", InputShape: []int{3}}, BatchNormalization{Epsilon: 0.01}, Dropout{Rate: 0.5}, Dense{Units: 1}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				return []ref64{setDense(t, m, r, "dense", relu64), setBN(t, m, r, "batch_normalization", true, true, 0.01), setDense(t, m, r, "dense_1", linear64)}
			}, gemms: 2},
		{name: "bn first, no scale, no bias dense", k: 5,
			layers: []Layer{BatchNormalization{NoScale: true, InputShape: []int{5}}, Dense{Units: 4, NoBias: true}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				return []ref64{setBN(t, m, r, "batch_normalization", false, true, 1e-3), setDense(t, m, r, "dense", linear64)}
			}, gemms: 1},
		{name: "no-bias dense then bn (a bias appears)", k: 4,
			layers: []Layer{Dense{Units: 6, NoBias: true, InputShape: []int{4}}, BatchNormalization{NoCenter: true}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				return []ref64{setDense(t, m, r, "dense", linear64), setBN(t, m, r, "batch_normalization", true, false, 1e-3)}
			}, gemms: 1},
		{name: "bn unfolded after relu", k: 3,
			layers: []Layer{Dense{Units: 10, Activation: "relu", InputShape: []int{3}}, BatchNormalization{}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				return []ref64{setDense(t, m, r, "dense", relu64), setBN(t, m, r, "batch_normalization", true, true, 1e-3)}
			}, gemms: 1, norms: 1},
		{name: "dense-ln-dense", k: 13,
			layers: []Layer{Dense{Units: 31, InputShape: []int{13}}, LayerNormalization{}, Dense{Units: 10, Activation: "relu"}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				return []ref64{setDense(t, m, r, "dense", linear64), setLN(t, m, r, "layer_normalization", true, true, false, 1e-3), setDense(t, m, r, "dense_1", relu64)}
			}, gemms: 2, norms: 1},
		{name: "ln rms last", k: 3,
			layers: []Layer{Dense{Units: 10, InputShape: []int{3}}, LayerNormalization{RMSScaling: true, Epsilon: 1e-5}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				return []ref64{setDense(t, m, r, "dense", linear64), setLN(t, m, r, "layer_normalization", true, true, true, 1e-5)}
			}, gemms: 1, norms: 1},
		{name: "ln first, no center, no scale", k: 1,
			layers: []Layer{LayerNormalization{NoCenter: true, NoScale: true, InputShape: []int{1}}, Dense{Units: 2}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				return []ref64{lnRef(nil, nil, 1e-3, false), setDense(t, m, r, "dense", linear64)}
			}, gemms: 1, norms: 1},
		{name: "normalization (mean, variance given) folded before", k: 4,
			layers: []Layer{Normalization{Mean: []float64{0.5, -1, 2, 0}, Variance: []float64{4, 0.25, 1, 0}, InputShape: []int{4}}, Dense{Units: 3}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				norm := bnRef(nil, nil, []float32{0.5, -1, 2, 0}, []float32{4, 0.25, 1, 1e-14}, 0)
				return []ref64{norm, setDense(t, m, r, "dense", linear64)}
			}, gemms: 1},
		{name: "inverted normalization unfolded after relu", k: 3,
			layers: []Layer{Dense{Units: 5, Activation: "relu", InputShape: []int{3}}, Normalization{Mean: []float64{1.5}, Variance: []float64{9}, Invert: true}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				d := setDense(t, m, r, "dense", relu64)
				inv := func(x []float64) []float64 {
					y := make([]float64, len(x))
					for i, v := range x {
						y[i] = v*3 + 1.5
					}
					return y
				}
				return []ref64{d, inv}
			}, gemms: 1, norms: 1},
		{name: "prelu and identities", k: 6,
			layers: []Layer{Dense{Units: 9, InputShape: []int{6}}, GaussianNoiseLayer(0.1), PReLU{}, Identity{Class: "AlphaDropout", Value: 0.2}, Identity{Class: "ActivityRegularization", Value: 0.01}, Dense{Units: 2}},
			weights: func(t *testing.T, m *Sequential, r *rand.Rand) []ref64 {
				d := setDense(t, m, r, "dense", linear64)
				w, _ := m.Weights("p_re_lu")
				w[0].Data = randVec(r, 9, -0.5, 0.5)
				if err := m.SetWeights("p_re_lu", w); err != nil {
					t.Fatal(err)
				}
				return []ref64{d, preluRef(w[0].Data), setDense(t, m, r, "dense_1", linear64)}
			}, gemms: 2, norms: 1},
	}
}

// GaussianNoiseLayer is the GaussianNoise identity with the given stddev.
func GaussianNoiseLayer(stddev float64) Layer { return Identity{Class: "GaussianNoise", Value: stddev} }

// Every normalization matches a float64 reference on every backend, with
// the output poisoned first; BatchNormalization beside a Dense layer runs
// no kernel of its own. Folding rounds once: elementwise, the folded
// result differs from float64 by at most (K+3)·2⁻²³·(|b'| + Σ|x·W'|),
// the float32 GEMM bound with each folded weight rounded once (here
// checked as the suite's tolerance, 1e-5 relative plus 2e-6 absolute,
// which that bound stays under for these sizes).
func TestNormLayers(t *testing.T) {
	for ci, c := range normCases() {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(ci), 25))
			m, err := NewSequential(c.layers...)
			if err != nil {
				t.Fatal(err)
			}
			refs := c.weights(t, m, r)
			for _, batch := range []int{1, 5} {
				x := randVec(r, batch*c.k, -2, 2)
				var want [][]float64
				for s := range batch {
					row := make([]float64, c.k)
					for i := range row {
						row[i] = float64(x[s*c.k+i])
					}
					for _, f := range refs {
						row = f(row)
					}
					want = append(want, row)
				}
				count := &launches{Backend: Fallback()}
				for _, b := range append([]Backend{count}, testBackends(t)...) {
					if err := m.Build(b); err != nil {
						t.Fatal(err)
					}
					out := make([]float32, batch*len(want[0]))
					for i := range out {
						out[i] = float32(math.NaN())
					}
					y, err := m.PredictInto(out, Tensor{Shape: []int{batch, c.k}, Data: x}, PredictOptions{})
					if err != nil {
						t.Fatalf("%s: %v", b.Name(), err)
					}
					for s := range batch {
						for j, w := range want[s] {
							g := float64(y.Data[s*len(want[s])+j])
							if d := math.Abs(g - w); !(d <= 1e-5*math.Abs(w)+2e-6) {
								t.Fatalf("%s batch %d: sample %d unit %d is %v, want %v", b.Name(), batch, s, j, g, w)
							}
						}
					}
				}
				if count.gemms != c.gemms || count.norms != c.norms || count.acts+count.softmaxes != 0 {
					t.Errorf("batch %d: %d products, %d row kernels, %d other launches; want %d, %d, 0",
						batch, count.gemms, count.norms, count.acts+count.softmaxes, c.gemms, c.norms)
				}
			}
			m.Close()
		})
	}
}

// The summaries count BatchNormalization's moving statistics as
// non-trainable, in both layouts, and Explain says the layer is folded.
func TestBatchNormalizationSummary(t *testing.T) {
	m, err := NewSequential(Dense{Units: 64, InputShape: []int{10}}, BatchNormalization{}, Dense{Units: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := m.Summary(&b); err != nil {
		t.Fatal(err)
	}
	want := `Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
=================================================================
 dense (Dense)               (None, 64)                704       
                                                                 
 batch_normalization (Batch  (None, 64)                256       
 Normalization)                                                  
                                                                 
 dense_1 (Dense)             (None, 1)                 65        
                                                                 
=================================================================
Total params: 1025 (4.00 KB)
Trainable params: 897 (3.50 KB)
Non-trainable params: 128 (512.00 Byte)
_________________________________________________________________
`
	if b.String() != want {
		t.Errorf("summary\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := m.Summary(&b, Keras3Table(0)); err != nil {
		t.Fatal(err)
	}
	want3 := `Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 64)             │           704 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ batch_normalization             │ (None, 64)             │           256 │
│ (BatchNormalization)            │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 1)              │            65 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 1,025 (4.00 KB)
 Trainable params: 897 (3.50 KB)
 Non-trainable params: 128 (512.00 B)
`
	if b.String() != want3 {
		t.Errorf("keras 3 summary\n%s\nwant\n%s", b.String(), want3)
	}
	if err := m.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := m.Explain(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `folded into dense "dense"`) {
		t.Errorf("explain:\n%s", b.String())
	}
	if tr, nt := m.CountParams(); tr != 897 || nt != 128 {
		t.Errorf("CountParams = %d, %d", tr, nt)
	}
}

// Normalization's adapted weights are non-trainable, its count an int64
// (8 bytes), as Keras 3's summary counts them.
func TestNormalizationSummary(t *testing.T) {
	m, err := NewSequential(Normalization{InputShape: []int{6}}, Dense{Units: 2})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := m.Summary(&b, Keras3Table(0)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"│ normalization (Normalization)   │ (None, 6)              │            13 │",
		" Total params: 27 (112.00 B)",
		" Trainable params: 14 (56.00 B)",
		" Non-trainable params: 13 (56.00 B)",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("summary has no line %q:\n%s", want, b.String())
		}
	}
	if _, err := NewSequential(Normalization{Mean: []float64{1, 2}, Variance: []float64{1, 1}, InputShape: []int{3}}); err == nil || !errors.Is(err, ErrShape) {
		t.Errorf("two means for three units: %v", err)
	}
	if _, err := NewSequential(Normalization{Mean: []float64{1}}); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("a mean without a variance: %v", err)
	}
}

// Folding a BatchNormalization into its Dense layer rounds the folded
// weights once to float32, so the folded layer stays within the float32
// GEMM bound of the float64 result of the unfolded pair: elementwise,
//
//	|y − y₆₄| ≤ (K+3)·2⁻²⁴·(|b'| + Σ_k |x_k·W'_kj|)
//
// with W' and b' the folded weights in float64 (Higham's bound for a dot
// product of K terms, plus one rounding of each folded weight and one of
// the bias). Checked before the BatchNormalization (rows) and after it
// (columns), on every backend.
func TestFoldBound(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 25))
	const K, N, batch = 37, 10, 9
	for _, after := range []bool{true, false} {
		var ls []Layer
		if after {
			ls = []Layer{Dense{Units: N, InputShape: []int{K}}, BatchNormalization{}}
		} else {
			ls = []Layer{BatchNormalization{InputShape: []int{K}}, Dense{Units: N}}
		}
		m, err := NewSequential(ls...)
		if err != nil {
			t.Fatal(err)
		}
		setDense(t, m, r, "dense", linear64)
		setBN(t, m, r, "batch_normalization", true, true, 1e-3)
		bw, _ := m.Weights("batch_normalization")
		dw, _ := m.Weights("dense")
		c := len(bw[0].Data)
		s, sh := make([]float64, c), make([]float64, c)
		for j := range c {
			s[j] = float64(bw[0].Data[j]) / math.Sqrt(float64(bw[3].Data[j])+1e-3)
			sh[j] = float64(bw[1].Data[j]) - float64(bw[2].Data[j])*s[j]
		}
		// The folded weights in float64.
		w := make([]float64, K*N)
		b := make([]float64, N)
		for j := range N {
			b[j] = float64(dw[1].Data[j])
		}
		for k := range K {
			for j := range N {
				w[k*N+j] = float64(dw[0].Data[k*N+j])
			}
		}
		if after {
			for k := range K {
				for j := range N {
					w[k*N+j] *= s[j]
				}
			}
			for j := range N {
				b[j] = b[j]*s[j] + sh[j]
			}
		} else {
			for k := range K {
				for j := range N {
					b[j] += sh[k] * w[k*N+j]
					w[k*N+j] *= s[k]
				}
			}
		}
		x := randVec(r, batch*K, -2, 2)
		for _, be := range testBackends(t) {
			if err := m.Build(be); err != nil {
				t.Fatal(err)
			}
			y, err := m.Predict(Tensor{Shape: []int{batch, K}, Data: x})
			if err != nil {
				t.Fatal(err)
			}
			for i := range batch {
				for j := range N {
					exact, mag := b[j], math.Abs(b[j])
					for k := range K {
						p := float64(x[i*K+k]) * w[k*N+j]
						exact += p
						mag += math.Abs(p)
					}
					bound := float64(K+3) * 0x1p-24 * mag
					if e := math.Abs(float64(y.Data[i*N+j]) - exact); !(e <= bound) {
						t.Fatalf("%s, folded after=%v: sample %d unit %d off by %g, bound %g", be.Name(), after, i, j, e, bound)
					}
				}
			}
		}
		m.Close()
	}
}
