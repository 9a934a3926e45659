package serve

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/densecl/densecl/layers"
)

// checkOwnRows runs goroutines callers, each sending reqs requests of 1 to
// 5 samples (and, now and then, more than MaxBatch) through b, and checks
// that every caller gets exactly its rows: the model's own Predict of its
// input, bit for bit where same says so (the fallback computes each row
// alike at any batch size), else within float32 rounding (on an OpenCL
// device a lone sample runs below the device's chain crossover as one
// fused kernel, and a batch as products: the same arithmetic summed in
// another order).
func checkOwnRows(t *testing.T, b *Batcher, m *layers.Sequential, callers, reqs int, same func(a, b []float32) bool) {
	t.Helper()
	per := m.InputShape()[1:]
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 11))
			var dst []float32
			for i := range reqs {
				n := 1 + rng.IntN(5)
				if rng.IntN(50) == 0 {
					n = b.opts.MaxBatch + 1 + rng.IntN(3)
				}
				x := randTensor(rng, append([]int{n}, per...)...)
				want, err := m.Predict(x)
				if err != nil {
					t.Error(err)
					return
				}
				var got layers.Tensor
				if i%2 == 0 {
					got, err = b.Predict(context.Background(), x)
				} else {
					got, err = b.PredictInto(context.Background(), dst, x)
					dst = got.Data
				}
				if err != nil {
					t.Errorf("caller %d request %d: %v", g, i, err)
					return
				}
				if !slices.Equal(got.Shape, want.Shape) || !same(got.Data, want.Data) {
					t.Errorf("caller %d request %d (%d samples): result differs from a lone Predict", g, i, n)
					return
				}
			}
		}()
	}
	wg.Wait()
	s := b.Stats()
	if s.Requests != uint64(callers*reqs) || s.Failed+s.Rejected+s.Cancelled != 0 || s.QueueDepth != 0 {
		t.Errorf("stats %+v, want %d requests and no errors", s, callers*reqs)
	}
}

func TestOwnRowsFallback(t *testing.T) {
	m := small(t, layers.Fallback())
	b, err := NewBatcher(Options{MaxBatch: 16, MaxDelay: 200 * time.Microsecond}, m, m)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checkOwnRows(t, b, m, 64, 20, sameBits)
}

func TestOwnRowsOpenCL(t *testing.T) {
	cl := openCLTest(t)
	for _, m := range []*layers.Sequential{small(t, cl), mlp(t, cl)} {
		b, err := NewBatcher(Options{MaxDelay: 200 * time.Microsecond}, m, m) // MaxBatch 64, the default
		if err != nil {
			t.Fatal(err)
		}
		checkOwnRows(t, b, m, 64, 8, closeRows)
		b.Close()
	}
}

func TestMixedShapes(t *testing.T) {
	// Dense over the last axis of (None, None, 5): each time length is a
	// shape queue of its own.
	m := newModel(t, layers.Fallback(), layers.Dense{Units: 7, Activation: "tanh", InputShape: []int{layers.None, 5},
		KernelInitializer: layers.Init("glorot_uniform", 9)})
	b, err := NewBatcher(Options{MaxBatch: 8, MaxDelay: 100 * time.Microsecond}, m)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 5))
			for range 10 {
				x := randTensor(rng, 1+rng.IntN(3), 2+rng.IntN(3), 5)
				want, err := m.Predict(x)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := b.Predict(context.Background(), x)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(got.Shape, want.Shape) || !sameBits(got.Data, want.Data) {
					t.Errorf("request of shape %v: result differs from a lone Predict", x.Shape)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestShapeErrorOwnRequest sends bad shapes among good requests: each bad
// one gets the model's own Predict error, the others their rows.
func TestShapeErrorOwnRequest(t *testing.T) {
	m := small(t, layers.Fallback())
	b, err := NewBatcher(Options{MaxBatch: 8, MaxDelay: 100 * time.Microsecond}, m)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bad := []layers.Tensor{
		{Shape: []int{2, 16}, Data: make([]float32, 32)},    // wrong last axis
		{Shape: []int{1, 17, 1}, Data: make([]float32, 17)}, // wrong rank
		{Shape: []int{17}, Data: make([]float32, 17)},       // no batch axis
		{Shape: []int{2, 17}, Data: make([]float32, 33)},    // data of the wrong length
		{}, // nothing
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for i := range 10 {
				if (g+i)%3 == 0 {
					x := bad[(g+i)%len(bad)]
					_, want := m.Predict(x)
					_, got := b.Predict(context.Background(), x)
					if want == nil || got == nil || got.Error() != want.Error() || !errors.Is(got, layers.ErrShape) {
						t.Errorf("shape %v: error %v, want %v", x.Shape, got, want)
					}
					continue
				}
				x := randTensor(rng, 1+rng.IntN(3), 17)
				want, _ := m.Predict(x)
				got, err := b.Predict(context.Background(), x)
				if err != nil || !sameBits(got.Data, want.Data) {
					t.Errorf("good request beside bad ones: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if s := b.Stats(); s.Failed == 0 {
		t.Errorf("stats %+v: no failed requests counted", s)
	}
	// An empty batch gives the model's empty result.
	y, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{0, 17}})
	if err != nil || !slices.Equal(y.Shape, []int{0, 10}) {
		t.Errorf("empty batch: %v %v, want shape [0 10]", y.Shape, err)
	}
}

// block holds a fake replica busy with a batch of MaxBatch samples and
// returns once it runs; the batch finishes when the gate opens.
func block(t *testing.T, b *Batcher, f *fake, errs chan<- error) {
	t.Helper()
	x := make([]float32, b.opts.MaxBatch*f.inPer)
	go func() {
		_, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{b.opts.MaxBatch, f.inPer}, Data: x})
		errs <- err
	}()
	if n := <-f.started; n != b.opts.MaxBatch {
		t.Fatalf("the blocking batch has %d samples, want %d", n, b.opts.MaxBatch)
	}
}

func TestCancelQueued(t *testing.T) {
	f := newFake(3, 4)
	f.gate, f.started = make(chan struct{}), make(chan int, 16)
	b := newBatcherT(t, Options{MaxBatch: 4, MaxDelay: time.Millisecond}, f)
	errs := make(chan error, 8)
	block(t, b, f, errs)
	// Queued behind the busy replica: one cancelled, one past its
	// deadline, one that stays.
	ctx, cancel := context.WithCancel(context.Background())
	type res struct {
		y   layers.Tensor
		err error
	}
	results := make(chan res, 3)
	x := []float32{1, 2, 3}
	go func() {
		y, err := b.Predict(ctx, layers.Tensor{Shape: []int{1, 3}, Data: x})
		results <- res{y, err}
	}()
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	go func() {
		_, err := b.Predict(dctx, layers.Tensor{Shape: []int{1, 3}, Data: []float32{4, 5, 6}})
		errs <- err
	}()
	keep := make(chan res, 1)
	go func() {
		y, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 3}, Data: []float32{7, 8, 9}})
		keep <- res{y, err}
	}()
	waitFor(t, "three queued requests", func() bool { return b.Stats().QueueDepth == 3 })
	cancel()
	select {
	case r := <-results:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("cancelled request: %v, want context.Canceled", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled request did not return while its replica was busy")
	}
	select {
	case err := <-errs:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("request past its deadline: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request past its deadline did not return while its replica was busy")
	}
	if d := b.Stats().QueueDepth; d != 1 {
		t.Errorf("queue depth %d after two requests left, want 1", d)
	}
	close(f.gate)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	r := <-keep
	if r.err != nil || !slices.Equal(r.y.Data, f.want([]float32{7, 8, 9}, 1)) {
		t.Errorf("the request that stayed: %v %v", r.y.Data, r.err)
	}
	if got := f.batchSizes(); !slices.Equal(got, []int{4, 1}) {
		t.Errorf("batch sizes %v, want [4 1]: the cancelled requests must not run", got)
	}
	if s := b.Stats(); s.Cancelled != 2 || s.Requests != 2 {
		t.Errorf("stats %+v, want 2 cancelled and 2 requests", s)
	}
	// A context that ended before the call is not queued at all.
	if _, err := b.Predict(ctx, layers.Tensor{Shape: []int{1, 3}, Data: x}); !errors.Is(err, context.Canceled) {
		t.Errorf("Predict with a cancelled context: %v", err)
	}
}

func TestCancelWhileRunning(t *testing.T) {
	f := newFake(2, 3)
	f.gate, f.started = make(chan struct{}), make(chan int, 16)
	b := newBatcherT(t, Options{MaxBatch: 3, MaxDelay: time.Hour}, f)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	dst := make([]float32, 3)
	go func() {
		_, err := b.PredictInto(ctx, dst, layers.Tensor{Shape: []int{1, 2}, Data: []float32{1, 2}})
		done <- err
	}()
	waitFor(t, "the first request queued", func() bool { return b.Stats().QueueDepth == 1 })
	others := make(chan error, 2)
	xs := [][]float32{{3, 4}, {5, 6}}
	ys := make([]layers.Tensor, 2)
	for i := range 2 {
		go func() {
			var err error
			ys[i], err = b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 2}, Data: xs[i]})
			others <- err
		}()
	}
	if n := <-f.started; n != 3 {
		t.Fatalf("batch of %d, want 3", n)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled while its batch ran: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request cancelled while its batch ran did not return at once")
	}
	for i := range dst {
		dst[i] = -1 // the caller's memory is its own again
	}
	close(f.gate)
	for range 2 {
		if err := <-others; err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if !slices.Equal(ys[i].Data, f.want(xs[i], 1)) {
			t.Errorf("other caller %d: %v, want %v", i, ys[i].Data, f.want(xs[i], 1))
		}
	}
	b.Close()
	if !slices.Equal(dst, []float32{-1, -1, -1}) {
		t.Errorf("the batcher wrote %v into the result slice of a caller that had left", dst)
	}
	if s := b.Stats(); s.Cancelled != 1 || s.Requests != 2 {
		t.Errorf("stats %+v, want 1 cancelled, 2 requests", s)
	}
}

func TestOverloaded(t *testing.T) {
	f := newFake(1, 1)
	f.gate, f.started = make(chan struct{}), make(chan int, 16)
	b := newBatcherT(t, Options{MaxBatch: 2, MaxDelay: time.Hour, MaxQueue: 5}, f)
	errs := make(chan error, 16)
	block(t, b, f, errs)
	for range 5 {
		go func() {
			_, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 1}, Data: []float32{1}})
			errs <- err
		}()
	}
	waitFor(t, "a full queue", func() bool { return b.Stats().QueueDepth == 5 })
	start := time.Now()
	_, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 1}, Data: []float32{1}})
	if !errors.Is(err, ErrOverloaded) {
		t.Errorf("a request beyond MaxQueue: %v, want ErrOverloaded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ErrOverloaded took %v: it must not block", d)
	}
	// More than MaxQueue can never fit.
	if _, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{6, 1}, Data: make([]float32, 6)}); !errors.Is(err, ErrOverloaded) ||
		!strings.Contains(err.Error(), "MaxQueue 5") {
		t.Errorf("a request of more than MaxQueue samples: %v", err)
	}
	close(f.gate)
	go b.Close() // the last request would wait for MaxDelay
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if s := b.Stats(); s.Rejected != 2 || s.Requests != 6 {
		t.Errorf("stats %+v, want 2 rejected, 6 requests", s)
	}
}

func TestCloseUnderLoad(t *testing.T) {
	f := newFake(2, 2)
	f.gate, f.started = make(chan struct{}), make(chan int, 64)
	b := newBatcherT(t, Options{MaxBatch: 4, MaxDelay: time.Hour}, f)
	errs := make(chan error, 64)
	block(t, b, f, errs)
	type res struct {
		x, y []float32
		err  error
	}
	results := make(chan res, 32)
	for i := range 30 {
		go func() {
			x := []float32{float32(i), -float32(i)}
			y, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 2}, Data: x})
			results <- res{x, y.Data, err}
		}()
	}
	waitFor(t, "30 queued requests", func() bool { return b.Stats().QueueDepth == 30 })
	closed := make(chan struct{})
	go func() {
		b.Close()
		close(closed)
	}()
	waitFor(t, "Close to begin", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.closed
	})
	if _, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 2}, Data: []float32{0, 0}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Predict while closing: %v, want ErrClosed", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned with requests still queued")
	default:
	}
	go func() {
		for range f.started {
			f.gate <- struct{}{}
		}
	}()
	f.gate <- struct{}{} // the blocking batch
	<-closed
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	for range 30 {
		r := <-results
		if r.err != nil || !slices.Equal(r.y, f.want(r.x, 1)) {
			t.Errorf("queued before Close: %v %v", r.y, r.err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 2}, Data: []float32{0, 0}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Predict after Close: %v, want ErrClosed", err)
	}
	close(f.started)
}

// TestFailingReplica runs two replicas of one model, the second on a
// backend that fails on demand: only the batches it runs fail, with its
// index, and the first replica goes on serving.
func TestFailingReplica(t *testing.T) {
	good := small(t, layers.Fallback())
	fb := &failing{Backend: layers.Fallback()}
	bad := small(t, fb)
	b, err := NewBatcher(Options{MaxBatch: 8, MaxDelay: 100 * time.Microsecond}, good, bad)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fb.fail.Store(true)
	var mu sync.Mutex
	var ok, failed int
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 8))
			for range 10 {
				x := randTensor(rng, 1+rng.IntN(2), 17)
				want, _ := good.Predict(x)
				y, err := b.Predict(context.Background(), x)
				mu.Lock()
				if err == nil {
					ok++
				} else {
					failed++
				}
				mu.Unlock()
				var re *ReplicaError
				switch {
				case err == nil:
					if !sameBits(y.Data, want.Data) {
						t.Error("a request of a good batch got wrong rows")
					}
				case !errors.As(err, &re) || re.Replica != 1 || !strings.Contains(err.Error(), "replica 1") ||
					!strings.Contains(err.Error(), "CL_OUT_OF_RESOURCES"):
					t.Errorf("error %v, want a *ReplicaError of replica 1 that says why", err)
				}
				time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if ok == 0 || failed == 0 {
		t.Errorf("%d succeeded and %d failed; want both (two replicas, one failing)", ok, failed)
	}
	s := b.Stats()
	if s.Failed != uint64(failed) || s.Requests != uint64(ok) {
		t.Errorf("stats %+v, want %d failed and %d requests", s, failed, ok)
	}
	fb.fail.Store(false)
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 1, 17)
	for i := range 20 { // the failing replica serves again once it works
		if _, err := b.Predict(context.Background(), x); err != nil {
			t.Fatalf("request %d after the replica recovered: %v", i, err)
		}
	}
}

// TestBatchRules checks when batches run: at MaxBatch at once, at a
// preferred size at once, after MaxDelay otherwise, and a request larger
// than MaxBatch alone.
func TestBatchRules(t *testing.T) {
	f := newFake(1, 1)
	f.gate, f.started = make(chan struct{}), make(chan int, 16)
	b := newBatcherT(t, Options{MaxBatch: 8, MaxDelay: time.Hour, PreferredBatch: []int{4, 2}}, f)
	errs := make(chan error, 16)
	block(t, b, f, errs) // MaxBatch samples run at once, MaxDelay or not
	send := func(n int) {
		go func() {
			_, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{n, 1}, Data: make([]float32, n)})
			errs <- err
		}()
	}
	for i := range 5 {
		send(1)
		waitFor(t, "a queued request", func() bool { return b.Stats().QueueDepth == i+1 })
	}
	f.gate <- struct{}{}
	// Five queued: the largest preferred size they fill is 4, at once.
	if n := <-f.started; n != 4 {
		t.Errorf("batch of %d from five queued requests, want the preferred 4", n)
	}
	f.gate <- struct{}{}
	// One left, below every preferred size: it would wait for MaxDelay
	// (an hour). A request larger than MaxBatch makes the queue due: the
	// one before it runs, then it alone.
	send(11)
	for _, want := range []int{1, 11} {
		if n := <-f.started; n != want {
			t.Errorf("batch of %d, want %d", n, want)
		}
		f.gate <- struct{}{}
	}
	for range 7 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	send(1)
	select {
	case n := <-f.started:
		t.Fatalf("a batch of %d ran before MaxDelay", n)
	case <-time.After(20 * time.Millisecond):
	}
	go b.Close()
	if n := <-f.started; n != 1 {
		t.Errorf("Close ran a batch of %d, want the 1 left", n)
	}
	f.gate <- struct{}{}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	s := b.Stats()
	if s.BatchSizes[1] != 2 || s.BatchSizes[4] != 1 || s.BatchSizes[8] != 2 {
		t.Errorf("batch sizes %v, want two of 1, one of 4, two of 8 or more", s.BatchSizes)
	}
}

func TestMaxDelay(t *testing.T) {
	f := newFake(1, 1)
	b := newBatcherT(t, Options{MaxBatch: 64, MaxDelay: 30 * time.Millisecond}, f)
	start := time.Now()
	if _, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 1}, Data: []float32{1}}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > 5*time.Second {
		t.Errorf("a lone request took %v with MaxDelay 30ms", d)
	}
	s := b.Stats()
	if s.QueueTime < 30*time.Millisecond || s.BatchSizes[1] != 1 {
		t.Errorf("stats %+v: want a queue time of 30ms or more and one batch of 1", s)
	}
}

// TestFirstIdleReplica holds one replica busy: the other serves.
func TestFirstIdleReplica(t *testing.T) {
	busy, idle := newFake(1, 1), newFake(1, 1)
	busy.gate, busy.started = make(chan struct{}), make(chan int, 16)
	b := newBatcherT(t, Options{MaxBatch: 4, MaxDelay: time.Microsecond}, busy, idle)
	stop := make(chan struct{})
	go func() { // requests until the busy replica holds one
		for {
			select {
			case <-stop:
				return
			default:
			}
			go func() { _, _ = b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 1}, Data: []float32{1}}) }()
			time.Sleep(100 * time.Microsecond)
		}
	}()
	select {
	case <-busy.started:
	case <-time.After(10 * time.Second):
		t.Fatal("replica 0 never got a batch")
	}
	close(stop)
	for i := range 20 {
		if _, err := b.Predict(context.Background(), layers.Tensor{Shape: []int{1, 1}, Data: []float32{1}}); err != nil {
			t.Fatalf("request %d with one replica busy: %v", i, err)
		}
	}
	close(busy.gate)
}

func TestNewBatcherErrors(t *testing.T) {
	m := small(t, layers.Fallback())
	other := newModel(t, layers.Fallback(), layers.Dense{Units: 3, InputShape: []int{17}})
	unbuilt, _ := layers.NewSequential(layers.Dense{Units: 3, InputShape: []int{17}})
	cases := []struct {
		o    Options
		ms   []*layers.Sequential
		want error
	}{
		{Options{}, nil, layers.ErrInvalid},
		{Options{}, []*layers.Sequential{nil}, layers.ErrInvalid},
		{Options{MaxBatch: -1}, []*layers.Sequential{m}, layers.ErrInvalid},
		{Options{MaxDelay: -time.Millisecond}, []*layers.Sequential{m}, layers.ErrInvalid},
		{Options{MaxQueue: -1}, []*layers.Sequential{m}, layers.ErrInvalid},
		{Options{MaxBatch: 8, PreferredBatch: []int{9}}, []*layers.Sequential{m}, layers.ErrInvalid},
		{Options{PreferredBatch: []int{0}}, []*layers.Sequential{m}, layers.ErrInvalid},
		{Options{}, []*layers.Sequential{unbuilt}, layers.ErrNotBuilt},
		{Options{}, []*layers.Sequential{m, other}, layers.ErrShape},
	}
	for i, c := range cases {
		b, err := NewBatcher(c.o, c.ms...)
		if !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want an error wrapping %v", i, err, c.want)
		}
		if b != nil {
			b.Close()
		}
	}
	b, err := NewBatcher(Options{}, m)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.InputShape(); !slices.Equal(got, []int{layers.None, 17}) {
		t.Errorf("InputShape %v", got)
	}
	if got := b.OutputShape(); !slices.Equal(got, []int{layers.None, 10}) {
		t.Errorf("OutputShape %v", got)
	}
	if o := b.Options(); o.MaxBatch != DefaultMaxBatch || o.MaxDelay != DefaultMaxDelay || o.MaxQueue != DefaultQueueBatches*DefaultMaxBatch || b.Replicas() != 1 {
		t.Errorf("Options() %+v, Replicas() %d: want the defaults filled in and 1 replica", o, b.Replicas())
	}
	if s := b.Stats(); len(s.BatchSizes) != DefaultMaxBatch+1 {
		t.Errorf("len(BatchSizes) %d, want %d", len(s.BatchSizes), DefaultMaxBatch+1)
	}
}
