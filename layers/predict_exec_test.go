package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// counting is a backend over the fallback that counts the allocations of
// backend memory and checks that every buffer it hands out is released.
type counting struct {
	Backend
	allocs, releases int
}

func (c *counting) Alloc(n int) (Buffer, error) {
	c.allocs++
	return c.Backend.Alloc(n)
}

func (c *counting) Release(b Buffer) error {
	c.releases++
	return c.Backend.Release(b)
}

// countingHost works on host memory in place, as OpenCL on a CPU device
// does: WrapHost returns a fallback buffer over the caller's slice.
type countingHost struct {
	*counting
	wraps, syncs int
}

func (*countingHost) WrapsHost() bool { return true }

func (c *countingHost) WrapHost(data []float32, readOnly bool) (Buffer, error) {
	c.wraps++
	return &hostBuffer{data: data}, nil
}

func (c *countingHost) SyncHost(Buffer, int) error {
	c.syncs++
	return nil
}

// Release frees nothing of a wrapped slice.
func (c *countingHost) Release(b Buffer) error {
	c.releases++
	return nil
}

// countingStreamer streams as OpenCL on a GPU does, with the fallback's
// host buffers as device memory. Transfers are deferred until something
// waits for them (ComputeAfter, an event's Wait), so that a missing wait
// shows as stale data; it checks that events are released and staging
// memory is not touched by the host while a transfer on it is pending.
type countingStreamer struct {
	*counting
	stagings              int
	pending               []*fakeEvent // enqueued transfers not yet run
	events, eventReleases int
	err                   error // the first misuse seen
}

type fakeStaging struct {
	data     []float32
	released bool
}

func (s *fakeStaging) Host() []float32 { return s.data }
func (s *fakeStaging) Len() int        { return len(s.data) }
func (s *fakeStaging) Release() error {
	s.released = true
	return nil
}

// fakeEvent is an event of countingStreamer: empty until an operation
// is recorded in it (held), then pending until a wait runs it (done).
type fakeEvent struct {
	c    *countingStreamer
	run  func()
	held bool
	done bool
}

// Wait runs every transfer enqueued up to this one, in order.
func (e *fakeEvent) Wait() error {
	for e.held && !e.done {
		p := e.c.pending[0]
		e.c.pending = e.c.pending[1:]
		p.run()
		p.done = true
	}
	return nil
}

// Release runs the transfer first, as a real one completes before its
// event is gone, and empties the event.
func (e *fakeEvent) Release() error {
	if !e.held {
		return nil
	}
	_ = e.Wait()
	e.c.eventReleases++
	e.held, e.done, e.run = false, false, nil
	return nil
}

func (*countingStreamer) Streams() bool { return true }

func (c *countingStreamer) AllocStaging(n int) (Staging, error) {
	c.stagings++
	return &fakeStaging{data: make([]float32, n)}, nil
}

func (c *countingStreamer) NewEvent() Event { return &fakeEvent{c: c} }

// record records an operation in ev, which must be one of c's and empty:
// pending until waited for where run is not nil, else done.
func (c *countingStreamer) record(ev Event, run func()) error {
	e, ok := ev.(*fakeEvent)
	if !ok || e.c != c || e.held {
		return fmt.Errorf("recording in an event that is not c's or holds an operation")
	}
	c.events++
	e.held, e.run, e.done = true, run, run == nil
	if run != nil {
		c.pending = append(c.pending, e)
	}
	return nil
}

// held reports whether ev is one of c's events that holds an operation.
func (c *countingStreamer) held(ev Event) bool {
	e, ok := ev.(*fakeEvent)
	return ok && e.c == c && e.held
}

func (c *countingStreamer) UploadStaged(ev Event, dst Buffer, s Staging, n int) error {
	d, src := dst.(*hostBuffer), s.(*fakeStaging)
	if src.released || n > len(src.data) || n > len(d.data) {
		return fmt.Errorf("bad staged upload of %d", n)
	}
	snapshot := append([]float32(nil), src.data[:n]...) // the host must not change it until the upload runs
	return c.record(ev, func() {
		for i, v := range src.data[:n] {
			if v != snapshot[i] && !(math.IsNaN(float64(v)) && math.IsNaN(float64(snapshot[i]))) {
				c.err = fmt.Errorf("staging memory changed under a pending upload")
			}
		}
		copy(d.data, src.data[:n])
	})
}

func (c *countingStreamer) DownloadStaged(ev Event, s Staging, src Buffer, n int, after Event) error {
	d, b := s.(*fakeStaging), src.(*hostBuffer)
	if d.released || n > len(d.data) || n > len(b.data) {
		return fmt.Errorf("bad staged download of %d", n)
	}
	if after != nil && !c.held(after) {
		return fmt.Errorf("download after an empty or released event")
	}
	// The compute before it ran synchronously: copy what is there now.
	snapshot := append([]float32(nil), b.data[:n]...)
	return c.record(ev, func() { copy(d.data, snapshot) })
}

// ComputeAfter runs the transfers waited for: the fallback computes at
// once, so the upload must have landed first.
func (c *countingStreamer) ComputeAfter(after Event) error {
	if !c.held(after) {
		return fmt.Errorf("compute after an empty or released event")
	}
	return after.Wait()
}

func (c *countingStreamer) ComputeMark(ev Event) error { return c.record(ev, nil) }

// TestExecutorsSteadyState runs a model through each executor on a
// counting backend, with batches and chunk sizes that leave short last
// chunks, into outputs poisoned with NaN: every result matches the
// fallback's, and after the first call of each shape no call allocates
// backend memory or pinned staging memory.
func TestExecutorsSteadyState(t *testing.T) {
	newCounting := func() *counting { return &counting{Backend: Fallback()} }
	cases := []struct {
		exec string
		b    func() (Backend, func() string)
	}{
		{pathCopy, func() (Backend, func() string) {
			c := newCounting()
			return c, func() string { return fmt.Sprintf("%d allocs", c.allocs) }
		}},
		{pathHost, func() (Backend, func() string) {
			c := &countingHost{counting: newCounting()}
			return c, func() string { return fmt.Sprintf("%d allocs", c.allocs) }
		}},
		{pathStream, func() (Backend, func() string) {
			c := &countingStreamer{counting: newCounting()}
			return c, func() string { return fmt.Sprintf("%d allocs, %d stagings", c.allocs, c.stagings) }
		}},
	}
	rng := rand.New(rand.NewPCG(21, 21))
	ref := mlp(t, Fallback())
	for _, c := range cases {
		b, count := c.b()
		m := mlp(t, b) // the same seeded weights as ref
		for _, s := range []struct{ batch, chunk int }{{1, 0}, {7, 3}, {33, 5}, {100, 0}, {2, 1}, {13, 13}} {
			x := randTensor(rng, s.batch, 3, 11)
			want, err := ref.PredictWith(x, PredictOptions{BatchSize: s.chunk})
			if err != nil {
				t.Fatal(err)
			}
			o := PredictOptions{BatchSize: s.chunk}
			var before string
			for call := 0; call < 3; call++ {
				dst := make([]float32, len(want.Data))
				for i := range dst {
					dst[i] = float32(math.NaN())
				}
				got, err := m.PredictInto(dst, x, o)
				if err != nil {
					t.Fatalf("%s, batch %d, chunk %d: %v", c.exec, s.batch, s.chunk, err)
				}
				if e := relErr(got.Data, float64s(want.Data)); !(e <= 1e-6) {
					t.Fatalf("%s, batch %d, chunk %d, call %d: differs from the fallback by %.3g", c.exec, s.batch, s.chunk, call, e)
				}
				if call == 0 {
					before = count()
					p, err := m.planFor(x.Shape, o)
					if err != nil {
						t.Fatal(err)
					}
					if p.exec.name() != c.exec {
						t.Fatalf("executor %s, want %s", p.exec.name(), c.exec)
					}
				} else if now := count(); now != before {
					t.Errorf("%s, batch %d, chunk %d, call %d: %s after the first call, %s now", c.exec, s.batch, s.chunk, call, before, now)
				}
			}
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		switch cb := b.(type) {
		case *counting:
			if cb.allocs != cb.releases {
				t.Errorf("copy: %d allocations, %d releases", cb.allocs, cb.releases)
			}
		case *countingStreamer:
			if cb.err != nil {
				t.Error(cb.err)
			}
			if cb.allocs != cb.releases || cb.events != cb.eventReleases {
				t.Errorf("stream: %d allocations, %d releases; %d events, %d released", cb.allocs, cb.releases, cb.events, cb.eventReleases)
			}
		case *countingHost:
			if cb.wraps == 0 || cb.syncs == 0 {
				t.Errorf("host: %d wraps, %d syncs", cb.wraps, cb.syncs)
			}
		}
	}
}

// TestStagingSizedByUse checks that the streaming executor's staging
// grows to the largest chunk used and is then reused for smaller ones.
func TestStagingSizedByUse(t *testing.T) {
	c := &countingStreamer{counting: &counting{Backend: Fallback()}}
	m := mlp(t, c)
	rng := rand.New(rand.NewPCG(5, 5))
	for i, batch := range []int{2, 2, 20, 20, 3, 1, 20} {
		before := c.stagings
		if _, err := m.PredictWith(randTensor(rng, batch, 3, 11), PredictOptions{}); err != nil {
			t.Fatal(err)
		}
		grew := c.stagings != before
		if want := i == 0 || i == 2; grew != want {
			t.Errorf("call %d (batch %d): staging allocated %v, want %v", i, batch, grew, want)
		}
	}
	m.Close()
}

// TestPlanCached checks that a plan is computed once per shape and
// options, and dropped when the model is built again.
func TestPlanCached(t *testing.T) {
	m := mlp(t, Fallback())
	x := NewTensor(4, 3, 11)
	p1, err := m.planFor(x.Shape, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := m.planFor([]int{4, 3, 11}, PredictOptions{})
	p3, _ := m.planFor(x.Shape, PredictOptions{BatchSize: 2})
	p4, _ := m.planFor([]int{5, 3, 11}, PredictOptions{})
	if p1 != p2 || p1 == p3 || p1 == p4 {
		t.Errorf("plans: same shape %v, other options %v, other batch %v; want true, false, false", p1 == p2, p1 == p3, p1 == p4)
	}
	if p3.chunk != 2 || p4.chunk != 5 || p1.exec.name() != pathCopy {
		t.Errorf("chunks %d and %d, executor %s", p3.chunk, p4.chunk, p1.exec.name())
	}
	// A result's shape is the caller's to change.
	y, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	y.Shape[0] = 99
	if y2, _ := m.Predict(x); y2.Shape[0] != 4 {
		t.Errorf("changing a result's shape changed the next one's: %v", y2.Shape)
	}
	if err := m.Build(Fallback()); err != nil {
		t.Fatal(err)
	}
	if p5, _ := m.planFor(x.Shape, PredictOptions{}); p5 == p1 {
		t.Error("a plan survived Build")
	}
}

func TestPredictPath(t *testing.T) {
	for in, want := range map[string]string{"": "", "stream": pathStream, " Host ": pathHost, "copy": pathCopy, "gpu": ""} {
		if got := predictPath(in); got != want {
			t.Errorf("predictPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParallelCopy(t *testing.T) {
	for _, n := range []int{0, 1, copyPiece - 1, 2 * copyPiece, 5*copyPiece + 3} {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(i)
		}
		dst := make([]float32, n+1)
		dst[n] = -1
		parallelCopy(dst, src)
		for i, v := range src {
			if dst[i] != v {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, dst[i], v)
			}
		}
		if dst[n] != -1 {
			t.Fatalf("n=%d: wrote past the source's length", n)
		}
	}
}

// TestDefaultChunks checks the chunk sizes the executors pick when the
// options give none: Keras's 32 where Predict copies or works in place,
// StreamChunkBytes of transfers (32 samples at least) where it streams.
func TestDefaultChunks(t *testing.T) {
	c := &countingStreamer{counting: &counting{Backend: Fallback()}}
	per := 4 * (3*11 + 3*7) // bytes in and out per sample of mlp
	for _, s := range []struct {
		b           Backend
		batch, want int
	}{
		{Fallback(), 5000, DefaultBatchSize},
		{c, 5000, min(5000, StreamChunkBytes/per)},
		{c, 100000, StreamChunkBytes / per},
		{c, 7, 7},
	} {
		m := mlp(t, s.b)
		p, err := m.planFor([]int{s.batch, 3, 11}, PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.chunk != s.want {
			t.Errorf("%s executor, batch %d: chunks of %d, want %d", p.exec.name(), s.batch, p.chunk, s.want)
		}
		m.Close()
	}
	if got := (streamExec{}).defaultChunk(1<<20, 1<<20); got != DefaultBatchSize {
		t.Errorf("streaming samples of 8 MiB: chunks of %d, want %d", got, DefaultBatchSize)
	}
}
