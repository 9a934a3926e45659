package layers

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/kernels"
)

// anyRows is the OpenCL backend with the chain crossover lifted, so that
// the rule chains at every batch of the tests.
type anyRows struct{ clBackend }

func (anyRows) ChainMaxRows(kernels.Chain) int { return 1 << 20 }

// runWithChains runs m's nodes on b for c samples of x as Predict will
// once the chain steps are in its list: each step as one kernel, the rest
// layer by layer (Dense as a product and its softmax; views move
// nothing). It returns the output.
func runWithChains(t *testing.T, m *Sequential, b Backend, steps []chainStep, c int, x []float32, outPer int) []float32 {
	t.Helper()
	p, err := m.planFor(append([]int{c}, m.inShape...), PredictOptions{Unfused: true})
	if err != nil {
		t.Fatal(err)
	}
	src, err := b.Alloc(len(x))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(src, 0, x); err != nil {
		t.Fatal(err)
	}
	inPer := p.inPer
	for i := 0; i < len(m.nodes); i++ {
		n := m.nodes[i]
		var step *chainStep
		for k := range steps {
			if steps[k].first == i {
				step = &steps[k]
			}
		}
		if step == nil && n.kind != kindDense {
			inPer = p.per[i]
			continue
		}
		if n.kind != kindDense {
			t.Fatalf("node %d: a chain starts at a %s", i, n.class)
		}
		last := i
		if step != nil {
			last = step.last()
		}
		dst, err := b.Alloc(c * p.per[last])
		if err != nil {
			t.Fatal(err)
		}
		if step != nil {
			if err := step.runChain(c, src, dst); err != nil {
				t.Fatal(err)
			}
		} else {
			rows := c * inPer / n.inDim
			g := kernels.Gemm{M: rows, N: n.units, K: n.inDim, Alpha: 1, Bias: n.useBias, Act: n.act.elem}
			if err := b.Gemm(g, src, n.kernBuf, dst, n.biBuf); err != nil {
				t.Fatal(err)
			}
			if n.act.soft != noSoftmax {
				s := kernels.Softmax{Rows: rows, Cols: n.units, Log: n.act.soft == logSoftmaxAxis}
				if err := b.Softmax(s, dst, dst); err != nil {
					t.Fatal(err)
				}
			}
		}
		b.Release(src)
		src = dst
		i = last
		inPer = p.per[last]
	}
	out := make([]float32, c*outPer)
	if err := b.Download(out, src, 0); err != nil {
		t.Fatal(err)
	}
	b.Release(src)
	return out
}

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
// at 1, 2, 7 and 33 samples, and that the chains give the fallback's
// results (the kernels' own tests, device/chain_test.go, check many more
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
		r := rand.New(rand.NewPCG(24, 24))
		for _, mc := range chainModels() {
			check := strings.Contains(mc.forms, form.String())
			t.Run(fmt.Sprintf("%s/%s", form, mc.name), func(t *testing.T) {
				ls := append([]Layer{}, mc.ls...)
				first := ls[0].(Dense)
				first.InputShape = mc.in
				ls[0] = first
				m, err := NewSequential(ls...)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := NewSequential(ls...)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Build(b); err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if err := ref.Build(Fallback()); err != nil {
					t.Fatal(err)
				}
				for _, samples := range []int{1, 2, 7, 33} {
					p, err := m.planFor(append([]int{samples}, m.inShape...), PredictOptions{})
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
					if !check || (form == device.Dense2GPU && samples != 1 && samples != 33) {
						continue // the GPU form builds a program per rows per group
					}
					x := densetest.Uniform(r, samples*p.inPer)
					out := runWithChains(t, m, b, steps, samples, x, p.outPer)
					want, err := ref.Predict(Tensor{Shape: append([]int{samples}, mc.in...), Data: x})
					if err != nil {
						t.Fatal(err)
					}
					w64 := make([]float64, len(want.Data))
					for i, v := range want.Data {
						w64[i] = float64(v)
					}
					if e := densetest.NormErr(out, w64); !(e <= densetest.Tol) {
						t.Errorf("%d samples: error %.3g against the fallback", samples, e)
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
