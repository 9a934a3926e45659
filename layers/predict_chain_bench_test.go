package layers

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/densecl/densecl/device"
)

// BenchmarkPredictChain estimates what the chain step gives Predict at
// small batches on a CPU device: the MLP (784, Dense(512, relu),
// Dense(256, gelu), Dense(10, softmax)) host to host, by today's
// PredictInto and by the host executor's steps with the whole model as
// one chain (the input and output slices wrapped in place, one launch,
// one sync), alternated run by run; medians in µs.
func BenchmarkPredictChain(b *testing.B) {
	dev, err := device.Open("")
	if err != nil {
		b.Skipf("no OpenCL device: %v", err)
	}
	defer dev.Close()
	be := OpenCL(dev).(clBackend)
	if !be.WrapsHost() {
		b.Skip("the device does not run on host memory in place")
	}
	m, err := NewSequential(
		Dense{Units: 512, Activation: "relu", InputShape: []int{784}},
		Dense{Units: 256, Activation: "gelu"},
		Dense{Units: 10, Activation: "softmax"})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Build(be); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, batch := range []int{1, 4, 16} {
		x := randTensor(rand.New(rand.NewPCG(1, 1)), batch, 784)
		out := make([]float32, batch*10)
		p, err := m.planFor(x.Shape, PredictOptions{})
		if err != nil {
			b.Fatal(err)
		}
		steps, err := m.planChains(be, batch, p.inPer, p.per)
		if err != nil || len(steps) != 1 {
			b.Fatalf("%d chains (%v), want the whole model as one", len(steps), err)
		}
		chained := func() error {
			xb, err := be.WrapHost(x.Data, true)
			if err != nil {
				return err
			}
			ob, err := be.WrapHost(out, false)
			if err != nil {
				return err
			}
			if err := steps[0].runChain(batch, xb, ob); err != nil {
				return err
			}
			if err := be.SyncHost(ob); err != nil {
				return err
			}
			be.Release(xb)
			return be.Release(ob)
		}
		today := func() error { _, err := m.PredictInto(out, x, PredictOptions{}); return err }
		var tc, tt []float64
		for i := 0; i < max(b.N, 20)+5; i++ {
			for k, run := range []func() error{chained, today} {
				start := time.Now()
				if err := run(); err != nil {
					b.Fatal(err)
				}
				us := float64(time.Since(start).Nanoseconds()) / 1e3
				if i < 5 {
					continue
				}
				if k == 0 {
					tc = append(tc, us)
				} else {
					tt = append(tt, us)
				}
			}
		}
		med := func(s []float64) float64 { sort.Float64s(s); return s[len(s)/2] }
		b.ReportMetric(med(tc), "chain_us/batch"+strconv.Itoa(batch))
		b.ReportMetric(med(tt), "today_us/batch"+strconv.Itoa(batch))
	}
}
