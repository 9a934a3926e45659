package serve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/densecl/densecl/layers"
)

// Defaults of Options.
const (
	// DefaultMaxBatch is Options.MaxBatch when zero: 64 samples, where
	// densecl's Predict is within a few percent of its large-batch
	// throughput on a CPU device (README, "Throughput").
	DefaultMaxBatch = 64
	// DefaultMaxDelay is Options.MaxDelay when zero: 1 ms.
	DefaultMaxDelay = time.Millisecond
	// DefaultQueueBatches is Options.MaxQueue, in batches, when zero: 16
	// batches of MaxBatch samples.
	DefaultQueueBatches = 16
)

// maxShapes is how many per-sample shapes a Batcher queues at once; a
// request of a new shape beyond them, while every queue holds requests,
// gets ErrOverloaded.
const maxShapes = 16

// Options configures a Batcher; the zero value of each field gives its
// default. The names follow Triton's dynamic_batching configuration
// (model_config.proto).
type Options struct {
	// MaxBatch is the most samples in one batch (Triton's max_batch_size);
	// 0 means DefaultMaxBatch. A request of more samples runs alone, as
	// one batch of its own (see the package documentation).
	MaxBatch int
	// MaxDelay is the longest a request waits for its batch to fill
	// (Triton's max_queue_delay_microseconds) once a replica is idle; 0
	// means DefaultMaxDelay; negative is an error.
	MaxDelay time.Duration
	// PreferredBatch lists batch sizes, each 1 to MaxBatch, to cut at:
	// when the requests at the head of a queue add up to one of them, the
	// largest such batch runs at once, without waiting for MaxBatch or
	// MaxDelay (Triton's preferred_batch_size).
	PreferredBatch []int
	// MaxQueue is the most samples waiting, every shape together; 0 means
	// DefaultQueueBatches*MaxBatch. A request that would pass it is
	// refused at once with ErrOverloaded.
	MaxQueue int
	// Observer, if not nil, receives every batch and request (for metrics).
	Observer Observer
}

// ErrOverloaded is returned at once, without blocking, for a request that
// would take the queue past Options.MaxQueue samples (or one that can
// never fit it), and for a new per-sample shape while every shape queue is
// in use.
var ErrOverloaded = errors.New("serve: queue full")

// ErrClosed is returned by Predict after Close.
var ErrClosed = errors.New("serve: batcher closed")

// ReplicaError is a replica's failure, returned to every caller of the
// failed batch (and to no other).
type ReplicaError struct {
	Replica int   // the replica's index, 0-based, in NewBatcher's order
	Err     error // the replica's PredictInto error
}

func (e *ReplicaError) Error() string {
	return fmt.Sprintf("serve: replica %d: %v", e.Replica, e.Err)
}

// Unwrap returns the replica's error.
func (e *ReplicaError) Unwrap() error { return e.Err }

// model is what the Batcher needs of a replica: *layers.Sequential, or a
// fake in the tests.
type model interface {
	PredictInto(dst []float32, x layers.Tensor, o layers.PredictOptions) (layers.Tensor, error)
	InputShape() []int
	OutputShape() []int
}

// Batcher serves one model to many concurrent callers: it queues their
// requests by per-sample shape and runs them together, as batches, on the
// first idle replica. Its methods are safe for concurrent use.
type Batcher struct {
	opts     Options
	replicas []model
	inShape  []int // (None, ...), as the replicas give it
	outShape []int
	po       layers.PredictOptions // the replicas' options: one chunk per batch
	minPref  int                   // the smallest preferred size, 0 without
	stats    *counters

	mu     sync.Mutex
	closed bool
	depth  int           // samples queued, every shape
	queues []*shapeQueue // by per-sample shape

	wake    chan struct{} // an idle replica should look again (capacity 1)
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup
	once    sync.Once

	pool sync.Pool // *request
}

// shapeQueue holds the requests of one per-sample shape, oldest first, and
// each replica's gather and scatter buffers for them.
type shapeQueue struct {
	per     []int // the per-sample input shape (batch excluded)
	inPer   int   // floats per input sample
	outPer  int   // floats per output sample
	pending []*request
	samples int // samples in pending
	// outShapes[n] is the result shape of n samples, n <= MaxBatch,
	// shared read-only by PredictInto's results.
	outShapes [][]int
	bufs      []replicaBufs // by replica; each touched by its replica alone
}

// replicaBufs are one replica's buffers for one shape queue, grown to the
// largest batch it has run and reused.
type replicaBufs struct {
	in, out []float32
	shape   []int // the batch's input shape, (n, per...)
}

// request states; transitions happen under request.mu.
const (
	stateQueued    = iota // in a queue's pending list
	stateCancelled        // its caller left before its batch started
	stateRunning          // its input is gathered; its batch runs
	stateAbandoned        // its caller left while its batch ran
	stateDirect           // it runs alone on the caller's own memory
	stateDone             // finished; done has been or is being signalled
)

// request is one Predict call in flight, recycled through Batcher.pool.
type request struct {
	mu    sync.Mutex
	state int
	x     []float32 // the caller's input
	n     int       // samples
	dst   []float32 // the result's memory, n*outPer floats
	q     *shapeQueue
	enq   time.Time
	start time.Time // when its batch started
	comp  time.Duration
	err   error
	// ctxErr is the caller's context error when it ended while the
	// request ran alone (stateDirect): the request ends with it.
	ctxErr error
	done   chan struct{} // capacity 1: signalled once the request is done
}

// NewBatcher returns a Batcher over replicas: one or more models, built
// (Build) with a known input shape, all with the same input and output
// shapes: the same model built on each device, or twice on one. The
// Batcher starts one goroutine per replica; Close stops them. The replicas
// stay the caller's: Close does not close them, and they must stay built
// until Close has returned.
//
// It returns an error wrapping layers.ErrInvalid for options out of range
// (a negative MaxBatch, MaxDelay or MaxQueue, a preferred size outside 1
// to MaxBatch) or no replicas or a nil one, one wrapping layers.ErrNotBuilt
// for a replica not built or whose input shape is unknown, and one
// wrapping layers.ErrShape for replicas whose shapes differ.
func NewBatcher(opts Options, replicas ...*layers.Sequential) (*Batcher, error) {
	ms := make([]model, len(replicas))
	for i, r := range replicas {
		if r == nil {
			return nil, fmt.Errorf("serve: replica %d is nil: %w", i, layers.ErrInvalid)
		}
		if r.Backend() == nil {
			return nil, fmt.Errorf("serve: replica %d (model %q) is not built on a backend; call Build first: %w", i, r.Name(), layers.ErrNotBuilt)
		}
		ms[i] = r
	}
	return newBatcher(opts, ms)
}

func newBatcher(opts Options, replicas []model) (*Batcher, error) {
	if len(replicas) == 0 {
		return nil, fmt.Errorf("serve: a batcher needs at least one replica, got none: %w", layers.ErrInvalid)
	}
	if opts.MaxBatch < 0 || opts.MaxDelay < 0 || opts.MaxQueue < 0 {
		return nil, fmt.Errorf("serve: MaxBatch, MaxDelay and MaxQueue must not be negative, got %d, %v and %d: %w",
			opts.MaxBatch, opts.MaxDelay, opts.MaxQueue, layers.ErrInvalid)
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = DefaultQueueBatches * opts.MaxBatch
	}
	opts.PreferredBatch = slices.Clone(opts.PreferredBatch)
	slices.Sort(opts.PreferredBatch)
	opts.PreferredBatch = slices.Compact(opts.PreferredBatch)
	for _, p := range opts.PreferredBatch {
		if p < 1 || p > opts.MaxBatch {
			return nil, fmt.Errorf("serve: preferred batch size %d is outside 1 to MaxBatch (%d): %w", p, opts.MaxBatch, layers.ErrInvalid)
		}
	}
	in, out := replicas[0].InputShape(), replicas[0].OutputShape()
	for i, r := range replicas {
		if r == nil {
			return nil, fmt.Errorf("serve: replica %d is nil: %w", i, layers.ErrInvalid)
		}
		ri, ro := r.InputShape(), r.OutputShape()
		if ri == nil || ro == nil {
			return nil, fmt.Errorf("serve: replica %d: the model's input shape is unknown: give its first layer an input shape, or Predict once before: %w", i, layers.ErrNotBuilt)
		}
		if !slices.Equal(ri, in) || !slices.Equal(ro, out) {
			return nil, fmt.Errorf("serve: replica %d maps %s to %s, replica 0 %s to %s; replicas must be the same model: %w",
				i, shapeString(ri), shapeString(ro), shapeString(in), shapeString(out), layers.ErrShape)
		}
	}
	b := &Batcher{
		opts:     opts,
		replicas: replicas,
		inShape:  in,
		outShape: out,
		po:       layers.PredictOptions{BatchSize: opts.MaxBatch},
		stats:    newCounters(opts.MaxBatch, opts.Observer),
		wake:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
	}
	if len(opts.PreferredBatch) > 0 {
		b.minPref = opts.PreferredBatch[0]
	}
	b.pool.New = func() any { return &request{done: make(chan struct{}, 1)} }
	b.wg.Add(len(replicas))
	for i := range replicas {
		go b.work(i)
	}
	return b, nil
}

// InputShape returns the model's input shape, the batch axis first as
// None (layers.None), as layers gives it.
func (b *Batcher) InputShape() []int { return slices.Clone(b.inShape) }

// OutputShape returns the model's output shape, the batch axis first as
// None.
func (b *Batcher) OutputShape() []int { return slices.Clone(b.outShape) }

// Options returns the batcher's options with every default filled in
// (MaxBatch, MaxDelay, MaxQueue) and PreferredBatch sorted, as a server
// reports its model's configuration.
func (b *Batcher) Options() Options {
	o := b.opts
	o.PreferredBatch = slices.Clone(o.PreferredBatch)
	return o
}

// Replicas returns the number of replicas.
func (b *Batcher) Replicas() int { return len(b.replicas) }

// Stats returns a snapshot of the batcher's counters.
func (b *Batcher) Stats() Stats {
	b.mu.Lock()
	depth := b.depth
	b.mu.Unlock()
	return b.stats.snapshot(depth)
}

// Predict runs the model on x, of shape (n, ...per-sample shape), n >= 1,
// within a batch with other callers' requests of the same per-sample
// shape, and returns the output, of shape (n, ...output shape): x's rows
// of the batch's output, the values the replica's own Predict of x gives
// (bit for bit where the device computes a row alike at every batch size;
// see the package documentation). It is safe for any number of
// goroutines; x must not change until it returns.
//
// It returns ctx.Err() at once when ctx ends before the result is ready
// (the request leaves its queue, or its batch's other callers go on
// without it); ErrOverloaded at once when the queue is full; ErrClosed
// after Close; the error the model's Predict gives for an input that does
// not fit it (wrapping layers.ErrShape); and a *ReplicaError when the
// replica running its batch fails. An empty batch (n = 0) gives the
// model's empty result at once.
func (b *Batcher) Predict(ctx context.Context, x layers.Tensor) (layers.Tensor, error) {
	y, err := b.predict(ctx, nil, x, true)
	return y, err
}

// PredictInto is Predict writing the result into dst's memory when
// cap(dst) holds it (else into a new slice), as layers' PredictInto: the
// result's Data is dst[:size] or the new slice. With such a dst it
// allocates nothing in steady state; the result's Shape is then shared
// with other results of the same shape and must not be modified. dst must
// not overlap x.Data (an error wrapping layers.ErrInvalid), and must not
// be touched until PredictInto returns.
func (b *Batcher) PredictInto(ctx context.Context, dst []float32, x layers.Tensor) (layers.Tensor, error) {
	return b.predict(ctx, dst, x, false)
}

func (b *Batcher) predict(ctx context.Context, dst []float32, x layers.Tensor, own bool) (layers.Tensor, error) {
	enq := time.Now()
	if err := ctx.Err(); err != nil {
		b.stats.request(requestSamples(x), 0, 0, err, outcomeCancelled)
		return layers.Tensor{}, err
	}
	if !wellFormed(x) {
		// Empty or malformed: the model says what it says of it.
		return b.direct(dst, x, enq)
	}
	n := x.Shape[0]
	per := x.Shape[1:]

	b.mu.Lock()
	q, err := b.admit(per, n, nil)
	if q == nil && err == nil { // a shape not queued yet: check it with the model
		b.mu.Unlock()
		nq, verr := b.newQueue(per)
		if verr != nil {
			b.stats.request(n, time.Since(enq), 0, verr, outcomeFailed)
			return layers.Tensor{}, verr
		}
		b.mu.Lock()
		q, err = b.admit(per, n, nq)
	}
	if err != nil {
		b.mu.Unlock()
		b.stats.request(n, time.Since(enq), 0, err, outcomeRejected)
		return layers.Tensor{}, err
	}
	size := n * q.outPer
	var out []float32
	if cap(dst) >= size {
		out = dst[:size]
		if overlap(out, x.Data) {
			b.mu.Unlock()
			err := fmt.Errorf("serve: predict: the output slice overlaps the input's data: %w", layers.ErrInvalid)
			b.stats.request(n, time.Since(enq), 0, err, outcomeFailed)
			return layers.Tensor{}, err
		}
	} else {
		b.mu.Unlock()
		out = make([]float32, size) // the caller's result
		b.mu.Lock()
		if q, err = b.admit(per, n, q); err != nil {
			b.mu.Unlock()
			b.stats.request(n, time.Since(enq), 0, err, outcomeRejected)
			return layers.Tensor{}, err
		}
	}
	r := b.pool.Get().(*request)
	r.state, r.x, r.n, r.dst, r.q, r.enq, r.err, r.comp = stateQueued, x.Data, n, out, q, enq, nil, 0
	wasEmpty := len(q.pending) == 0
	q.pending = append(q.pending, r)
	q.samples += n
	b.depth += n
	ready := wasEmpty || q.samples >= b.opts.MaxBatch || (b.minPref > 0 && q.samples >= b.minPref)
	b.mu.Unlock()
	if ready {
		b.signal()
	}

	select {
	case <-r.done:
	case <-ctx.Done():
		if err := ctx.Err(); b.leave(r, err) {
			return layers.Tensor{}, err
		}
		<-r.done // it finished, or runs alone on the caller's memory
	}
	err = r.err
	shape := q.resultShape(n, own)
	b.pool.Put(r.reset())
	if err != nil {
		return layers.Tensor{}, err
	}
	return layers.Tensor{Shape: shape, Data: out}, nil
}

// leave handles a caller whose context ended, with err, while r was in
// flight. It reports whether the caller may return err now. If so, r is
// no longer the caller's: a request that leaves is never recycled (a
// replica may still hold it), only dropped. If not, r is done, or runs
// alone on the caller's memory and will end with err; the caller waits
// for r.done.
func (b *Batcher) leave(r *request, err error) bool {
	r.mu.Lock()
	q, n := r.q, r.n
	switch r.state {
	case stateQueued:
		r.state = stateCancelled
		waited := time.Since(r.enq)
		r.mu.Unlock()
		b.unqueue(q, r, n) // else a replica took it and drops it at its gather
		b.stats.request(n, waited, 0, err, outcomeCancelled)
		return true
	case stateRunning:
		r.state = stateAbandoned // the replica drops it after its batch
		waited := r.start.Sub(r.enq)
		r.mu.Unlock()
		b.stats.request(n, waited, 0, err, outcomeCancelled)
		return true
	case stateDirect:
		r.ctxErr = err
	}
	r.mu.Unlock()
	return false
}

// unqueue removes r, of n samples, cancelled, from q if it is still
// there.
func (b *Batcher) unqueue(q *shapeQueue, r *request, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.Index(q.pending, r); i >= 0 {
		q.pending = slices.Delete(q.pending, i, i+1)
		q.samples -= n
		b.depth -= n
	}
}

// reset clears r for the pool, keeping its channel.
func (r *request) reset() *request {
	r.x, r.dst, r.q, r.err, r.ctxErr = nil, nil, nil, nil, nil
	return r
}

// resultShape returns the result shape of n samples: shared for
// PredictInto, the caller's own for Predict.
func (q *shapeQueue) resultShape(n int, own bool) []int {
	if n < len(q.outShapes) && !own {
		return q.outShapes[n]
	}
	s := slices.Clone(q.outShapes[1])
	s[0] = n
	return s
}

// admit finds the queue of per under b.mu, adding made (a queue for per
// that the caller made, if not nil) when there is none, and checks that
// the batcher is open and has room for n more samples. It returns (nil,
// nil) when no queue holds that shape and made is nil: the caller checks
// the shape with the model (newQueue) and comes back.
func (b *Batcher) admit(per []int, n int, made *shapeQueue) (*shapeQueue, error) {
	if b.closed {
		return nil, ErrClosed
	}
	var q *shapeQueue
	for _, c := range b.queues {
		if slices.Equal(c.per, per) {
			q = c
			break
		}
	}
	if q == nil {
		if made == nil {
			return nil, nil
		}
		var err error
		if q, err = b.addQueue(made); err != nil {
			return nil, err
		}
	}
	if n > b.opts.MaxQueue {
		return nil, fmt.Errorf("serve: a request of %d samples is more than the queue holds (MaxQueue %d): %w", n, b.opts.MaxQueue, ErrOverloaded)
	}
	if b.depth+n > b.opts.MaxQueue {
		return nil, ErrOverloaded
	}
	return q, nil
}

// addQueue adds q under b.mu, dropping empty queues when maxShapes are
// kept.
func (b *Batcher) addQueue(q *shapeQueue) (*shapeQueue, error) {
	if len(b.queues) >= maxShapes {
		b.queues = slices.DeleteFunc(b.queues, func(q *shapeQueue) bool { return len(q.pending) == 0 })
		if len(b.queues) >= maxShapes {
			return nil, fmt.Errorf("serve: requests of %d per-sample shapes are waiting already, the most a batcher queues: %w", maxShapes, ErrOverloaded)
		}
	}
	b.queues = append(b.queues, q)
	return q, nil
}

// newQueue checks the per-sample shape per with the first replica (an
// empty batch: the model checks the shape and computes nothing) and
// returns a queue for it, or the model's error.
func (b *Batcher) newQueue(per []int) (*shapeQueue, error) {
	shape := append([]int{0}, per...)
	y, err := b.replicas[0].PredictInto(nil, layers.Tensor{Shape: shape}, b.po)
	if err != nil {
		return nil, err
	}
	q := &shapeQueue{per: slices.Clone(per), inPer: prod(per), outPer: prod(y.Shape[1:]),
		bufs: make([]replicaBufs, len(b.replicas))}
	rank := len(y.Shape)
	back := make([]int, (b.opts.MaxBatch+1)*rank)
	q.outShapes = make([][]int, b.opts.MaxBatch+1)
	for i := range q.outShapes {
		s := back[i*rank : (i+1)*rank : (i+1)*rank]
		copy(s, y.Shape)
		s[0] = i
		q.outShapes[i] = s
	}
	for i := range q.bufs {
		q.bufs[i].shape = slices.Clone(shape)
	}
	return q, nil
}

// direct runs a request that is empty or malformed on the first replica,
// unbatched: the model returns its empty result or its error.
func (b *Batcher) direct(dst []float32, x layers.Tensor, enq time.Time) (layers.Tensor, error) {
	y, err := b.replicas[0].PredictInto(dst, x, b.po)
	n := requestSamples(x)
	if err != nil {
		b.stats.request(n, time.Since(enq), 0, err, outcomeFailed)
		return layers.Tensor{}, err
	}
	b.stats.request(n, time.Since(enq), 0, nil, outcomeOK)
	return y, nil
}

// signal tells an idle replica to look at the queues again.
func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Close stops accepting requests (Predict returns ErrClosed), runs every
// request already queued, and returns once they are finished and the
// replicas' goroutines have ended. It does not close the replicas. It is
// safe to call more than once; later calls wait the same way and return
// nil.
func (b *Batcher) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.closing)
	})
	b.wg.Wait()
	return nil
}

// work is replica rep's goroutine: it takes the next batch that is due,
// runs it, and answers its callers, until Close.
func (b *Batcher) work(rep int) {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []*request
	for {
		b.mu.Lock()
		var q *shapeQueue
		for {
			var wait time.Duration
			q, wait = b.due(time.Now())
			if q != nil {
				break
			}
			if b.closed && b.depth == 0 {
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
			if wait > 0 {
				timer.Reset(wait)
			}
			select {
			case <-b.wake:
			case <-timer.C:
			case <-b.closing: // from now on every queue is due
			}
			timer.Stop()
			b.mu.Lock()
		}
		batch = b.cut(q, batch[:0])
		more := b.depth > 0
		b.mu.Unlock()
		if more {
			b.signal() // another idle replica may take what is left
		}
		b.run(rep, q, batch)
		clear(batch)
	}
}

// due returns the queue whose batch should run now, under b.mu: one
// whose head fills MaxBatch or a preferred size, or whose oldest request
// has waited MaxDelay, or any queue once closed; the oldest head first.
// Otherwise it returns how long until the first head's MaxDelay ends (0:
// nothing queued).
func (b *Batcher) due(now time.Time) (*shapeQueue, time.Duration) {
	var best *shapeQueue
	var next time.Duration
	for _, q := range b.queues {
		if len(q.pending) == 0 {
			continue
		}
		head := q.pending[0].enq
		waited := now.Sub(head)
		ready := b.closed || waited >= b.opts.MaxDelay || q.samples >= b.opts.MaxBatch || b.preferred(q) > 0
		if ready {
			if best == nil || head.Before(best.pending[0].enq) {
				best = q
			}
			continue
		}
		if left := b.opts.MaxDelay - waited; next == 0 || left < next {
			next = left
		}
	}
	return best, next
}

// preferred returns how many head requests of q add up to the largest
// preferred batch size they can fill exactly, or 0.
func (b *Batcher) preferred(q *shapeQueue) int {
	if b.minPref == 0 || q.samples < b.minPref {
		return 0
	}
	k, sum := 0, 0
	for i, r := range q.pending {
		sum += r.n
		if sum > b.opts.MaxBatch {
			break
		}
		if _, ok := slices.BinarySearch(b.opts.PreferredBatch, sum); ok {
			k = i + 1
		}
	}
	return k
}

// cut removes the next batch's requests from q, under b.mu, and appends
// them to batch: the head requests that fill the largest preferred size,
// else as many head requests as fit MaxBatch, else the head request alone
// (larger than MaxBatch).
func (b *Batcher) cut(q *shapeQueue, batch []*request) []*request {
	k := b.preferred(q)
	if k == 0 {
		sum := 0
		for _, r := range q.pending {
			if sum+r.n > b.opts.MaxBatch {
				break
			}
			sum += r.n
			k++
		}
		k = max(k, 1)
	}
	samples := 0
	for _, r := range q.pending[:k] {
		samples += r.n
	}
	batch = append(batch, q.pending[:k]...)
	q.pending = slices.Delete(q.pending, 0, k)
	q.samples -= samples
	b.depth -= samples
	return batch
}

// run gathers batch's inputs into replica rep's buffer for q, runs the
// replica, and scatters the result to the callers.
func (b *Batcher) run(rep int, q *shapeQueue, batch []*request) {
	if len(batch) == 1 && batch[0].n > b.opts.MaxBatch {
		b.runAlone(rep, q, batch[0])
		return
	}
	bufs := &q.bufs[rep]
	start := time.Now()
	// Gather: cancelled requests drop out; the rest run.
	total := 0
	for _, r := range batch {
		total += r.n
	}
	if need := total * q.inPer; cap(bufs.in) < need {
		bufs.in = make([]float32, need)
	}
	if need := total * q.outPer; cap(bufs.out) < need {
		bufs.out = make([]float32, need)
	}
	n, live := 0, 0
	for i, r := range batch {
		r.mu.Lock()
		if r.state == stateCancelled {
			r.mu.Unlock()
			batch[i] = nil // dropped, not recycled: see leave
			continue
		}
		copy(bufs.in[n*q.inPer:], r.x[:r.n*q.inPer])
		r.state, r.start = stateRunning, start
		r.x = nil // the caller may reuse its input from now on
		r.mu.Unlock()
		n += r.n
		live++
	}
	if live == 0 {
		return
	}
	bufs.shape[0] = n
	x := layers.Tensor{Shape: bufs.shape, Data: bufs.in[:n*q.inPer]}
	t0 := time.Now()
	y, err := b.replicas[rep].PredictInto(bufs.out[:n*q.outPer], x, b.po)
	comp := time.Since(t0)
	if err == nil && len(y.Data) != n*q.outPer {
		err = fmt.Errorf("serve: the replica returned %d floats for %d samples, want %d", len(y.Data), n, n*q.outPer)
	}
	if err != nil {
		err = &ReplicaError{Replica: rep, Err: err}
	}
	b.stats.batch(rep, n, live, comp, err == nil)
	// Scatter.
	off := 0
	for _, r := range batch {
		if r == nil {
			continue
		}
		rows := r.n * q.outPer
		r.mu.Lock()
		if r.state == stateAbandoned {
			r.mu.Unlock()
			off += rows // dropped, not recycled: see leave
			continue
		}
		if err == nil {
			copy(r.dst, y.Data[off:off+rows])
		}
		r.err, r.comp, r.state = err, comp, stateDone
		r.mu.Unlock()
		off += rows
		b.finish(r, err, outcomeFor(err))
		r.done <- struct{}{}
	}
}

// runAlone runs r, larger than MaxBatch, as a batch of its own, straight
// from the caller's input into the caller's result memory.
func (b *Batcher) runAlone(rep int, q *shapeQueue, r *request) {
	r.mu.Lock()
	if r.state == stateCancelled {
		r.mu.Unlock()
		return // dropped, not recycled: see leave
	}
	r.state, r.start = stateDirect, time.Now()
	r.mu.Unlock()
	shape := append(q.bufs[rep].shape[:0:0], r.n)
	shape = append(shape, q.per...)
	t0 := time.Now()
	_, err := b.replicas[rep].PredictInto(r.dst, layers.Tensor{Shape: shape, Data: r.x}, b.po)
	comp := time.Since(t0)
	if err != nil {
		err = &ReplicaError{Replica: rep, Err: err}
	}
	b.stats.batch(rep, r.n, 1, comp, err == nil)
	r.mu.Lock()
	kind := outcomeFor(err)
	if r.ctxErr != nil { // its caller's context ended while it ran
		err, kind = r.ctxErr, outcomeCancelled
	}
	r.err, r.comp, r.state = err, comp, stateDone
	r.mu.Unlock()
	b.finish(r, err, kind)
	r.done <- struct{}{}
}

// finish records r's end in the statistics.
func (b *Batcher) finish(r *request, err error, kind outcome) {
	b.stats.request(r.n, r.start.Sub(r.enq), r.comp, err, kind)
}

func outcomeFor(err error) outcome {
	if err != nil {
		return outcomeFailed
	}
	return outcomeOK
}

// wellFormed reports whether x has a batch axis of at least one sample,
// every other axis positive, and as many values as its shape says.
func wellFormed(x layers.Tensor) bool {
	if len(x.Shape) < 2 || x.Shape[0] < 1 {
		return false
	}
	n := 1
	for _, d := range x.Shape {
		if d < 1 || n > len(x.Data)/d {
			return false
		}
		n *= d
	}
	return n == len(x.Data)
}

// requestSamples is x's batch, 0 for a tensor without one.
func requestSamples(x layers.Tensor) int {
	if len(x.Shape) == 0 || x.Shape[0] < 0 {
		return 0
	}
	return x.Shape[0]
}

// overlap reports whether a and b share memory.
func overlap(a, b []float32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+4*uintptr(len(b)) && b0 < a0+4*uintptr(len(a))
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// shapeString writes a shape as Python writes a tuple: (None, 784).
func shapeString(s []int) string {
	out := "("
	for i, d := range s {
		if i > 0 {
			out += ", "
		}
		if d < 0 {
			out += "None"
		} else {
			out += fmt.Sprint(d)
		}
	}
	if len(s) == 1 {
		out += ","
	}
	return out + ")"
}
