package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/internal/pyshape"
	"github.com/densecl/densecl/kernels"
)

// TestFusedChains runs random Dense chains on the OpenCL backend fused and
// layer by layer, and on the fallback: all three agree.
func TestFusedChains(t *testing.T) {
	bs := testBackends(t)
	if len(bs) < 2 {
		t.Skip("no OpenCL backend")
	}
	cl := bs[1]
	if _, ok := cl.(Fuser); !ok {
		t.Fatal("the OpenCL backend does not fuse")
	}
	r := rand.New(rand.NewPCG(9, 9))
	var names []string
	for k := kernels.ActKind(0); k.Valid(); k++ {
		names = append(names, kernels.Act(k).Kind.String())
	}
	names[kernels.GELUTanh] = "gelu" // the Keras name for the exact form; the tanh form has no Keras name
	outs := []string{"softmax", "log_softmax", ""}
	for i := 0; i < 12; i++ {
		k, h, n := 1+r.IntN(16), 1+r.IntN(1024), 1+r.IntN(64)
		if i == 0 {
			k, h, n = 3, 512, 10 // the seed model
		}
		act1 := names[(2*i)%len(names)]
		act2 := names[(2*i+1)%len(names)]
		if i%3 == 0 {
			act2 = outs[(i/3)%len(outs)]
		}
		layersList := []Layer{
			Dense{Units: h, Activation: act1, InputShape: []int{2, k}, KernelInitializer: Init("glorot_uniform", uint64(i))},
			Dense{Units: n, Activation: act2, NoBias: i%4 == 1, KernelInitializer: Init("glorot_uniform", uint64(i+100)), BiasInitializer: Init("random_uniform", uint64(i))},
		}
		if i%5 == 2 { // a third layer that runs alone
			layersList = append(layersList, Dense{Units: 3, Activation: "tanh", KernelInitializer: Init("glorot_uniform", 7)})
		}
		batch := 1 + r.IntN(20)
		x := Tensor{Shape: []int{batch, 2, k}, Data: densetest.Uniform(r, batch*2*k)}

		var results [3][]float32
		for j, run := range []struct {
			b       Backend
			unfused bool
		}{{cl, false}, {cl, true}, {Fallback(), false}} {
			m, err := NewSequential(layersList...)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Build(run.b); err != nil {
				t.Fatal(err)
			}
			y, err := m.PredictWith(x, PredictOptions{Unfused: run.unfused})
			if err != nil {
				t.Fatalf("chain %d (%d→%d→%d, %s, %s): %v", i, k, h, n, act1, act2, err)
			}
			results[j] = y.Data
			m.Close()
		}
		want := make([]float64, len(results[2]))
		for j, v := range results[2] {
			want[j] = float64(v)
		}
		for j, name := range []string{"fused", "layer by layer"} {
			if e := densetest.NormErr(results[j], want); !(e <= densetest.Tol) {
				t.Errorf("chain %d (%d→%d→%d, %s, %s): %s on OpenCL differs from the fallback by %.3g", i, k, h, n, act1, act2, name, e)
			}
		}
	}
}

// TestFusionRule checks which chains fuse.
func TestFusionRule(t *testing.T) {
	mk := func(in, units int, act string) *node {
		n, err := Dense{Units: units, Activation: act}.newNode()
		if err != nil {
			t.Fatal(err)
		}
		n.inDim = in
		return n
	}
	for _, c := range []struct {
		a, b *node
		want bool
	}{
		{mk(3, 512, "relu"), mk(512, 10, "softmax"), true},
		{mk(16, 1024, "gelu"), mk(1024, 64, ""), true},
		{mk(17, 512, "relu"), mk(512, 10, ""), false},       // input too wide
		{mk(3, 512, "relu"), mk(512, 65, ""), false},        // output too wide
		{mk(3, 512, "softmax"), mk(512, 10, ""), false},     // softmax needs the whole hidden row
		{mk(784, 512, "relu"), mk(512, 256, "gelu"), false}, // an MLP: layer by layer
	} {
		if _, got := dense2(c.a, c.b, 8); got != c.want {
			t.Errorf("%d→%d (%s) → %d (%v): fuses %v, want %v", c.a.inDim, c.a.units, c.a.act.elem.Kind, c.b.units, c.b.act.soft, got, c.want)
		}
	}
}

// TestForward checks that Forward on backend buffers gives Predict's
// numbers and leaves its input alone, for models that end in a view, an
// activation layer, or a fused pair.
func TestForward(t *testing.T) {
	for _, b := range testBackends(t) {
		for _, ls := range [][]Layer{
			{Dense{Units: 8, Activation: "relu", InputShape: []int{4, 3}, KernelInitializer: Init("glorot_uniform", 1)}, Dense{Units: 5, Activation: "softmax", KernelInitializer: Init("glorot_uniform", 2)}},
			{Activation{Activation: "tanh", InputShape: []int{6}}, Dense{Units: 4, KernelInitializer: Init("glorot_uniform", 3)}, Flatten{}},
			{Flatten{InputShape: []int{2, 3}}, Activation{Activation: "sigmoid"}},
			{Reshape{TargetShape: []int{3, 2}, InputShape: []int{6}}},
		} {
			m, err := NewSequential(ls...)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Build(b); err != nil {
				t.Fatal(err)
			}
			in := pyshape.Elements(m.InputShape()[1:])
			out := pyshape.Elements(m.OutputShape()[1:])
			x := Tensor{Shape: append([]int{3}, m.InputShape()[1:]...), Data: densetest.Uniform(rand.New(rand.NewPCG(1, 2)), 3*in)}
			want, err := m.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			xb, _ := b.Alloc(3 * in)
			yb, _ := b.Alloc(3 * out)
			b.Upload(xb, 0, x.Data)
			if err := m.Forward(xb, yb, 3, PredictOptions{}); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, 3*out)
			xs := make([]float32, 3*in)
			b.Download(got, yb, 0)
			b.Download(xs, xb, 0)
			for i := range got {
				if got[i] != want.Data[i] {
					t.Fatalf("%s %v: Forward %v, Predict %v", b.Name(), m.OutputShape(), got, want.Data)
				}
			}
			for i := range xs {
				if xs[i] != x.Data[i] {
					t.Fatalf("%s: Forward changed its input", b.Name())
				}
			}
			if err := m.Forward(xb, yb, 4, PredictOptions{}); err == nil {
				t.Errorf("%s: a batch larger than the buffers: no error", b.Name())
			}
			b.Release(xb)
			b.Release(yb)
			m.Close()
		}
	}
}

// allocCounter is a backend that records the largest buffer allocated
// and the fused launches; with refuse set, it declines every fusion.
type allocCounter struct {
	Backend
	largest int
	fused   int
	refuse  bool
}

func (a *allocCounter) Alloc(n int) (Buffer, error) {
	a.largest = max(a.largest, n)
	return a.Backend.Alloc(n)
}

func (a *allocCounter) Fuses(f kernels.Dense2) bool { return !a.refuse && a.Backend.(Fuser).Fuses(f) }

func (a *allocCounter) Dense2(f kernels.Dense2, x, w1, b1, w2, b2, y Buffer) error {
	a.fused++
	return a.Backend.(Fuser).Dense2(f, x, w1, b1, w2, b2, y)
}

// TestFusedWorkspace checks that a fused hidden layer gets no buffer: the
// seed model's Predict allocates nothing 512 wide per row. Unfused, by the
// caller's choice or the backend's, the hidden layer has a buffer and no
// fused kernel runs. Whether the seed model's pair fuses is the device's
// call (Fuses): where it does not, every case runs unfused.
func TestFusedWorkspace(t *testing.T) {
	bs := testBackends(t)
	if len(bs) < 2 {
		t.Skip("no OpenCL backend")
	}
	fuses := bs[1].(Fuser).Fuses(kernels.Dense2{M: 1, K: 3, H: 512, N: 10, Bias1: true, Bias2: true,
		Act1: kernels.Act(kernels.ReLU), Softmax: kernels.SoftmaxOn})
	if !fuses {
		t.Logf("%s does not fuse the seed model's pair: every case runs unfused", bs[1].Name())
	}
	for _, c := range []struct{ unfused, refuse bool }{{false, false}, {true, false}, {false, true}} {
		unfused := c.unfused || c.refuse || !fuses
		b := &allocCounter{Backend: bs[1], refuse: c.refuse}
		m, err := NewSequential(Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}}, Dense{Units: 10, Activation: "softmax"})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Build(b); err != nil {
			t.Fatal(err)
		}
		b.largest = 0
		if _, err := m.PredictWith(NewTensor(2, 32, 32, 3), PredictOptions{Unfused: c.unfused}); err != nil {
			t.Fatal(err)
		}
		hidden := 2 * 1024 * 512
		if got := b.largest >= hidden; got != unfused {
			t.Errorf("%+v: largest buffer %d floats (the hidden layer is %d)", c, b.largest, hidden)
		}
		if (b.fused > 0) == unfused {
			t.Errorf("%+v: %d fused launches", c, b.fused)
		}
		m.Close()
	}
}
