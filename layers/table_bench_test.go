package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/densecl/densecl/device"
)

// BenchmarkNormLayers runs an MLP at batch 256 on the default OpenCL
// device, in place (PredictInto), as plain Dense layers and with a
// BatchNormalization (folded: no kernel of its own), a LayerNormalization
// (a row kernel in place after its Dense layer) or a BatchNormalization no
// Dense absorbs (after a relu: a per-column scale and shift) between them.
// Compare the variants as ratios within one run.
func BenchmarkNormLayers(b *testing.B) {
	dev, err := device.Open("")
	if err != nil {
		b.Skipf("no OpenCL device: %v", err)
	}
	defer dev.Close()
	be := OpenCL(dev)
	const batch = 256
	for _, c := range []struct {
		name string
		mid  []Layer
		act  string
	}{
		{"dense-dense", nil, ""},
		{"dense-bn-dense", []Layer{BatchNormalization{}}, ""},
		{"dense-ln-dense", []Layer{LayerNormalization{}}, ""},
		{"dense(relu)-bn(unfolded)-dense", []Layer{BatchNormalization{}, Activation{Activation: "tanh"}}, "relu"},
	} {
		ls := append([]Layer{Dense{Units: 512, Activation: c.act, InputShape: []int{784}}}, c.mid...)
		ls = append(ls, Dense{Units: 10, Activation: "softmax"})
		m, err := NewSequential(ls...)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Build(be); err != nil {
			b.Fatal(err)
		}
		x := randTensor(rand.New(rand.NewPCG(1, 1)), batch, 784)
		b.Run(c.name, func(b *testing.B) {
			var y Tensor
			var err error
			for i := 0; i <= b.N; i++ {
				if i == 1 {
					b.ResetTimer()
				}
				if y, err = m.PredictInto(y.Data, x, PredictOptions{BatchSize: batch}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
