package layers

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/densetest"
	"github.com/densecl/densecl/internal/pyshape"
)

// TestFusedChainsGPUForm runs chains through Predict on the OpenCL device
// with the GPU form of the fused pair forced (on PoCL: the GPU kernel on
// the CPU): pairs within the widths fuse, the others run layer by layer,
// and both agree with the fallback and with the unfused path.
func TestFusedChainsGPUForm(t *testing.T) {
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL set")
	}
	d, err := device.Open("")
	if err != nil {
		t.Fatalf("opening the OpenCL device: %v", err)
	}
	defer d.Close()
	if err := d.SetDense2Form(device.Dense2GPU); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(16, 16))
	for _, c := range []struct {
		name  string
		in    []int
		ls    []Layer
		fused bool
	}{
		{"seed", []int{32, 32, 3}, []Layer{
			Dense{Units: 512, Activation: "relu", KernelInitializer: Init("glorot_uniform", 1)},
			Dense{Units: 10, Activation: "softmax", KernelInitializer: Init("glorot_uniform", 2), BiasInitializer: Init("random_uniform", 3)}}, true},
		{"widest, then a layer alone", []int{2, 16}, []Layer{
			Dense{Units: 100, Activation: "gelu", KernelInitializer: Init("glorot_uniform", 4), BiasInitializer: Init("random_uniform", 5)},
			Dense{Units: 64, Activation: "elu", KernelInitializer: Init("glorot_uniform", 6)},
			Dense{Units: 3, Activation: "tanh", KernelInitializer: Init("glorot_uniform", 7)}}, true},
		{"output too wide", []int{5}, []Layer{
			Dense{Units: 40, Activation: "sigmoid", KernelInitializer: Init("glorot_uniform", 8)},
			Dense{Units: 65, Activation: "log_softmax", KernelInitializer: Init("glorot_uniform", 9)}}, false},
	} {
		batch := 2
		x := Tensor{Shape: append([]int{batch}, c.in...), Data: densetest.Uniform(r, batch*pyshape.Elements(c.in))}
		var results [3][]float32
		for j, run := range []struct {
			b       Backend
			unfused bool
		}{{OpenCL(d), false}, {OpenCL(d), true}, {Fallback(), false}} {
			counter := &allocCounter{Backend: run.b}
			ls := append([]Layer{}, c.ls...)
			first := ls[0].(Dense)
			first.InputShape = c.in
			ls[0] = first
			m, err := NewSequential(ls...)
			if err != nil {
				t.Fatal(err)
			}
			var b Backend = counter
			if _, ok := run.b.(Fuser); !ok {
				b = run.b
			}
			if err := m.Build(b); err != nil {
				t.Fatal(err)
			}
			y, err := m.PredictWith(x, PredictOptions{Unfused: run.unfused})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if j == 0 && (counter.fused > 0) != c.fused {
				t.Errorf("%s: %d fused launches, want fused %v", c.name, counter.fused, c.fused)
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
				t.Errorf("%s: %s on OpenCL differs from the fallback by %.3g", c.name, name, e)
			}
		}
	}
}
