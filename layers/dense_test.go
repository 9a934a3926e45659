package layers

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/densecl/densecl/internal/pyshape"
	"github.com/densecl/densecl/kernels"
)

// Keras's dense_test.py correctness cases: W=[[1,-2],[3,-4]], b=[5,-6],
// x=[[-1,2]].
func TestDenseKerasCases(t *testing.T) {
	w := Tensor{Shape: []int{2, 2}, Data: []float32{1, -2, 3, -4}}
	b := Tensor{Shape: []int{2}, Data: []float32{5, -6}}
	x := Tensor{Shape: []int{1, 2}, Data: []float32{-1, 2}}
	cases := []struct {
		name  string
		layer Dense
		ws    []Tensor
		want  []float64
	}{
		{"bias relu", Dense{Units: 2, Activation: "relu", InputShape: []int{2}}, []Tensor{w, b}, []float64{10, 0}},
		{"no bias linear", Dense{Units: 2, NoBias: true, InputShape: []int{2}}, []Tensor{w}, []float64{5, -6}},
		{"no bias relu", Dense{Units: 2, Activation: "relu", NoBias: true, InputShape: []int{2}}, []Tensor{w}, []float64{5, 0}},
	}
	for _, be := range testBackends(t) {
		for _, c := range cases {
			t.Run(be.Name()+"/"+c.name, func(t *testing.T) {
				m := build(t, be, c.layer)
				if err := m.SetWeights("dense", c.ws); err != nil {
					t.Fatal(err)
				}
				if got := len(mustWeights(t, m, "dense")); got != len(c.ws) {
					t.Fatalf("%d weights, want %d (bias is None without use_bias)", got, len(c.ws))
				}
				y, err := m.Predict(x)
				if err != nil {
					t.Fatal(err)
				}
				checkClose(t, c.name, y, []int{1, 2}, c.want, 0)
			})
		}
	}
}

// Keras's core_test.py: units=3 on inputs (3,2), (3,4,2), (None,None,2),
// (3,4,5,2) replaces the last axis.
func TestDenseShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, be := range testBackends(t) {
		for _, shape := range [][]int{{3, 2}, {3, 4, 2}, {3, 4, 5, 2}} {
			m := build(t, be, Dense{Units: 3, InputShape: shape[1:], KernelInitializer: Init("glorot_uniform", 3), BiasInitializer: Init("random_uniform", 4)})
			wantOut := append(withBatch(shape[1:len(shape)-1]), 3)
			if got := m.OutputShape(); !slices.Equal(got, wantOut) {
				t.Fatalf("%v: output shape %v, want %v", shape, got, wantOut)
			}
			x := randTensor(rng, shape...)
			y, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			ws := mustWeights(t, m, "dense")
			rows := pyshape.Elements(shape) / 2
			want := refDense(x.Data, rows, 2, ws[0].Data, ws[1].Data, 3, nil, false)
			wantShape := append(append([]int{}, shape[:len(shape)-1]...), 3)
			checkClose(t, be.Name(), y, wantShape, want, 1e-6)
		}
		// (None, None, 2): the middle axis is only known when data comes.
		m := build(t, be, Dense{Units: 3, InputShape: []int{None, 2}})
		if got := pyshape.Tuple(m.OutputShape()); got != "(None, None, 3)" {
			t.Fatalf("output shape %s, want (None, None, 3)", got)
		}
		for _, s := range [][]int{{3, 4, 2}, {2, 7, 2}} {
			y, err := m.Predict(randTensor(rng, s...))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(y.Shape, []int{s[0], s[1], 3}) {
				t.Fatalf("%v gives %v", s, y.Shape)
			}
		}
	}
}

func TestDenseInvalid(t *testing.T) {
	for _, units := range []int{0, -3} {
		_, err := NewSequential(Dense{Units: units, InputShape: []int{2}})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "positive integer") {
			t.Errorf("units=%d: %v, want an ErrInvalid about a positive integer", units, err)
		}
	}
	_, err := NewSequential(Dense{Units: 2, Activation: "typo"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"typo"`) || !strings.Contains(err.Error(), "relu") || !strings.Contains(err.Error(), "softmax") {
		t.Errorf("unknown activation: %v, want an error naming it and listing the valid ones", err)
	}
	_, err = NewSequential(Dense{Units: 2, KernelInitializer: Initializer{Name: "nope"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "glorot_uniform") {
		t.Errorf("unknown initializer: %v", err)
	}
	_, err = NewSequential(Dense{Units: 2, Activation: "relu", Act: &kernels.Activation{Kind: kernels.ReLU}})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("both Activation and Act: %v", err)
	}
	_, err = NewSequential(Dense{Units: 2, InputShape: []int{0}})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("zero axis in input shape: %v", err)
	}
	_, err = NewSequential(Dense{Units: 2, InputShape: []int{3, None}})
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "last dimension of the inputs to a Dense layer should be defined") {
		t.Errorf("None last axis: %v", err)
	}
	_, err = NewSequential(Dense{Units: 2, InputShape: []int{2}}, Dense{Units: 2, Name: "dense"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "unique names") {
		t.Errorf("duplicate name: %v", err)
	}
	if err := (&Sequential{}).Add(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil layer: %v", err)
	}
}

// Keras's test_dense_errors: a layer built on (1, 2) called on (1, 3).
func TestDenseIncompatibleCall(t *testing.T) {
	for _, be := range testBackends(t) {
		m := build(t, be, Dense{Units: 2, InputShape: []int{2}})
		_, err := m.Predict(NewTensor(1, 3))
		want := `Input 0 of layer "dense" is incompatible with the layer: expected axis -1 of input shape to have value 2, but received input with shape (None, 3)`
		if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v\nwant %s", err, want)
		}
		_, err = m.Predict(NewTensor(3))
		want = `Input 0 of layer "dense" is incompatible with the layer: expected min_ndim=2, found ndim=1. Full shape received: (None,)`
		if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v\nwant %s", err, want)
		}
	}
	// The example: a later layer declared for 512 inputs gets 4.
	_, err := NewSequential(
		Dense{Units: 4, InputShape: []int{32, 32, 3}},
		Dense{Units: 10, InputShape: []int{32, 32, 512}},
	)
	want := `layers: Input 0 of layer "dense_1" is incompatible with the layer: expected axis -1 of input shape to have value 512, but received input with shape (None, 32, 32, 4)`
	if !errors.Is(err, ErrShape) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestAutomaticNames(t *testing.T) {
	m, err := NewSequential(Dense{Units: 2, InputShape: []int{3, 4}}, Flatten{}, Dense{Units: 3}, Dropout{Rate: 0.5},
		Activation{Activation: "relu"}, Dense{Units: 1, Name: "out"}, Reshape{TargetShape: []int{1, 1}}, Activation{Activation: "tanh"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range m.Layers() {
		names = append(names, l.Name)
	}
	want := "dense flatten dense_1 dropout activation out reshape activation_1"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("names %q, want %q", got, want)
	}
	if c := m.Layers()[2].Config.(Dense); c.Name != "dense_1" || c.Units != 3 {
		t.Fatalf("config %+v", c)
	}
}

// The activation names Keras and TF.js use reach the right kernels
// activation, and each one runs on every backend.
func TestDenseActivations(t *testing.T) {
	cases := map[string]kernels.ActKind{
		"": kernels.Linear, "linear": kernels.Linear, "relu": kernels.ReLU, "swish": kernels.SiLU, "silu": kernels.SiLU,
		"hard_sigmoid": kernels.HardSigmoid, "hard_sigmoid_k2": kernels.HardSigmoidK2, "hardSigmoid": kernels.HardSigmoid,
		"gelu": kernels.GELU, "gelu_new": kernels.GELUTanh, "hard_swish": kernels.HardSiLU, "leaky_relu": kernels.LeakyReLU,
		"elu": kernels.ELU, "selu": kernels.SELU, "mish": kernels.Mish, "relu6": kernels.ReLU6, "tanh": kernels.Tanh,
		"sigmoid": kernels.Sigmoid, "softplus": kernels.Softplus, "softsign": kernels.Softsign, "exponential": kernels.Exponential,
	}
	for name, k := range cases {
		s, err := resolveActivation("dense", name, nil)
		if err != nil || s.soft != noSoftmax || s.elem.Kind != k {
			t.Errorf("%q: %+v, %v; want %s", name, s, err, k)
		}
	}
	for name, soft := range map[string]softKind{"softmax": softmaxAxis, "log_softmax": logSoftmaxAxis, "logSoftmax": logSoftmaxAxis} {
		if s, err := resolveActivation("dense", name, nil); err != nil || s.soft != soft {
			t.Errorf("%q: %+v, %v", name, s, err)
		}
	}
	rng := rand.New(rand.NewPCG(2, 2))
	x := randTensor(rng, 5, 7)
	for _, b := range testBackends(t) {
		for _, name := range ActivationNames() {
			m := build(t, b, Dense{Units: 6, Activation: name, InputShape: []int{7}, BiasInitializer: Init("random_normal", 1)})
			y, err := m.Predict(x)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			ws := mustWeights(t, m, "dense")
			s, _ := resolveActivation("", name, nil)
			var want []float64
			switch s.soft {
			case softmaxAxis:
				want = refDense(x.Data, 5, 7, ws[0].Data, ws[1].Data, 6, nil, true)
			case logSoftmaxAxis:
				want = refDense(x.Data, 5, 7, ws[0].Data, ws[1].Data, 6, nil, true)
				for i := range want {
					want[i] = math.Log(want[i])
				}
			default:
				want = refDense(x.Data, 5, 7, ws[0].Data, ws[1].Data, 6, refAct(t, s.elem.Kind), false)
			}
			checkClose(t, b.Name()+" "+name, y, []int{5, 6}, want, 1e-5)
		}
	}
}

// refAct writes Keras's formulas out again for the test.
func refAct(t *testing.T, k kernels.ActKind) func(float64) float64 {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	sp := func(x float64) float64 { return math.Log1p(math.Exp(x)) }
	clip := func(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }
	f := map[kernels.ActKind]func(float64) float64{
		kernels.Linear:    func(x float64) float64 { return x },
		kernels.ReLU:      relu,
		kernels.ReLU6:     func(x float64) float64 { return clip(x, 0, 6) },
		kernels.LeakyReLU: func(x float64) float64 { return math.Max(x, 0.2*x) },
		kernels.Sigmoid:   sig,
		kernels.Tanh:      math.Tanh,
		kernels.ELU:       func(x float64) float64 { return map[bool]float64{true: x, false: math.Exp(x) - 1}[x >= 0] },
		kernels.SELU: func(x float64) float64 {
			return 1.0507009873554805 * map[bool]float64{true: x, false: 1.6732632423543772 * (math.Exp(x) - 1)}[x >= 0]
		},
		kernels.Softplus:      sp,
		kernels.Softsign:      func(x float64) float64 { return x / (1 + math.Abs(x)) },
		kernels.SiLU:          func(x float64) float64 { return x * sig(x) },
		kernels.GELU:          func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
		kernels.GELUTanh:      func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))) },
		kernels.Exponential:   math.Exp,
		kernels.HardSigmoid:   func(x float64) float64 { return clip(x/6+0.5, 0, 1) },
		kernels.HardSigmoidK2: func(x float64) float64 { return clip(0.2*x+0.5, 0, 1) },
		kernels.HardSiLU:      func(x float64) float64 { return x * clip(x+3, 0, 6) / 6 },
		kernels.Mish:          func(x float64) float64 { return x * math.Tanh(sp(x)) },
		kernels.LogSigmoid:    func(x float64) float64 { return -sp(-x) },
		kernels.CELU:          func(x float64) float64 { return math.Max(x, 0) + math.Expm1(math.Min(x, 0)) },
		kernels.HardTanh:      func(x float64) float64 { return clip(x, -1, 1) },
	}[k]
	if f == nil {
		t.Fatalf("no reference for %s", k)
	}
	return f
}

// relu with parameters through Act, and standalone Activation layers.
func TestActivationParamsAndLayer(t *testing.T) {
	x := Tensor{Shape: []int{1, 5}, Data: []float32{-10, -5, 0, 5, 10}}
	eye := Tensor{Shape: []int{5, 5}, Data: make([]float32, 25)}
	for i := 0; i < 5; i++ {
		eye.Data[i*5+i] = 1
	}
	relu := kernels.Activation{Kind: kernels.ReLU, Alpha: 0.5, HasMax: true, MaxValue: 5, Threshold: 5}
	for _, b := range testBackends(t) {
		m := build(t, b, Dense{Units: 5, Act: &relu, NoBias: true, InputShape: []int{5}})
		if err := m.SetWeights("dense", []Tensor{eye}); err != nil {
			t.Fatal(err)
		}
		y, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "relu(0.5, 5, 5)", y, []int{1, 5}, []float64{-7.5, -5, -2.5, 0, 5}, 1e-7)

		m = build(t, b, Activation{Activation: "softmax", InputShape: []int{3}})
		y, err = m.Predict(Tensor{Shape: []int{1, 3}, Data: []float32{-1, 0, 1}})
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "softmax", y, []int{1, 3}, []float64{0.09003057, 0.24472847, 0.66524096}, 1e-6)

		m = build(t, b, Activation{Activation: "hard_sigmoid_k2", InputShape: []int{5}})
		y, err = m.Predict(Tensor{Shape: []int{1, 5}, Data: []float32{-3, -1, 0, 1, 3}})
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "hard_sigmoid keras 2", y, []int{1, 5}, []float64{0, 0.3, 0.5, 0.7, 1}, 1e-7)
	}
}

func TestInitializers(t *testing.T) {
	shape := []int{3, 512}
	lim := math.Sqrt(6.0 / (3 + 512))
	if math.Abs(lim-0.10793741444417318) > 1e-15 {
		t.Fatalf("limit %v", lim)
	}
	check := func(name string, init Initializer, def string, ok func(v []float32) bool) {
		t.Helper()
		a, err := init.fill(shape, def)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !ok(a) {
			t.Errorf("%s: values out of their law: %v", name, head(a))
		}
	}
	stats := func(v []float32) (mean, sd, maxAbs float64) {
		for _, x := range v {
			mean += float64(x)
			maxAbs = math.Max(maxAbs, math.Abs(float64(x)))
		}
		mean /= float64(len(v))
		for _, x := range v {
			sd += (float64(x) - mean) * (float64(x) - mean)
		}
		return mean, math.Sqrt(sd / float64(len(v))), maxAbs
	}
	check("glorot_uniform", Init("", 1), "glorot_uniform", func(v []float32) bool {
		_, sd, mx := stats(v)
		return mx <= lim && mx > 0.95*lim && math.Abs(sd-lim/math.Sqrt(3)) < 0.05*lim
	})
	check("he_normal", Init("he_normal", 2), "", func(v []float32) bool {
		_, sd, mx := stats(v)
		want := math.Sqrt(2.0 / 3)
		return math.Abs(sd-want) < 0.05*want && mx <= 2*want/0.87962566103423978+1e-6
	})
	check("he_uniform", Init("HeUniform", 3), "", func(v []float32) bool { _, _, mx := stats(v); return mx <= math.Sqrt(2) })
	check("lecun_uniform", Init("lecunUniform", 3), "", func(v []float32) bool { _, _, mx := stats(v); return mx <= 1 })
	check("lecun_normal", Init("lecun_normal", 3), "", func(v []float32) bool {
		_, sd, _ := stats(v)
		return math.Abs(sd-math.Sqrt(1.0/3)) < 0.05
	})
	check("glorot_normal", Init("glorot_normal", 3), "", func(v []float32) bool {
		_, sd, _ := stats(v)
		return math.Abs(sd-math.Sqrt(2.0/515)) < 0.05*math.Sqrt(2.0/515)
	})
	check("random_normal", Init("random_normal", 4), "", func(v []float32) bool {
		m, sd, _ := stats(v)
		return math.Abs(m) < 0.01 && math.Abs(sd-0.05) < 0.005
	})
	check("random_uniform", Init("random_uniform", 5), "", func(v []float32) bool { _, _, mx := stats(v); return mx <= 0.05 && mx > 0.045 })
	check("zeros", Initializer{}, "zeros", func(v []float32) bool { _, _, mx := stats(v); return mx == 0 })
	check("ones", Initializer{Name: "ones"}, "", func(v []float32) bool { m, sd, _ := stats(v); return m == 1 && sd == 0 })
	check("constant", Initializer{Name: "constant", Value: 0.25}, "", func(v []float32) bool { m, sd, _ := stats(v); return m == 0.25 && sd == 0 })

	// A seed makes a build reproducible; without one, builds differ.
	mk := func(init Initializer) []float32 {
		m, err := NewSequential(Dense{Units: 4, InputShape: []int{3}, KernelInitializer: init})
		if err != nil {
			t.Fatal(err)
		}
		return mustWeights(t, m, "dense")[0].Data
	}
	a, b := mk(Init("glorot_uniform", 7)), mk(Init("glorot_uniform", 7))
	if !equalFloats(a, b) {
		t.Errorf("seeded initializer not reproducible: %v vs %v", a, b)
	}
	if equalFloats(mk(Initializer{}), mk(Initializer{})) {
		t.Errorf("unseeded initializers drew the same weights twice")
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
