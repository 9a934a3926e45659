package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/internal/pyshape"
)

// BenchmarkPredict runs the seed model at batch 16 and the MNIST-sized MLP
// at batch 256 on the default OpenCL device: end to end (Predict, host to
// host, and PredictInto, which reuses its output slice) and compute only
// (Forward on buffers already on the device). The differences are what the
// transfers, the host side of Predict and fresh output memory cost.
func BenchmarkPredict(b *testing.B) {
	dev, err := device.Open("")
	if err != nil {
		b.Skipf("no OpenCL device: %v", err)
	}
	defer dev.Close()
	be := OpenCL(dev)
	for _, c := range []struct {
		name   string
		batch  int
		layers []Layer
	}{
		{"seed", 16, []Layer{
			Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
			Dense{Units: 10, Activation: "softmax"},
		}},
		{"mlp", 256, []Layer{
			Dense{Units: 512, Activation: "relu", InputShape: []int{784}},
			Dense{Units: 256, Activation: "gelu"},
			Dense{Units: 10, Activation: "softmax"},
		}},
	} {
		m, err := NewSequential(c.layers...)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Build(be); err != nil {
			b.Fatal(err)
		}
		shape := append([]int{c.batch}, m.InputShape()[1:]...)
		x := randTensor(rand.New(rand.NewPCG(1, 1)), shape...)
		outLen := c.batch * pyshape.Elements(m.OutputShape()[1:])
		samples := func(b *testing.B) {
			b.ReportMetric(float64(c.batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		}
		b.Run(c.name+"/predict", func(b *testing.B) {
			if _, err := m.PredictWith(x, PredictOptions{BatchSize: c.batch}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.PredictWith(x, PredictOptions{BatchSize: c.batch}); err != nil {
					b.Fatal(err)
				}
			}
			samples(b)
		})
		b.Run(c.name+"/predict-into", func(b *testing.B) {
			var y Tensor
			var err error
			for i := 0; i <= b.N; i++ {
				if i == 1 {
					b.ResetTimer()
				}
				if y, err = m.PredictInto(y.Data, x, PredictOptions{BatchSize: c.batch}); err != nil {
					b.Fatal(err)
				}
			}
			samples(b)
		})
		b.Run(c.name+"/forward", func(b *testing.B) {
			xb, err := be.Alloc(len(x.Data))
			if err != nil {
				b.Fatal(err)
			}
			defer be.Release(xb)
			yb, err := be.Alloc(outLen)
			if err != nil {
				b.Fatal(err)
			}
			defer be.Release(yb)
			if err := be.Upload(xb, 0, x.Data); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := m.Forward(xb, yb, c.batch, PredictOptions{}); err != nil {
					b.Fatal(err)
				}
				if err := be.Finish(); err != nil {
					b.Fatal(err)
				}
			}
			samples(b)
		})
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
