package layers

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/densecl/densecl/device"
)

// BenchmarkPredictChain measures what the chain steps give Predict at
// small batches on the default OpenCL device: PredictInto host to host
// with its chains (below the device's crossover) and with
// PredictOptions.Unfused (layer by layer), alternated call by call in one
// run, on the MLP (784, Dense(512, relu), Dense(256, gelu), Dense(10,
// softmax)) and the seed model; medians in µs per call.
func BenchmarkPredictChain(b *testing.B) {
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
		for _, batch := range []int{1, 4, 16} {
			x := randTensor(rand.New(rand.NewPCG(1, 1)), append([]int{batch}, m.InputShape()[1:]...)...)
			out := make([]float32, batch*10)
			var ts [2][]float64
			for i := 0; i < max(b.N, 20)+5; i++ {
				for k, o := range []PredictOptions{{}, {Unfused: true}} {
					start := time.Now()
					if _, err := m.PredictInto(out, x, o); err != nil {
						b.Fatal(err)
					}
					if i >= 5 { // warm-up: plans and programs
						ts[k] = append(ts[k], float64(time.Since(start).Nanoseconds())/1e3)
					}
				}
			}
			med := func(s []float64) float64 { sort.Float64s(s); return s[len(s)/2] }
			b.ReportMetric(med(ts[0]), c.name+"_chains_us/batch"+strconv.Itoa(batch))
			b.ReportMetric(med(ts[1]), c.name+"_unfused_us/batch"+strconv.Itoa(batch))
		}
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
