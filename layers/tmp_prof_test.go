package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/densecl/densecl/device"
)

func BenchmarkTmpSeed1(b *testing.B) {
	dev, err := device.Open("")
	if err != nil {
		b.Skip(err)
	}
	defer dev.Close()
	m, _ := NewSequential(smallModels()[1].layers...)
	if err := m.Build(OpenCL(dev)); err != nil {
		b.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 1, 32, 32, 3)
	out := make([]float32, 10)
	b.Run("predict", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := m.Predict(x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("into", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := m.PredictInto(out, x, PredictOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
