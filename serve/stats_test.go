package serve

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/densecl/densecl/layers"
)

// recorder is an Observer that keeps totals.
type recorder struct {
	mu                      sync.Mutex
	batches, batchSamples   int
	batchRequests           int
	requests, ok, withError int
	errs                    []error
}

func (r *recorder) Batch(replica, samples, requests int, compute time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	r.batchSamples += samples
	r.batchRequests += requests
}

func (r *recorder) Request(samples int, queue, compute time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err == nil {
		r.ok++
		return
	}
	r.withError++
	r.errs = append(r.errs, err)
}

// TestObserverAndStats sends requests that succeed, are refused, are
// cancelled and do not fit: the Observer hears of each once, and Stats
// counts them.
func TestObserverAndStats(t *testing.T) {
	f := newFake(2, 1)
	f.gate, f.started = make(chan struct{}), make(chan int, 16)
	rec := &recorder{}
	b := newBatcherT(t, Options{MaxBatch: 2, MaxDelay: time.Millisecond, MaxQueue: 3, Observer: rec}, f)
	errs := make(chan error, 16)
	block(t, b, f, errs) // 1 request, 2 samples, running
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := b.Predict(ctx, layers.Tensor{Shape: []int{1, 2}, Data: []float32{1, 2}})
		errs <- err
	}()
	for range 2 {
		go func() {
			_, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 2}, Data: []float32{3, 4}})
			errs <- err
		}()
	}
	waitFor(t, "three queued", func() bool { return b.Stats().QueueDepth == 3 })
	if _, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 2}, Data: []float32{5, 6}}); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("a fourth sample: %v, want ErrOverloaded", err)
	}
	if _, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 3}, Data: []float32{1, 2, 3}}); !errors.Is(err, layers.ErrShape) {
		t.Fatalf("a wrong shape: %v, want ErrShape", err)
	}
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	close(f.gate)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	b.Close()
	s := b.Stats()
	want := Stats{Requests: 3, Samples: 4, Batches: 2, Rejected: 1, Cancelled: 1, Failed: 1}
	if s.Requests != want.Requests || s.Samples != want.Samples || s.Batches != want.Batches ||
		s.Rejected != want.Rejected || s.Cancelled != want.Cancelled || s.Failed != want.Failed || s.QueueDepth != 0 {
		t.Errorf("stats %+v, want %+v", s, want)
	}
	if s.BatchSizes[2] != 2 || s.ComputeTime <= 0 || s.QueueTime <= 0 {
		t.Errorf("stats %+v: want two batches of 2 and some queue and compute time", s)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.requests != 6 || rec.ok != 3 || rec.withError != 3 || rec.batches != 2 || rec.batchSamples != 4 || rec.batchRequests != 3 {
		t.Errorf("observer heard %+v; want 6 requests (3 ok), 2 batches of 4 samples and 3 requests in all", rec)
	}
}
