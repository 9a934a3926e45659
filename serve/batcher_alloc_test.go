package serve

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/densecl/densecl/layers"
)

// TestPredictIntoAllocs measures the batcher's own path, over a replica
// that allocates nothing (the model's PredictInto still allocates a
// little per batch, its own business): PredictInto with a result slice
// that holds the result allocates nothing in steady state, gather and
// scatter included.
func TestPredictIntoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts do not hold")
	}
	f := newFake(5, 3)
	// A preferred size of 1 runs each lone request at once.
	b := newBatcherT(t, Options{MaxBatch: 4, PreferredBatch: []int{1}}, f)
	x := layers.Tensor{Shape: []int{1, 5}, Data: []float32{1, 2, 3, 4, 5}}
	dst := make([]float32, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	predict := func() {
		y, err := b.PredictInto(ctx, dst, x)
		if err != nil || &y.Data[0] != &dst[0] {
			t.Fatalf("PredictInto: %v", err)
		}
	}
	for range 10 {
		predict()
	}
	if a := testing.AllocsPerRun(200, predict); a != 0 {
		t.Errorf("PredictInto allocates %v times a call in steady state, want 0", a)
	}
	// Predict allocates the caller's result: its data and its shape.
	if a := testing.AllocsPerRun(200, func() {
		if _, err := b.Predict(ctx, x); err != nil {
			t.Fatal(err)
		}
	}); a > 2 {
		t.Errorf("Predict allocates %v times a call, want 2 (the result's data and shape)", a)
	}
}

// TestConcurrentAllocs has 16 callers send requests that batch together:
// the batcher allocates nothing per request once warm.
func TestConcurrentAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items: allocation counts do not hold")
	}
	f := newFake(4, 2)
	b := newBatcherT(t, Options{MaxBatch: 8, MaxDelay: 50 * time.Microsecond}, f)
	const callers, reqs = 16, 200
	load := func() {
		var wg sync.WaitGroup
		for g := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := layers.Tensor{Shape: []int{1, 4}, Data: []float32{float32(g), 1, 2, 3}}
				dst := make([]float32, 2)
				for range reqs {
					if _, err := b.PredictInto(context.Background(), dst, x); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	load()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	load()
	runtime.ReadMemStats(&after)
	// The goroutines, their closures and WaitGroup are the test's: a few
	// per caller (about 5 here), and a request record now and then when
	// more are in flight than the pool holds; none per request.
	if n := after.Mallocs - before.Mallocs; n > 8*callers+callers*reqs/100 {
		t.Errorf("%d allocations for %d requests: the batcher allocates per request", n, callers*reqs)
	}
}

// TestNoDeviceAllocsInSteadyState runs a real model on a counting backend:
// once a batch of MaxBatch samples has run, batches of any size allocate
// no backend memory.
func TestNoDeviceAllocsInSteadyState(t *testing.T) {
	cb := &failing{Backend: layers.Fallback()}
	m := small(t, cb)
	b := newBatcherT(t, Options{MaxBatch: 8, MaxDelay: 50 * time.Microsecond}, m)
	rng := rand.New(rand.NewPCG(4, 4))
	if _, err := b.Predict(context.Background(), randTensor(rng, 8, 17)); err != nil {
		t.Fatal(err)
	}
	allocs, releases := cb.allocs.Load(), cb.release.Load()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 4))
			for range 20 {
				if _, err := b.Predict(context.Background(), randTensor(rng, 1+rng.IntN(3), 17)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if a, r := cb.allocs.Load()-allocs, cb.release.Load()-releases; a != 0 || r != 0 {
		t.Errorf("%d buffers allocated and %d released in steady state, want none", a, r)
	}
	if s := b.Stats(); s.Batches < 10 {
		t.Errorf("only %d batches ran", s.Batches)
	}
}

// BenchmarkBatcher sends single-sample requests from 64 goroutines
// through the batcher over the fallback's small model, with allocations
// per request (the model's included).
func BenchmarkBatcher(bm *testing.B) {
	m := small(bm, layers.Fallback())
	b := newBatcherT(bm, Options{MaxBatch: 64, MaxDelay: 100 * time.Microsecond}, m)
	bm.SetParallelism(64 / max(runtime.GOMAXPROCS(0), 1))
	bm.ReportAllocs()
	bm.RunParallel(func(pb *testing.PB) {
		x := randTensor(rand.New(rand.NewPCG(1, 1)), 1, 17)
		dst := make([]float32, 10)
		for pb.Next() {
			if _, err := b.PredictInto(context.Background(), dst, x); err != nil {
				bm.Error(err)
				return
			}
		}
	})
}

// BenchmarkBatcherOverhead is BenchmarkBatcher over a replica that does
// almost nothing: the batcher's own cost per request.
func BenchmarkBatcherOverhead(bm *testing.B) {
	f := newFake(784, 10)
	b := newBatcherT(bm, Options{MaxBatch: 64, MaxDelay: 100 * time.Microsecond}, f)
	bm.SetParallelism(64 / max(runtime.GOMAXPROCS(0), 1))
	bm.ReportAllocs()
	bm.RunParallel(func(pb *testing.PB) {
		x := randTensor(rand.New(rand.NewPCG(1, 1)), 1, 784)
		dst := make([]float32, 10)
		for pb.Next() {
			if _, err := b.PredictInto(context.Background(), dst, x); err != nil {
				bm.Error(err)
				return
			}
		}
	})
	s := b.Stats()
	bm.ReportMetric(float64(s.Samples)/float64(max(s.Batches, 1)), "samples/batch")
}
