// Package serve serves one model to many concurrent callers. Its Batcher
// is a dynamic batcher, in process: it turns the single-sample requests
// that a Go service receives, one per goroutine, into the batches densecl
// is fast at, and runs them on one or more model replicas.
//
// # Use
//
//	m, err := layers.Load("model.keras") // or layers.NewSequential(...)
//	err = m.Build(layers.OpenCL(dev))
//	b, err := serve.NewBatcher(serve.Options{MaxBatch: 64, MaxDelay: time.Millisecond}, m)
//	defer b.Close()
//	// in each request's goroutine:
//	y, err := b.Predict(ctx, layers.Tensor{Shape: []int{1, 784}, Data: sample})
//
// Give the same model built on each device, or twice on one device, for
// more replicas: a batch goes to the first idle one.
//
// # Shapes and storage
//
// Tensors are layers.Tensor: float32, row-major, the batch (axis 0)
// first. A request carries n >= 1 samples; its result is its n rows of
// the batch's output. A Dense layer's row does not depend on the other
// rows of its batch, so these are what the replica's own Predict of the
// request's input gives: bit for bit wherever the device computes a row
// the same way at both batch sizes (the fallback, which the tests check),
// and within float32 rounding where it does not. On an OpenCL device a
// small batch runs a Dense chain as one fused kernel and a large one as
// products (layers: the device's chain crossover), and PoCL's GEMM rounds
// some rows differently at 256 rows than at one: the tests check that
// ||batched − lone|| ≤ 1e-5·||lone|| per request there.
// Requests queue by per-sample shape (the shape without axis 0): only
// requests of one shape share a batch, so a model whose input shape has
// None axes serves each shape from its own queue.
//
// # When a batch runs
//
// The rules are Triton's dynamic batcher's (max_batch_size,
// max_queue_delay_microseconds, preferred_batch_size). A replica that is
// idle takes the next batch that is due, from the queue whose oldest
// request is oldest:
//
//   - at once, when the requests at the head of a queue add up to one of
//     Options.PreferredBatch: the largest such size;
//   - at once, when the queue holds MaxBatch samples or more: as many head
//     requests as fit MaxBatch;
//   - when the oldest request of a queue has waited MaxDelay: as many head
//     requests as fit MaxBatch.
//
// Requests join a batch whole and in the order they came. While every
// replica is busy, requests wait and batches grow, so that a loaded
// batcher runs full batches with no delay spent waiting.
//
// # Errors
//
// A request ends with its result or with exactly one error, and only its
// own: ctx.Err() when its context ends first (it leaves the queue, or the
// batch it is in, which runs on for its other callers);
// ErrOverloaded when the queue is full (at once, never blocking);
// ErrClosed after Close; the error the model's Predict gives for an input
// that does not fit the model (wrapping layers.ErrShape, checked before
// the request queues, so it never reaches a batch); a *ReplicaError,
// naming the replica, when the replica running its batch fails: that
// batch's callers get it, and the replica goes on serving.
//
// # Memory
//
// Each replica gathers a batch's inputs into its own buffer for the
// queue's shape and scatters the results from another; both are reused
// from batch to batch. Requests are recycled. A request allocates nothing
// beyond the caller's result, and nothing at all through PredictInto with
// a result slice that holds it (the model's own PredictInto may still
// allocate a little per batch).
//
// # Where densecl differs from Triton and TensorFlow Serving
//
//   - A request larger than MaxBatch is accepted, not refused (Triton
//     refuses a request whose batch exceeds max_batch_size; TensorFlow
//     Serving splits it only with enable_large_batch_splitting). It runs
//     as a batch of its own on the first idle replica, straight from the
//     caller's input into the caller's result, in chunks of MaxBatch; its
//     samples count against MaxQueue, and one larger than MaxQueue gets
//     ErrOverloaded.
//   - Batches are not padded (TensorFlow Serving pads to
//     allowed_batch_sizes): densecl runs any batch size.
//   - MaxDelay defaults to 1 ms, where Triton's default delay is 0; with
//     MaxDelay a request waits for company only while a replica is idle.
//   - A request whose context ends while its batch runs returns ctx.Err()
//     at once, as one still queued does; Triton cancels only queued
//     requests.
//   - One queue per per-sample shape, at most 16 shapes at once, stands
//     in for Triton's ragged batching, which densecl does not do.
//   - There are no priority levels, queue timeouts besides the caller's
//     context, or sequence batching.
package serve
