package layers

import (
	"fmt"

	"github.com/densecl/densecl/fallback"
	"github.com/densecl/densecl/kernels"
)

// Buffer is float32 storage that belongs to a Backend: device memory for
// OpenCL, host memory for the fallback.
type Buffer interface {
	// Len returns the number of float32 elements.
	Len() int
}

// Backend is the set of operations a model runs on. Two implementations
// exist: OpenCL (a device.Device) and Fallback (pure Go). Every method is
// safe for concurrent use; buffers passed to one call must not be written by
// another call at the same time. Operations may run asynchronously: Download
// and Finish wait for everything enqueued before them.
type Backend interface {
	// Name describes the backend and its device.
	Name() string
	// Alloc returns a buffer of n float32 elements, n >= 1.
	Alloc(n int) (Buffer, error)
	// Release frees a buffer; releasing twice is not an error.
	Release(b Buffer) error
	// Upload copies src into dst starting at element off.
	Upload(dst Buffer, off int, src []float32) error
	// Download copies len(dst) elements of src starting at element off.
	Download(dst []float32, src Buffer, off int) error
	// Gemm runs the fused GEMM g; bias may be nil when g.Bias is false.
	Gemm(g kernels.Gemm, a, b, c, bias Buffer) error
	// Softmax runs softmax or log_softmax over rows.
	Softmax(s kernels.Softmax, src, dst Buffer) error
	// Activate applies an activation elementwise.
	Activate(e kernels.Elementwise, src, dst Buffer) error
	// Finish waits until every operation enqueued so far has completed.
	Finish() error
}

// Fuser is implemented by backends that can run two Dense layers as one
// kernel, the hidden activations never stored (kernels.Dense2). Predict
// uses it for each pair of consecutive Dense layers that kernels.Fusible
// accepts and Fuses approves; b1 and b2 are nil for layers without a bias.
type Fuser interface {
	// Fuses reports whether Dense2 is the faster way to run f on this
	// backend than two products (its M is not yet known: 1).
	Fuses(f kernels.Dense2) bool
	Dense2(f kernels.Dense2, x, w1, b1, w2, b2, y Buffer) error
}

// Packer is implemented by backends that prepare a Dense layer's kernel
// once for every later product (OpenCL packs it into the panels its GEMM
// reads). Layers pack each kernel when its weights are uploaded and run
// their products with GemmPacked.
type Packer interface {
	// PackB prepares op(B), as g's K, N, TransB, OffB and LDB describe it.
	PackB(g kernels.Gemm, b Buffer) (Packed, error)
	// GemmPacked is Gemm with B prepared by PackB.
	GemmPacked(g kernels.Gemm, a Buffer, pb Packed, c, bias Buffer) error
}

// Packed is an operand prepared by a Packer.
type Packed interface {
	Release() error
}

// AsyncUploader is implemented by backends whose uploads can proceed
// while the host goes on. Predict uses it to enqueue a chunk's upload and
// work before it downloads the previous chunk's result.
type AsyncUploader interface {
	// NewEvent returns an Event that holds no operation, as Streamer's.
	NewEvent() Event
	// UploadAsync enqueues a copy of src into dst at element off, records
	// it in ev (which must hold none: new, or released since) and returns
	// at once; operations enqueued later see the data. src must not
	// change until ev's Wait or Release, one of which must be called.
	UploadAsync(ev Event, dst Buffer, off int, src []float32) error
}

// HostWrapper is implemented by backends that can run on host memory in
// place. Where WrapsHost says it pays (OpenCL on a CPU device, whose memory
// is the host's), Predict wraps each chunk's input and output slices
// instead of copying them up and down.
type HostWrapper interface {
	// WrapsHost reports whether running on wrapped host memory is faster
	// than copying it.
	WrapsHost() bool
	// WrapHost returns a buffer over data; readOnly declares that nothing
	// writes it. data must stay untouched by the host while operations
	// that use the buffer may run, and the buffer is released only after
	// a SyncHost or Finish that follows its last use. Predict keeps the
	// buffers for its next call (see HostInPlace).
	WrapHost(data []float32, readOnly bool) (Buffer, error)
	// SyncHost waits for every operation enqueued so far and makes their
	// writes to the first n elements of b, a wrapped buffer, visible in
	// its host slice (Predict may run on a prefix of a wrapped slice).
	SyncHost(b Buffer, n int) error
}

// Streamer is implemented by backends whose memory is their own (a GPU's),
// where Predict streams: each chunk's input is copied into pinned staging
// memory and uploaded on a transfer queue while the previous chunk
// computes and the one before comes down on another, the queues ordered
// by events; the result reaches the caller's slice with one copy out of
// staging. Where Streams says it pays, Predict uses it (see
// PredictOptions and EnvPredict).
type Streamer interface {
	// Streams reports whether streaming through pinned staging memory is
	// the fast way to move data to and from this backend.
	Streams() bool
	// AllocStaging returns pinned host memory of n float32 elements.
	AllocStaging(n int) (Staging, error)
	// NewEvent returns an Event that holds no operation. UploadStaged,
	// ComputeMark and DownloadStaged record their operation in an Event
	// that holds none (new, or released since), so that Predict keeps a
	// few Events and makes none per call.
	NewEvent() Event
	// UploadStaged enqueues a copy of the first n elements of s into dst
	// at element 0 and records it in ev. s must not change until ev has
	// completed.
	UploadStaged(ev Event, dst Buffer, s Staging, n int) error
	// ComputeAfter makes the operations enqueued after it wait for the
	// operation that after holds.
	ComputeAfter(after Event) error
	// ComputeMark records in ev an operation that completes once every
	// operation enqueued before it has.
	ComputeMark(ev Event) error
	// DownloadStaged enqueues a copy of n elements of src from element 0
	// into the first n of s, to start after the operation that after holds
	// (none where after is nil), and records it in ev; s holds them once
	// ev has completed.
	DownloadStaged(ev Event, s Staging, src Buffer, n int, after Event) error
}

// Staging is pinned host memory from a Streamer.
type Staging interface {
	// Host returns the memory, Len elements.
	Host() []float32
	// Len returns the number of float32 elements.
	Len() int
	// Release frees the memory; releasing twice is not an error.
	Release() error
}

// Event is an operation in flight on a Streamer, or a place for one
// (Streamer.NewEvent).
type Event interface {
	// Wait blocks until the operation has completed; with none, it
	// returns at once.
	Wait() error
	// Release frees the operation's event, waiting for a transfer first,
	// and leaves the Event holding none, ready for the next; releasing
	// one that holds none is not an error.
	Release() error
}

// Fallback returns the pure-Go backend: host memory and gonum's blas32.
func Fallback() Backend { return hostBackend{} }

type hostBuffer struct{ data []float32 }

func (b *hostBuffer) Len() int { return len(b.data) }

type hostBackend struct{}

func (hostBackend) Name() string { return "fallback (pure Go, gonum blas32)" }

func (hostBackend) Alloc(n int) (Buffer, error) {
	if n < 1 {
		return nil, fmt.Errorf("layers: fallback: buffer size must be at least 1, got %d", n)
	}
	return &hostBuffer{data: make([]float32, n)}, nil
}

func (hostBackend) Release(b Buffer) error {
	if hb, ok := b.(*hostBuffer); ok {
		hb.data = nil
	}
	return nil
}

func host(b Buffer, what string) ([]float32, error) {
	if b == nil {
		return nil, nil
	}
	hb, ok := b.(*hostBuffer)
	if !ok {
		return nil, fmt.Errorf("layers: fallback: %s is a %T, not a fallback buffer", what, b)
	}
	return hb.data, nil
}

func (hostBackend) Upload(dst Buffer, off int, src []float32) error {
	d, err := host(dst, "upload destination")
	if err != nil {
		return err
	}
	if off < 0 || off+len(src) > len(d) {
		return fmt.Errorf("layers: fallback: upload of %d floats at offset %d into a buffer of %d", len(src), off, len(d))
	}
	copy(d[off:], src)
	return nil
}

func (hostBackend) Download(dst []float32, src Buffer, off int) error {
	s, err := host(src, "download source")
	if err != nil {
		return err
	}
	if off < 0 || off+len(dst) > len(s) {
		return fmt.Errorf("layers: fallback: download of %d floats at offset %d from a buffer of %d", len(dst), off, len(s))
	}
	copy(dst, s[off:])
	return nil
}

func (hostBackend) Gemm(g kernels.Gemm, a, b, c, bias Buffer) error {
	var bufs [4][]float32
	for i, x := range []struct {
		b    Buffer
		name string
	}{{a, "A"}, {b, "B"}, {c, "C"}, {bias, "bias"}} {
		d, err := host(x.b, x.name)
		if err != nil {
			return err
		}
		bufs[i] = d
	}
	return fallback.Gemm(g, bufs[0], bufs[1], bufs[2], bufs[3])
}

func (hostBackend) Softmax(s kernels.Softmax, src, dst Buffer) error {
	in, err := host(src, "softmax input")
	if err != nil {
		return err
	}
	out, err := host(dst, "softmax output")
	if err != nil {
		return err
	}
	return fallback.Softmax(s, in, out)
}

func (hostBackend) Activate(e kernels.Elementwise, src, dst Buffer) error {
	in, err := host(src, "activation input")
	if err != nil {
		return err
	}
	out, err := host(dst, "activation output")
	if err != nil {
		return err
	}
	return fallback.Activate(e, in, out)
}

func (hostBackend) Finish() error { return nil }

// HostInPlace is implemented by HostWrappers whose operations read and
// write the wrapped host memory itself (OpenCL on a device whose memory is
// the host's), so that a wrapped buffer sees what the host wrote into its
// slice between operations. Predict then keeps an input's buffer for a
// next call over the same slice; otherwise it wraps the input again each
// call.
type HostInPlace interface {
	HostInPlace() bool
}

// Preparer is implemented by backends that can make one operation ready
// once and then run it many times with little host work: on OpenCL, its
// program built, its kernel's unchanging arguments set once, and each run
// one enqueue that passes only the buffers that changed and makes no
// event. Predict prepares the steps of a plan for its chunk size.
//
// Each Prepare method returns nil and no error where the backend runs the
// operation in more than one launch (then Predict calls the plain
// method). g's, f's, s's and e's sizes are those of every later run.
type Preparer interface {
	// PrepareGemm prepares GemmPacked(g, ·, pb, ·, ·).
	PrepareGemm(g kernels.Gemm, pb Packed) (Prepared, error)
	// PrepareDense2 prepares Dense2(f, ...) (see Fuser).
	PrepareDense2(f kernels.Dense2) (Prepared, error)
	// PrepareSoftmax prepares Softmax(s, ·, ·).
	PrepareSoftmax(s kernels.Softmax) (Prepared, error)
	// PrepareActivate prepares Activate(e, ·, ·).
	PrepareActivate(e kernels.Elementwise) (Prepared, error)
	// RunPrepared enqueues p over bufs, in the order of the arguments of
	// the method it prepares: a product's A, B (nil: the packed B), C and
	// bias (C where the layer has none); a fused pair's x, w1, b1, w2, b2
	// and y (a missing bias: the layer's kernel); a softmax's or an
	// activation's src and dst. The buffers must be as long as the
	// operation needs; the bufs array, passed by value, costs no
	// allocation.
	RunPrepared(p Prepared, bufs [6]Buffer) error
}

// Prepared is an operation made ready by a Preparer.
type Prepared any
