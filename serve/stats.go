package serve

import (
	"sync/atomic"
	"time"
)

// Observer receives the batcher's events, for metrics. Implementations
// must be safe for concurrent use and cheap: they are called on the paths
// that serve requests.
type Observer interface {
	// Batch is called once per batch run, from the goroutine of the
	// replica that ran it: which replica (0-based, the order given to
	// NewBatcher), how many samples, how many requests, and how long the
	// replica's PredictInto took (failed runs included).
	Batch(replica, samples, requests int, compute time.Duration)
	// Request is called once per finished request, success or error: its
	// samples, the time from Predict's call to its batch's start (queue;
	// to its end where it never ran) and its batch's compute time (0 if it
	// never ran or was cancelled while it ran), and its error: nil,
	// ctx.Err(), ErrOverloaded, ErrClosed, a shape error wrapping
	// layers.ErrShape (or layers.ErrInvalid for a malformed call), or a
	// *ReplicaError. It is called from the replica's goroutine for requests
	// that ran, and from the caller's for the others.
	Request(samples int, queue, compute time.Duration, err error)
}

// Stats is a snapshot of a Batcher's counters (Batcher.Stats). Counts
// start at zero when the Batcher is made and only grow; QueueDepth is the
// present value.
type Stats struct {
	// QueueDepth is the number of samples waiting now, every per-sample
	// shape together (at most Options.MaxQueue).
	QueueDepth int
	// Requests, Samples and Batches count what finished successfully:
	// requests answered with their result, their samples, and the batches
	// run without error.
	Requests, Samples, Batches uint64
	// Rejected counts requests refused with ErrOverloaded or ErrClosed;
	// Cancelled those that ended with their context's error (before or
	// while their batch ran); Failed those that got a shape error or a
	// *ReplicaError.
	Rejected, Cancelled, Failed uint64
	// BatchSizes[i] is the number of batches run (successful or not) of i
	// samples; len(BatchSizes) is MaxBatch+1, and BatchSizes[MaxBatch]
	// also counts the runs of single requests larger than MaxBatch.
	BatchSizes []uint64
	// QueueTime and ComputeTime are totals over the requests counted in
	// Requests: the time each waited from Predict's call to the start of
	// its batch, and its batch's PredictInto time. Divide by Requests for
	// the means.
	QueueTime, ComputeTime time.Duration
}

// counters are a Batcher's statistics, updated atomically.
type counters struct {
	requests, samples, batches  atomic.Uint64
	rejected, cancelled, failed atomic.Uint64
	queueNanos, computeNanos    atomic.Int64
	sizes                       []atomic.Uint64 // len MaxBatch+1
	obs                         Observer
}

func newCounters(maxBatch int, obs Observer) *counters {
	return &counters{sizes: make([]atomic.Uint64, maxBatch+1), obs: obs}
}

// batch records a batch run of samples samples and requests requests.
func (c *counters) batch(replica, samples, requests int, compute time.Duration, ok bool) {
	if ok {
		c.batches.Add(1)
	}
	c.sizes[min(samples, len(c.sizes)-1)].Add(1)
	if c.obs != nil {
		c.obs.Batch(replica, samples, requests, compute)
	}
}

// request records a finished request.
func (c *counters) request(samples int, queue, compute time.Duration, err error, kind outcome) {
	switch kind {
	case outcomeOK:
		c.requests.Add(1)
		c.samples.Add(uint64(samples))
		c.queueNanos.Add(int64(queue))
		c.computeNanos.Add(int64(compute))
	case outcomeRejected:
		c.rejected.Add(1)
	case outcomeCancelled:
		c.cancelled.Add(1)
	case outcomeFailed:
		c.failed.Add(1)
	}
	if c.obs != nil {
		c.obs.Request(samples, queue, compute, err)
	}
}

// outcome classifies a finished request for the counters.
type outcome int

const (
	outcomeOK outcome = iota
	outcomeRejected
	outcomeCancelled
	outcomeFailed
)

// snapshot returns the counters as Stats, with depth as QueueDepth.
func (c *counters) snapshot(depth int) Stats {
	s := Stats{
		QueueDepth:  depth,
		Requests:    c.requests.Load(),
		Samples:     c.samples.Load(),
		Batches:     c.batches.Load(),
		Rejected:    c.rejected.Load(),
		Cancelled:   c.cancelled.Load(),
		Failed:      c.failed.Load(),
		BatchSizes:  make([]uint64, len(c.sizes)),
		QueueTime:   time.Duration(c.queueNanos.Load()),
		ComputeTime: time.Duration(c.computeNanos.Load()),
	}
	for i := range c.sizes {
		s.BatchSizes[i] = c.sizes[i].Load()
	}
	return s
}
