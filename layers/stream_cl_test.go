package layers

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// TestPredictStreamed runs the streaming executor on the OpenCL device
// (on PoCL, where it is forced, as EnvPredict=stream does) against the
// fallback: the seed model (a fused pair where the device fuses) and an
// MLP, batches and chunk sizes that leave short last chunks and one to
// many chunks, outputs poisoned with NaN, repeated calls on one model.
func TestPredictStreamed(t *testing.T) {
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL is set")
	}
	b := streamingTest(openCLTest(t))
	rng := rand.New(rand.NewPCG(31, 31))
	models := []struct {
		name string
		mk   func(Backend) *Sequential
		in   []int
	}{
		{"seed", func(b Backend) *Sequential {
			return build(t, b, Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}, KernelInitializer: Init("glorot_uniform", 1), BiasInitializer: Init("random_uniform", 2)},
				Dense{Units: 10, Activation: "softmax", KernelInitializer: Init("glorot_uniform", 3), BiasInitializer: Init("random_uniform", 4)})
		}, []int{32, 32, 3}},
		{"mlp", func(b Backend) *Sequential { return mlp(t, b) }, []int{3, 11}},
	}
	for _, md := range models {
		m, ref := md.mk(b), md.mk(Fallback())
		p, err := m.planFor(append([]int{1}, md.in...), PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.exec.name() != pathStream {
			t.Fatalf("%s: executor %s, want stream", md.name, p.exec.name())
		}
		for _, s := range []struct{ batch, chunk int }{{1, 0}, {3, 1}, {7, 3}, {17, 4}, {33, 0}, {5, 5}, {7, 3}} {
			if md.name == "seed" && s.batch > 7 {
				continue // keep the test short on a CPU
			}
			x := randTensor(rng, append([]int{s.batch}, md.in...)...)
			want, err := ref.PredictWith(x, PredictOptions{BatchSize: s.chunk})
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]float32, len(want.Data))
			for i := range dst {
				dst[i] = float32(math.NaN())
			}
			got, err := m.PredictInto(dst, x, PredictOptions{BatchSize: s.chunk})
			if err != nil {
				t.Fatalf("%s, batch %d, chunk %d: %v", md.name, s.batch, s.chunk, err)
			}
			if e := relErr(got.Data, float64s(want.Data)); !(e <= 1e-5) {
				t.Errorf("%s, batch %d, chunk %d: differs from the fallback by %.3g", md.name, s.batch, s.chunk, e)
			}
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEnvPredict checks that EnvPredict, read by OpenCL, picks the
// executor whatever the device would choose.
func TestEnvPredict(t *testing.T) {
	if os.Getenv("DENSECL_TEST_NO_OPENCL") != "" {
		t.Skip("DENSECL_TEST_NO_OPENCL is set")
	}
	dev := openCLTest(t).(clBackend).Device()
	for _, c := range []struct{ env, exec string }{{"stream", pathStream}, {"copy", pathCopy}, {"host", pathHost}} {
		t.Setenv(EnvPredict, c.env)
		m := mlp(t, OpenCL(dev))
		p, err := m.planFor([]int{2, 3, 11}, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.exec.name() != c.exec {
			t.Errorf("%s=%s: executor %s, want %s", EnvPredict, c.env, p.exec.name(), c.exec)
		}
		if _, err := m.Predict(NewTensor(5, 3, 11)); err != nil {
			t.Errorf("%s=%s: %v", EnvPredict, c.env, err)
		}
		m.Close()
	}
	t.Setenv(EnvPredict, "")
	want := pathStream
	if dev.ZeroCopy() {
		want = pathHost
	}
	m := mlp(t, OpenCL(dev))
	defer m.Close()
	p, err := m.planFor([]int{2, 3, 11}, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.exec.name() != want {
		t.Errorf("%s unset on %s (zero copy %v): executor %s, want %s", EnvPredict, dev, dev.ZeroCopy(), p.exec.name(), want)
	}
}
