package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/densecl/densecl/cl"
	"github.com/densecl/densecl/device"
)

// BenchmarkPredictSmall runs PredictInto at batch 1 on the MNIST-sized
// MLP (784-512 relu-256 gelu-10 softmax) and the seed model on the
// default OpenCL device: the latency of one small request, where the
// launches and the host side of Predict cost more than the arithmetic.
func BenchmarkPredictSmall(b *testing.B) {
	dev, err := device.Open("")
	if err != nil {
		b.Skipf("no OpenCL device: %v", err)
	}
	defer dev.Close()
	be := OpenCL(dev)
	for _, c := range smallModels() {
		m, err := NewSequential(c.layers...)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Build(be); err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1} {
			shape := append([]int{batch}, m.InputShape()[1:]...)
			x := randTensor(rand.New(rand.NewPCG(1, 1)), shape...)
			b.Run(c.name, func(b *testing.B) {
				y, err := m.PredictInto(nil, x, PredictOptions{})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if y, err = m.PredictInto(y.Data, x, PredictOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

type smallModel struct {
	name   string
	layers []Layer
}

func smallModels() []smallModel {
	return []smallModel{
		{"mlp", []Layer{
			Dense{Units: 512, Activation: "relu", InputShape: []int{784}},
			Dense{Units: 256, Activation: "gelu"},
			Dense{Units: 10, Activation: "softmax"},
		}},
		{"seed", []Layer{
			Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
			Dense{Units: 10, Activation: "softmax"},
		}},
	}
}

// TestPredictIntoAllocs checks that PredictInto makes no Go allocation in
// steady state (the same input slice, a destination that holds the
// result) on every OpenCL executor: in place on host memory, with plain
// copies, and streaming through pinned staging memory with events (run
// on PoCL as on a GPU), on models that run a fused pair, products with a
// separate softmax, an activation layer, and views. (The fallback's
// products go through gonum, whose parallel Sgemm allocates.) The results
// are checked against the fallback each time, the input changed between
// calls in place, so that a wrapped input buffer kept from the previous
// call must see the host's writes. Where streaming, the OpenCL events
// alive after the calls must be as many as before (cl.Live): each event
// of a call is released once.
func TestPredictIntoAllocs(t *testing.T) {
	models := append(smallModels(), smallModel{"views+activation", []Layer{
		Flatten{InputShape: []int{4, 5}},
		Dense{Units: 7, Activation: "tanh"},
		Activation{Activation: "softmax"},
		Dropout{Rate: 0.5},
	}})
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL is set: there is no OpenCL executor to check")
	}
	cb := openCLTest(t)
	for _, be := range []Backend{cb, copyingTest(cb), streamingTest(cb)} {
		for _, c := range models {
			for _, batch := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%s/%d", be.Name(), c.name, batch), func(t *testing.T) {
					checkPredictAllocs(t, be, c, batch)
				})
			}
		}
	}
}

func checkPredictAllocs(t *testing.T, be Backend, c smallModel, batch int) {
	m, err := NewSequential(c.layers...)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Build(be); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ref, err := NewSequential(c.layers...)
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	for _, n := range m.nodes {
		if n.kind == kindDense {
			if err := ref.SetWeights(n.name, mustWeights(t, m, n.name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(uint64(batch), 7))
	x := randTensor(rng, append([]int{batch}, m.InputShape()[1:]...)...)
	y, err := m.PredictInto(nil, x, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for i := range x.Data {
			x.Data[i] = float32(2*rng.Float64() - 1)
		}
		for i := range y.Data {
			y.Data[i] = float32(math.NaN())
		}
		if y, err = m.PredictInto(y.Data, x, PredictOptions{}); err != nil {
			t.Fatal(err)
		}
		want, err := ref.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(y.Data, float64s(want.Data)); !(e < 1e-5) {
			t.Fatalf("round %d: relative error %g against the fallback", round, e)
		}
	}
	_, events := cl.Live()
	allocs := testing.AllocsPerRun(20, func() {
		if y, err = m.PredictInto(y.Data, x, PredictOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("PredictInto made %v allocations per call in steady state, want 0", allocs)
	}
	if _, now := cl.Live(); now != events {
		t.Errorf("%d OpenCL events alive after 21 calls, %d before", now, events)
	}

	// New weights: the prepared steps must not run the old ones.
	for _, n := range m.nodes {
		if n.kind != kindDense {
			continue
		}
		w := mustWeights(t, m, n.name)
		for i := range w {
			for j := range w[i].Data {
				w[i].Data[j] = float32(2*rng.Float64() - 1)
			}
		}
		if err := m.SetWeights(n.name, w); err != nil {
			t.Fatal(err)
		}
		if err := ref.SetWeights(n.name, w); err != nil {
			t.Fatal(err)
		}
	}
	if y, err = m.PredictInto(y.Data, x, PredictOptions{}); err != nil {
		t.Fatal(err)
	}
	want, err := ref.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	if e := relErr(y.Data, float64s(want.Data)); !(e < 1e-5) {
		t.Fatalf("after SetWeights: relative error %g against the fallback", e)
	}
}

// TestPredictIntoVaryingBatch cycles PredictInto through every batch size
// from 1 to 64, as a dynamic batcher sends them, on every OpenCL
// executor: after one warm-up cycle, a cycle makes no Go allocation and
// no plan is made again (each batch size keeps its plan), and results
// match the fallback's.
func TestPredictIntoVaryingBatch(t *testing.T) {
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL is set: there is no OpenCL executor to check")
	}
	const maxBatch = 64
	cb := openCLTest(t)
	layers := []Layer{
		Dense{Units: 16, Activation: "relu", InputShape: []int{12}},
		Dense{Units: 8, Activation: "tanh"},
		Dense{Units: 5, Activation: "softmax"},
	}
	for _, be := range []Backend{cb, copyingTest(cb), streamingTest(cb)} {
		t.Run(be.Name(), func(t *testing.T) {
			m, err := NewSequential(layers...)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Build(be); err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ref, err := NewSequential(layers...)
			if err != nil {
				t.Fatal(err)
			}
			if err := ref.Build(Fallback()); err != nil {
				t.Fatal(err)
			}
			for _, n := range m.nodes {
				if err := ref.SetWeights(n.name, mustWeights(t, m, n.name)); err != nil {
					t.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(64, 1))
			in := randTensor(rng, maxBatch, 12)
			out := make([]float32, maxBatch*5)
			want, err := ref.Predict(in)
			if err != nil {
				t.Fatal(err)
			}
			xs := make([]Tensor, maxBatch+1)
			for b := range xs {
				xs[b] = Tensor{Shape: []int{b, 12}, Data: in.Data[:b*12]}
			}
			x := func(b int) Tensor { return xs[b] }
			plans := make([]*plan, maxBatch+1)
			for b := 1; b <= maxBatch; b++ {
				y, err := m.PredictInto(out, x(b), PredictOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if e := relErr(y.Data, float64s(want.Data[:b*5])); !(e < 1e-5) {
					t.Fatalf("batch %d: relative error %g against the fallback", b, e)
				}
				if plans[b], err = m.planFor(x(b).Shape, PredictOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			b := 0
			allocs := testing.AllocsPerRun(2*maxBatch, func() {
				b = b%maxBatch + 1
				if _, err = m.PredictInto(out, x(b), PredictOptions{}); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("PredictInto made %v allocations per call cycling batch sizes 1 to %d, want 0", allocs, maxBatch)
			}
			for b := 1; b <= maxBatch; b++ {
				if p, _ := m.planFor(x(b).Shape, PredictOptions{}); p != plans[b] {
					t.Errorf("batch %d: its plan was made again", b)
					break
				}
			}

			// A short last chunk runs the steps prepared for its size:
			// the same bits as the plain calls give.
			got := make([]float32, len(out))
			for b := 1; b <= maxBatch; b++ {
				if _, err := m.PredictInto(got, x(b), PredictOptions{}); err != nil {
					t.Fatal(err)
				}
				preparedTails = false
				_, err := m.PredictInto(out, x(b), PredictOptions{})
				preparedTails = true
				if err != nil {
					t.Fatal(err)
				}
				for i := range b * 5 {
					if math.Float32bits(got[i]) != math.Float32bits(out[i]) {
						t.Fatalf("batch %d: element %d is %v with the last chunk prepared, %v through the plain calls", b, i, got[i], out[i])
					}
				}
			}
		})
	}
}
