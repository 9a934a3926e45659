package layers

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/densecl/densecl/internal/pyshape"
)

// mlp builds Dense(13, relu) -> Dense(10, tanh) -> Dense(7, softmax) on
// (None, 3, 11) with seeded random weights and biases.
func mlp(t *testing.T, b Backend) *Sequential {
	return build(t, b,
		Dense{Units: 13, Activation: "relu", InputShape: []int{3, 11}, KernelInitializer: Init("glorot_uniform", 1), BiasInitializer: Init("random_uniform", 2)},
		Dense{Units: 10, Activation: "tanh", KernelInitializer: Init("he_normal", 3), BiasInitializer: Init("random_normal", 4)},
		Dense{Units: 7, Activation: "softmax", KernelInitializer: Init("lecun_uniform", 5), BiasInitializer: Init("random_uniform", 6)},
	)
}

// mlpRef computes mlp's output in float64 from its weights.
func mlpRef(t *testing.T, m *Sequential, x Tensor) []float64 {
	rows := pyshape.Elements(x.Shape) / 11
	h := to32(refDense(x.Data, rows, 11, mustWeights(t, m, "dense")[0].Data, mustWeights(t, m, "dense")[1].Data, 13, relu, false))
	h = to32(refDense(h, rows, 13, mustWeights(t, m, "dense_1")[0].Data, mustWeights(t, m, "dense_1")[1].Data, 10, math.Tanh, false))
	return refDense(h, rows, 10, mustWeights(t, m, "dense_2")[0].Data, mustWeights(t, m, "dense_2")[1].Data, 7, nil, true)
}

func TestPredictChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := randTensor(rng, 101, 3, 11)
	for _, b := range testBackends(t) {
		m := mlp(t, b)
		want := mlpRef(t, m, x)
		one, err := m.PredictWith(x, PredictOptions{BatchSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, b.Name()+" one batch", one, []int{101, 3, 7}, want, 1e-5)
		for _, o := range []PredictOptions{{}, {BatchSize: 1}, {BatchSize: 7}, {BatchSize: 100}, {MaxBytes: 1}, {MaxBytes: 3 * 13 * 4 * 2 * 5}} {
			got, err := m.PredictWith(x, o)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, fmt.Sprintf("%s %+v", b.Name(), o), got, []int{101, 3, 7}, want, 1e-5)
			if e := relErr(got.Data, float64s(one.Data)); e > 1e-6 {
				t.Errorf("%s %+v: chunks differ from one batch by %.3g", b.Name(), o, e)
			}
		}
	}
}

// PredictInto writes into the caller's slice when it is large enough,
// allocates when it is not, gives Predict's numbers either way, and
// refuses an output that overlaps the input.
func TestPredictInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	x := randTensor(rng, 23, 3, 11)
	for _, b := range testBackends(t) {
		m := mlp(t, b)
		want := mlpRef(t, m, x)
		n := 23 * 3 * 7
		dst := make([]float32, n+5)
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
		for _, o := range []PredictOptions{{}, {BatchSize: 4}} {
			got, err := m.PredictInto(dst, x, o)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, fmt.Sprintf("%s into, %+v", b.Name(), o), got, []int{23, 3, 7}, want, 1e-5)
			if len(got.Data) != n || &got.Data[0] != &dst[0] {
				t.Errorf("%s: the result (%d values) is not dst[:%d]", b.Name(), len(got.Data), n)
			}
			if !math.IsNaN(float64(dst[n])) {
				t.Errorf("%s: PredictInto wrote past the result", b.Name())
			}
		}
		small := make([]float32, 10, n-1)
		got, err := m.PredictInto(small, x, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, b.Name()+" into a short slice", got, []int{23, 3, 7}, want, 1e-5)
		if &got.Data[0] == &small[:1][0] {
			t.Errorf("%s: wrote into a slice whose capacity is %d, want a new one for %d values", b.Name(), cap(small), n)
		}
		got, err = m.PredictInto(nil, x, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, b.Name()+" into nil", got, []int{23, 3, 7}, want, 1e-5)
		// An output that shares memory with the input is refused.
		buf := make([]float32, len(x.Data)+n)
		copy(buf, x.Data)
		xs := Tensor{Shape: x.Shape, Data: buf[:len(x.Data)]}
		if _, err := m.PredictInto(buf[len(x.Data)-1:], xs, PredictOptions{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "overlaps") {
			t.Errorf("%s: an output overlapping the input: %v, want ErrInvalid", b.Name(), err)
		}
		// A slice too short for the result is not used, wherever it lies.
		if got, err = m.PredictInto(buf[len(x.Data)-2:len(x.Data)-1:len(x.Data)], xs, PredictOptions{BatchSize: 5}); err != nil {
			t.Errorf("%s: a short output slice whose capacity overlaps the input: %v", b.Name(), err)
		}
		got, err = m.PredictInto(buf[len(x.Data):], xs, PredictOptions{})
		if err != nil {
			t.Fatalf("%s: an output right after the input: %v", b.Name(), err)
		}
		checkClose(t, b.Name()+" into the slice after the input", got, []int{23, 3, 7}, want, 1e-5)
	}
}

func float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// The seed model on every backend, against float64; with the same weights
// every backend agrees with the first (the fallback) within 1e-5.
func TestPredictSeedModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := randTensor(rng, 3, 32, 32, 3)
	m := seedModel(t)
	w0, w1 := mustWeights(t, m, "dense"), mustWeights(t, m, "dense_1")
	h := to32(refDense(x.Data, 3*32*32, 3, w0[0].Data, w0[1].Data, 512, relu, false))
	want := refDense(h, 3*32*32, 512, w1[0].Data, w1[1].Data, 10, nil, true)
	var first []float32
	for _, b := range testBackends(t) {
		if err := m.Build(b); err != nil {
			t.Fatal(err)
		}
		y, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, b.Name(), y, []int{3, 32, 32, 10}, want, 1e-5)
		if first == nil {
			first = y.Data
		} else if e := relErr(y.Data, float64s(first)); e > 1e-5 {
			t.Errorf("%s differs from the first backend by %.3g", b.Name(), e)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPredictConcurrent(t *testing.T) {
	for _, b := range testBackends(t) {
		m := mlp(t, b)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 9))
				for it := 0; it < 5; it++ {
					x := randTensor(rng, 1+rng.IntN(70), 3, 11)
					y, err := m.PredictWith(x, PredictOptions{BatchSize: 1 + rng.IntN(40)})
					if err != nil {
						errs <- err
						return
					}
					if e := relErr(y.Data, mlpRef(t, m, x)); e > 1e-5 {
						errs <- fmt.Errorf("goroutine %d: relative error %.3g", g, e)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// Predict while another goroutine sets weights: every result is the output
// of one complete set of weights.
func TestPredictDuringSetWeights(t *testing.T) {
	for _, b := range testBackends(t) {
		m := build(t, b, Dense{Units: 2, NoBias: true, InputShape: []int{2}})
		x := Tensor{Shape: []int{1, 2}, Data: []float32{1, 1}}
		if err := m.SetWeights("dense", []Tensor{NewTensor(2, 2)}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		stop := make(chan struct{})
		go func() {
			defer wg.Done()
			defer close(stop)
			for i := 0; i < 200; i++ {
				v := float32(i % 7)
				if err := m.SetWeights("dense", []Tensor{{Shape: []int{2, 2}, Data: []float32{v, v, v, v}}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				y, err := m.Predict(x)
				if err != nil {
					t.Error(err)
					return
				}
				if y.Data[0] != y.Data[1] || math.Mod(float64(y.Data[0]), 2) != 0 {
					t.Errorf("torn weights: %v", y.Data)
					return
				}
			}
		}()
		wg.Wait()
	}
}

func TestPredictBadInput(t *testing.T) {
	for _, b := range testBackends(t) {
		m := mlp(t, b)
		for _, c := range []struct {
			name string
			x    Tensor
			want string
		}{
			{"nil", Tensor{}, "no shape"},
			{"short data", Tensor{Shape: []int{2, 3, 11}, Data: make([]float32, 65)}, "needs 66 values, but its data has 65"},
			{"negative axis", Tensor{Shape: []int{-1, 3, 11}}, "negative"},
			{"wrong last axis", NewTensor(2, 3, 12), `layer "dense" is incompatible with the layer: expected axis -1 of input shape to have value 11, but received input with shape (None, 3, 12)`},
			{"wrong middle axis", NewTensor(2, 4, 11), `layer "sequential" is incompatible with the layer: expected shape=(None, 3, 11), found shape=(None, 4, 11)`},
			{"wrong rank", NewTensor(2, 33), `expected shape=(None, 3, 11), found shape=(None, 33)`},
		} {
			_, err := m.Predict(c.x)
			if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v\nwant ErrShape containing %s", c.name, err, c.want)
			}
		}
		// An empty batch gives an empty result of the right shape.
		y, err := m.Predict(Tensor{Shape: []int{0, 3, 11}})
		if err != nil || !slices.Equal(y.Shape, []int{0, 3, 7}) || len(y.Data) != 0 {
			t.Errorf("empty batch: %v, %v", y, err)
		}
		// NaN propagates to its own sample's rows only.
		x := randTensor(rand.New(rand.NewPCG(5, 5)), 2, 3, 11)
		x.Data[0] = float32(math.NaN())
		y, err = m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range y.Data {
			if (i < 7) != math.IsNaN(float64(v)) {
				t.Fatalf("element %d = %v: NaN must fill the first row only", i, v)
			}
		}
		if _, err := m.PredictWith(x, PredictOptions{BatchSize: -1}); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative batch size: %v", err)
		}
	}
	// No layers, and Predict before Build.
	var empty Sequential
	if _, err := empty.Predict(NewTensor(1, 2)); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("no layers: %v", err)
	}
	if err := empty.Build(Fallback()); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("build with no layers: %v", err)
	}
	m, _ := NewSequential(Dense{Units: 2, InputShape: []int{2}})
	if _, err := m.Predict(NewTensor(1, 2)); !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "call Build") {
		t.Errorf("before build: %v", err)
	}
	if err := m.Build(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil backend: %v", err)
	}
}

// Without an input shape the first Predict builds the model, as Keras
// builds on its first batch; later calls must agree with it.
func TestPredictBuildsOnFirstCall(t *testing.T) {
	for _, b := range testBackends(t) {
		m := build(t, b, Dense{Units: 3, KernelInitializer: Init("ones", 0)}, Dense{Units: 2, Activation: "relu", KernelInitializer: Init("ones", 0)})
		if m.InputShape() != nil {
			t.Fatalf("input shape %v before data", m.InputShape())
		}
		y, err := m.Predict(Tensor{Shape: []int{1, 4, 2}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8}})
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "first call", y, []int{1, 4, 2}, []float64{9, 9, 21, 21, 33, 33, 45, 45}, 0)
		if got := pyshape.Tuple(m.OutputShape()); got != "(None, 4, 2)" {
			t.Errorf("output shape %s", got)
		}
		_, err = m.Predict(NewTensor(1, 4, 3))
		if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), `layer "dense" is incompatible with the layer: expected axis -1 of input shape to have value 2, but received input with shape (None, 4, 3)`) {
			t.Errorf("second call with another last axis: %v", err)
		}
		m2 := build(t, b, Dense{Units: 3})
		if _, err := m2.Predict(NewTensor(5)); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "expected min_ndim=2, found ndim=1") {
			t.Errorf("rank 1: %v", err)
		}
	}
}

// Flatten, Reshape, Dropout and Activation run between Dense layers.
func TestPredictShapedModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	x := randTensor(rng, 9, 3, 4)
	for _, b := range testBackends(t) {
		m := build(t, b,
			Flatten{InputShape: []int{3, 4}},
			Dense{Units: 6, Activation: "tanh", BiasInitializer: Init("random_uniform", 1)},
			Dropout{Rate: 0.5},
			Reshape{TargetShape: []int{2, -1}},
			Dense{Units: 5, NoBias: true},
			Activation{Activation: "log_softmax"},
		)
		y, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		w0, w1 := mustWeights(t, m, "dense"), mustWeights(t, m, "dense_1")
		h := to32(refDense(x.Data, 9, 12, w0[0].Data, w0[1].Data, 6, math.Tanh, false))
		want := refDense(h, 18, 3, w1[0].Data, nil, 5, nil, true)
		for i := range want {
			want[i] = math.Log(want[i])
		}
		checkClose(t, b.Name(), y, []int{9, 2, 5}, want, 1e-5)
	}
}

// TestPredictUncomparableBackend: a backend whose type cannot be compared
// with == (a struct holding a slice) predicts again from its cached plan
// without a panic.
func TestPredictUncomparableBackend(t *testing.T) {
	type tagged struct {
		Backend
		tags []string
	}
	m, err := NewSequential(Dense{Units: 2, InputShape: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Build(tagged{Fallback(), []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	x := Tensor{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}
	for i := 0; i < 2; i++ {
		if _, err := m.Predict(x); err != nil {
			t.Fatalf("predict %d: %v", i, err)
		}
	}
}

// TestForwardUnknownAxis: Forward on a model whose per-sample shape has a
// None axis is an error, not a silent no-op.
func TestForwardUnknownAxis(t *testing.T) {
	m, err := NewSequential(InputLayer{Shape: []int{None, 3}}, Dense{Units: 2})
	if err != nil {
		t.Fatal(err)
	}
	b := Fallback()
	if err := m.Build(b); err != nil {
		t.Fatal(err)
	}
	x, err := b.Alloc(12)
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Alloc(8)
	if err != nil {
		t.Fatal(err)
	}
	err = m.Forward(x, y, 2, PredictOptions{})
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "(None, None, 3)") {
		t.Errorf("Forward with a None axis: %v, want ErrShape naming (None, None, 3)", err)
	}
}
