//go:build cgo

package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/densecl/densecl/device"
)

// BenchmarkSeedPredict runs the seed model at batch 16 on the default
// OpenCL device: end to end (Predict, host to host) and compute only
// (Forward on buffers already on the device). The difference is what the
// transfers and the host side of Predict cost.
func BenchmarkSeedPredict(b *testing.B) {
	dev, err := device.Open("")
	if err != nil {
		b.Skipf("no OpenCL device: %v", err)
	}
	defer dev.Close()
	m, err := NewSequential(
		Dense{Units: 512, Activation: "relu", InputShape: []int{32, 32, 3}},
		Dense{Units: 10, Activation: "softmax"},
	)
	if err != nil {
		b.Fatal(err)
	}
	be := OpenCL(dev)
	if err := m.Build(be); err != nil {
		b.Fatal(err)
	}
	const batch = 16
	x := randTensor(rand.New(rand.NewPCG(1, 1)), batch, 32, 32, 3)
	images := func(b *testing.B) {
		b.ReportMetric(batch*float64(b.N)/b.Elapsed().Seconds(), "images/s")
	}
	b.Run("predict", func(b *testing.B) {
		if _, err := m.Predict(x); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := m.Predict(x); err != nil {
				b.Fatal(err)
			}
		}
		images(b)
	})
	b.Run("forward", func(b *testing.B) {
		xb, err := be.Alloc(len(x.Data))
		if err != nil {
			b.Fatal(err)
		}
		yb, err := be.Alloc(batch * 32 * 32 * 10)
		if err != nil {
			b.Fatal(err)
		}
		if err := be.Upload(xb, 0, x.Data); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := m.Forward(xb, yb, batch, PredictOptions{}); err != nil {
				b.Fatal(err)
			}
			if err := be.Finish(); err != nil {
				b.Fatal(err)
			}
		}
		images(b)
	})
	b.Run("upload-forward-download", func(b *testing.B) {
		xb, _ := be.Alloc(len(x.Data))
		yb, _ := be.Alloc(batch * 32 * 32 * 10)
		y := make([]float32, batch*32*32*10)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := be.Upload(xb, 0, x.Data); err != nil {
				b.Fatal(err)
			}
			if err := m.Forward(xb, yb, batch, PredictOptions{}); err != nil {
				b.Fatal(err)
			}
			if err := be.Download(y, yb, 0); err != nil {
				b.Fatal(err)
			}
		}
		images(b)
	})
	b.Run("forward-download", func(b *testing.B) {
		xb, _ := be.Alloc(len(x.Data))
		yb, _ := be.Alloc(batch * 32 * 32 * 10)
		y := make([]float32, batch*32*32*10)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := m.Forward(xb, yb, batch, PredictOptions{}); err != nil {
				b.Fatal(err)
			}
			if err := be.Download(y, yb, 0); err != nil {
				b.Fatal(err)
			}
		}
		images(b)
	})
}
