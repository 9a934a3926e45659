package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/internal/pyshape"
	"github.com/densecl/densecl/kernels"
)

// anyRows is the OpenCL backend with the chain crossover lifted, so that
// the rule chains at every batch of the tests.
type anyRows struct{ clBackend }

func (anyRows) ChainMaxRows(kernels.Chain) int { return 1 << 20 }

// chainModels are the models of the chain rule's tests, with the chains
// each should make ([first, count] per chain) when every row count
// qualifies, and the forms whose results the test checks ("" none: the
// rule alone), so that the suite builds few programs.
func chainModels() []struct {
	name   string
	in     []int
	ls     []Layer
	chains [][2]int
	forms  string
} {
	dense := func(units int, act string, seed uint64) Layer {
		return Dense{Units: units, Activation: act, KernelInitializer: Init("glorot_uniform", seed), BiasInitializer: Init("random_uniform", seed+100)}
	}
	deep := []Layer{}
	for i := 0; i < 10; i++ {
		deep = append(deep, dense(17+i, []string{"relu", "tanh", "gelu"}[i%3], uint64(20+i)))
	}
	return []struct {
		name   string
		in     []int
		ls     []Layer
		chains [][2]int
		forms  string
	}{
		{"mlp", []int{784}, []Layer{dense(512, "relu", 1), dense(256, "gelu", 2), dense(10, "softmax", 3)}, [][2]int{{0, 3}}, "cpu"},
		{"softmax mid-way, dropout, lone layer", []int{13}, []Layer{
			dense(17, "elu", 4), dense(10, "log_softmax", 5), dense(7, "selu", 6), Dropout{Rate: 0.5},
			dense(3, "sigmoid", 7)}, [][2]int{{0, 2}}, "cpu"},
		{"ten layers: two launches", []int{3}, deep, [][2]int{{0, 8}, {8, 2}}, "cpu"},
		{"3-d input", []int{4, 5}, []Layer{dense(1, "linear", 8), dense(513, "mish", 9), dense(10, "softmax", 10)}, [][2]int{{0, 3}}, "cpu gpu"},
		{"seed pair", []int{4, 4, 3}, []Layer{dense(512, "relu", 13), dense(10, "softmax", 14)}, [][2]int{{0, 2}}, "cpu"},
		{"wider than a chain takes: a product alone", []int{3}, []Layer{dense(70000, "relu", 11), dense(2, "linear", 12)}, nil, ""},
	}
}

// TestPredictChainRule checks which layers the rule chains in both forms
// at 1, 2, 7 and 33 samples (TestPredictChains checks what Predict makes
// of them; the kernels' own tests, device/chain_test.go, check many more
// chains).
func TestPredictChainRule(t *testing.T) {
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL set")
	}
	for _, form := range []device.Dense2Form{device.Dense2CPU, device.Dense2GPU} {
		d, err := device.Open("")
		if err != nil {
			t.Fatalf("opening the OpenCL device: %v", err)
		}
		defer d.Close()
		if err := d.SetDense2Form(form); err != nil {
			t.Fatal(err)
		}
		b := anyRows{OpenCL(d).(clBackend)}
		for _, mc := range chainModels() {
			t.Run(fmt.Sprintf("%s/%s", form, mc.name), func(t *testing.T) {
				m := chainModel(t, b, mc.in, mc.ls)
				for _, samples := range []int{1, 2, 7, 33} {
					p, err := m.planFor(append([]int{samples}, m.inShape...), PredictOptions{Unfused: true})
					if err != nil {
						t.Fatal(err)
					}
					steps, err := m.planChains(b, samples, p.inPer, p.per)
					if err != nil {
						t.Fatal(err)
					}
					var got [][2]int
					for _, s := range steps {
						got = append(got, [2]int{s.first, s.count})
					}
					if fmt.Sprint(got) != fmt.Sprint(mc.chains) {
						t.Fatalf("%d samples: chains %v, want %v", samples, got, mc.chains)
					}
				}
			})
		}
	}
}

// chainModel builds a model of layers ls (the first a Dense) with input
// shape in on b, closed at the test's end.
func chainModel(t *testing.T, b Backend, in []int, ls []Layer) *Sequential {
	t.Helper()
	ls = append([]Layer{}, ls...)
	first := ls[0].(Dense)
	first.InputShape = in
	ls[0] = first
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

// The OpenCL backend's copying and streaming executors with the chain
// crossover lifted, as anyRows is its in-place one.
type (
	anyRowsCopy   struct{ copying }
	anyRowsStream struct{ streaming }
)

func (anyRowsCopy) ChainMaxRows(kernels.Chain) int   { return 1 << 20 }
func (anyRowsStream) ChainMaxRows(kernels.Chain) int { return 1 << 20 }

// chainSteps counts the chained steps of m's plan for inputs of shape.
func chainSteps(t *testing.T, m *Sequential, shape []int) int {
	t.Helper()
	p, err := m.planFor(shape, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range p.steps {
		if s.op == opChain && s.run != nil {
			n++
		}
	}
	return n
}

// TestPredictChains checks that Predict with its chains gives the
// fallback's results, and those of Predict unfused, within densetest.Tol,
// on every executor (in place on host memory, copying, streaming) with
// the crossover lifted so that every batch chains, on the device's own
// crossover (above it the seed pair runs as the fused pair, through its
// chain step), and in the GPU form: the models of chainModels at 1, 2, 7,
// 16, 17 and 33 samples, in the executors' default chunks (32 in place
// and copying, so that 33 ends with a chunk of one), the output poisoned with NaN before each call, each call twice
// (the second reuses the prepared plan).
func TestPredictChains(t *testing.T) {
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL set")
	}
	cb := openCLTest(t).(clBackend)
	gd, err := device.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer gd.Close()
	if err := gd.SetDense2Form(device.Dense2GPU); err != nil {
		t.Fatal(err)
	}
	gpu := anyRows{OpenCL(gd).(clBackend)}
	runs := []struct {
		name    string
		b       Backend
		exec    string
		forced  bool  // every batch chains
		batches []int // nil: all
	}{
		{"host", anyRows{cb}, pathHost, true, nil},
		{"copy", anyRowsCopy{copying{cb}}, pathCopy, true, nil},
		{"stream", anyRowsStream{streaming{cb}}, pathStream, true, nil},
		{"crossover", cb, pathHost, false, nil},
		{"gpu form", gpu, pathHost, true, []int{1, 33}}, // a program per rows per group
	}
	r := rand.New(rand.NewPCG(24, 33))
	for _, mc := range chainModels() {
		if mc.forms == "" {
			continue
		}
		ref := chainModel(t, Fallback(), mc.in, mc.ls)
		for _, run := range runs {
			if run.name == "gpu form" && !strings.Contains(mc.forms, "gpu") {
				continue
			}
			t.Run(mc.name+"/"+run.name, func(t *testing.T) {
				m := chainModel(t, run.b, mc.in, mc.ls)
				batches := run.batches
				if batches == nil {
					batches = []int{1, 2, 7, 16, 17, 33}
				}
				for _, batch := range batches {
					shape := append([]int{batch}, mc.in...)
					x := densetest.Uniform(r, pyshape.Elements(shape))
					want, err := ref.Predict(Tensor{Shape: shape, Data: x})
					if err != nil {
						t.Fatal(err)
					}
					w64 := float64s(want.Data)
					if p, err := m.planFor(shape, PredictOptions{}); err != nil {
						t.Fatal(err)
					} else if p.exec.name() != run.exec {
						t.Fatalf("executor %s, want %s", p.exec.name(), run.exec)
					}
					if got := chainSteps(t, m, shape); run.forced && got != len(mc.chains) {
						t.Errorf("%d samples: %d chained steps, want %d", batch, got, len(mc.chains))
					}
					for _, o := range []PredictOptions{{}, {}, {Unfused: true}} {
						dst := make([]float32, len(want.Data))
						for i := range dst {
							dst[i] = float32(math.NaN())
						}
						got, err := m.PredictInto(dst, Tensor{Shape: shape, Data: x}, o)
						if err != nil {
							t.Fatalf("%d samples, %+v: %v", batch, o, err)
						}
						if e := densetest.NormErr(got.Data, w64); !(e <= densetest.Tol) {
							t.Errorf("%d samples, %+v: error %.3g against the fallback", batch, o, e)
						}
					}
				}
			})
		}
	}
}

// TestPredictChainCrossover checks that the rule follows the backend's
// crossover: no chain above it, chains at and below it, and none on a
// backend that does not run chains.
func TestPredictChainCrossover(t *testing.T) {
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL set")
	}
	b := openCLTest(t).(clBackend)
	build := func(in []int, ls ...Layer) *Sequential {
		first := ls[0].(Dense)
		first.InputShape = in
		ls[0] = first
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
	chains := func(m *Sequential, samples int) int {
		p, err := m.planFor(append([]int{samples}, m.inShape...), PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		steps, err := m.planChains(b, samples, p.inPer, p.per)
		if err != nil {
			t.Fatal(err)
		}
		return len(steps)
	}
	// 20 inputs: wider than the fused pair takes, so the crossover rules.
	wide := build([]int{20}, Dense{Units: 17, Activation: "elu"}, Dense{Units: 10, Activation: "log_softmax"})
	limit := b.ChainMaxRows(kernels.Chain{K: 20, Layers: []kernels.ChainLayer{{Units: 17}, {Units: 10}}})
	if limit < 1 || limit > 1<<20 {
		t.Fatalf("ChainMaxRows() = %d on %s; want the record's crossover", limit, b.Name())
	}
	for _, c := range []struct{ samples, want int }{{1, 1}, {limit, 1}, {limit + 1, 0}} {
		if got := chains(wide, c.samples); got != c.want {
			t.Errorf("%d samples (crossover %d): %d chains, want %d", c.samples, limit, got, c.want)
		}
	}
	// The seed model's pair (3 channels, Dense(512), Dense(10)) is one
	// chain at every batch: above the crossover, the fused pair's kernel.
	seed := build([]int{4, 4, 3}, Dense{Units: 512, Activation: "relu"}, Dense{Units: 10, Activation: "softmax"})
	for _, samples := range []int{1, 33} {
		if got := chains(seed, samples); got != 1 {
			t.Errorf("seed pair, %d samples: %d chains, want 1", samples, got)
		}
	}
	fb, err := NewSequential(Dense{Units: 17, InputShape: []int{20}}, Dense{Units: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := fb.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	if steps, _ := fb.planChains(Fallback(), 1, 20, []int{17, 10}); len(steps) != 0 {
		t.Errorf("the fallback has %d chains, want none", len(steps))
	}
}

// TestPredictChainsAllocs checks that PredictInto allocates nothing in
// steady state where its plan runs chains (each prepared as one launch),
// in place and copying, at batches that chain on any device (the
// crossover lifted): the MLP as one chain, the seed model's pair as one.
func TestPredictChainsAllocs(t *testing.T) {
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL set")
	}
	cb := openCLTest(t).(clBackend)
	for _, be := range []Backend{anyRows{cb}, anyRowsCopy{copying{cb}}} {
		for _, c := range smallModels() {
			for _, batch := range []int{1, 7} {
				t.Run(fmt.Sprintf("%s/%s/%d", be.Name(), c.name, batch), func(t *testing.T) {
					m := chainModel(t, be, c.layers[0].(Dense).InputShape, c.layers)
					if n := chainSteps(t, m, append([]int{batch}, m.inShape...)); n != 1 {
						t.Fatalf("%d chained steps, want 1", n)
					}
					checkPredictAllocs(t, be, c, batch)
				})
			}
		}
	}
}

// TestPlanSharedAcrossBatches checks that the plan is keyed by what it
// depends on: every batch from the chunk size up shares one (a server
// that sends many batch sizes does not evict its plans), a smaller batch
// has its own, and each result still has its own batch's shape.
func TestPlanSharedAcrossBatches(t *testing.T) {
	m := mlp(t, Fallback())
	plans := map[int]*plan{}
	for _, batch := range []int{40, 64, 1000, 1, 5, 40} {
		p, err := m.planFor([]int{batch, 3, 11}, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		plans[batch] = p
		y, err := m.PredictInto(nil, NewTensor(batch, 3, 11), PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if y.Shape[0] != batch || len(y.Data) != batch*p.outPer {
			t.Errorf("batch %d: result of shape %v with %d values", batch, y.Shape, len(y.Data))
		}
	}
	if plans[40] != plans[64] || plans[40] != plans[1000] || plans[40].chunk != DefaultBatchSize {
		t.Errorf("batches 40, 64 and 1000: plans %p, %p, %p of chunk %d; want one of chunk %d",
			plans[40], plans[64], plans[1000], plans[40].chunk, DefaultBatchSize)
	}
	if plans[1] == plans[5] || plans[1] == plans[40] || plans[1].chunk != 1 || plans[5].chunk != 5 {
		t.Errorf("batches 1 and 5 share a plan, or one of the larger batches'")
	}
}
