package layers

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/densecl/densecl/internal/pyshape"
	"github.com/densecl/densecl/kernels"
)

// DefaultBatchSize is the number of samples Predict runs at once unless
// told otherwise: 32, as Keras's predict.
const DefaultBatchSize = 32

// DefaultMaxBytes bounds the backend memory that one Predict call's
// intermediates take unless told otherwise: 256 MiB.
const DefaultMaxBytes = 256 << 20

// StreamChunkBytes is the input and output bytes of a chunk where Predict
// streams and PredictOptions.BatchSize is zero: 4 MiB, about 80 µs on a
// PCIe 5 bus, so that the few launches and events a chunk costs stay
// small beside its transfers while a large batch still makes several
// chunks that overlap.
const StreamChunkBytes = 4 << 20

// maxBufferElems is the most float32 elements one intermediate may hold,
// the kernels' 32-bit indexing limit.
const maxBufferElems = math.MaxInt32

// PredictOptions tunes Predict. The zero value gives Keras's defaults.
type PredictOptions struct {
	// BatchSize is the most samples run at once; zero means 32, or, where
	// Predict streams (Streamer), as many as make StreamChunkBytes of
	// transfers, 32 at least. Large inputs run in chunks of this size; the
	// results do not depend on it.
	BatchSize int
	// MaxBytes bounds the backend memory of one call's buffers (two for
	// the input, two for the output, and two for the largest intermediate
	// that is stored, each a chunk's worth; three inputs and three outputs
	// where Predict streams); zero means DefaultMaxBytes.
	// Chunks shrink to fit, down to one sample.
	MaxBytes int64
	// Unfused runs every layer on its own, even where the backend could
	// run consecutive Dense layers as one kernel (see Chainer and Fuser).
	// The results are the same up to float32 rounding; it is there for
	// comparisons.
	Unfused bool
}

// Predict runs the model on x, of shape (batch, ...input shape), and
// returns the output, of shape (batch, ...output shape). It is
// PredictWith(x, PredictOptions{}).
func (m *Sequential) Predict(x Tensor) (Tensor, error) {
	return m.PredictWith(x, PredictOptions{})
}

// PredictWith runs the model on x in chunks of samples. Each chunk goes up
// to the backend once, runs every layer there with the intermediates kept
// on the backend, and comes down once; on a backend that works on host
// memory in place (HostWrapper: OpenCL on a CPU device), the first layer
// reads x and the last writes the result directly, with no copies. An
// empty batch gives an empty result; NaN and Inf propagate as in Keras.
//
// It returns an error wrapping ErrNotBuilt before Build (a model that Load,
// LoadTFJS or ReadTFJS returned builds itself on DefaultBackend instead)
// or for a model with no layers, and one wrapping ErrShape, in Keras's words, for an input
// whose shape does not fit (nil, wrong rank, wrong axes, or Data of the
// wrong length). If the model's input shape is not known yet, the first
// call fixes it from x and creates the weights, as Keras builds a model on
// its first batch.
func (m *Sequential) PredictWith(x Tensor, o PredictOptions) (Tensor, error) {
	y, err := m.PredictInto(nil, x, o)
	y.Shape = slices.Clone(y.Shape) // PredictInto's is shared
	return y, err
}

// PredictInto is PredictWith writing the result into dst's memory when
// cap(dst) holds it (else into a new slice), as append reuses a slice: the
// returned Tensor's Data is dst[:n] or the new slice. A caller predicting
// in a loop spares the allocation and the first touch of fresh memory,
// which on a CPU device cost about a sixth of a call on the seed model.
// The part of dst that would hold the result must not overlap x.Data (an
// error wrapping ErrInvalid).
//
// In steady state (the same input shape and options, a dst that holds the
// result, on a backend whose operations allocate nothing) PredictInto
// makes no Go allocation: the returned Tensor's Shape is shared with the
// other results of this model for inputs of x's shape, so treat it as
// read-only (copy it before changing it). On a CPU device that works on
// host memory in place, the buffers wrapping x.Data and dst stay open
// (and those slices reachable) until a call with slices at other
// addresses or longer ones, or Close; a call on shorter slices at the
// same addresses (a batcher's prefixes of its buffers) reuses them.
func (m *Sequential) PredictInto(dst []float32, x Tensor, o PredictOptions) (Tensor, error) {
	if o.BatchSize < 0 || o.MaxBytes < 0 {
		return Tensor{}, fmt.Errorf("layers: predict: batch size and memory bound must not be negative, got %d and %d: %w", o.BatchSize, o.MaxBytes, ErrInvalid)
	}
	if err := checkTensor(x); err != nil {
		return Tensor{}, err
	}
	if err := m.buildDefault(); err != nil { // a loaded model builds itself (autobuild.go)
		return Tensor{}, err
	}
	m.mu.RLock()
	if m.inShape == nil && len(m.nodes) > 0 && m.backend != nil {
		m.mu.RUnlock()
		if err := m.buildFrom(x.Shape); err != nil {
			return Tensor{}, err
		}
		m.mu.RLock()
	}
	defer m.mu.RUnlock()
	return m.predict(dst, x, o)
}

// overlap reports whether a and b share memory.
func overlap(a, b []float32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+4*uintptr(len(b)) && b0 < a0+4*uintptr(len(a))
}

// checkTensor validates x's shape against its data.
func checkTensor(x Tensor) error {
	if len(x.Shape) == 0 {
		return fmt.Errorf("layers: predict: the input has no shape (a nil or empty Tensor); want (batch, ...input shape): %w", ErrShape)
	}
	n := 1
	for _, d := range x.Shape {
		if d < 0 {
			return fmt.Errorf("layers: predict: the input shape %v has a negative axis: %w", x.Shape, ErrShape)
		}
		if d > 0 && n > math.MaxInt/d {
			return fmt.Errorf("layers: predict: the input shape %s is too large: %w", pyshape.Tuple(x.Shape), ErrShape)
		}
		n *= d
	}
	if n != len(x.Data) {
		return fmt.Errorf("layers: predict: the input's shape %s needs %d values, but its data has %d: %w", pyshape.Tuple(x.Shape), n, len(x.Data), ErrShape)
	}
	return nil
}

// buildFrom builds a model whose input shape is unknown from the shape of
// its first input.
func (m *Sequential) buildFrom(shape []int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inShape != nil || len(m.nodes) == 0 || m.backend == nil {
		return nil // someone else built it; predict checks the rest
	}
	got := append([]int{None}, shape[1:]...)
	if len(shape) < 2 {
		if n := m.nodes[0]; n.kind == kindDense {
			return incompatibleNdim(n.name, 2, got)
		}
		return fmt.Errorf("layers: predict: the input has shape %s; a model's input needs a batch axis and at least one more: %w", pyshape.Tuple(shape), ErrShape)
	}
	for _, d := range shape[1:] {
		if d == 0 {
			return fmt.Errorf("layers: predict: cannot build model %q from an input of shape %s with an empty axis: %w", m.modelName(), pyshape.Tuple(shape), ErrShape)
		}
	}
	if err := m.buildShapes(shape[1:]); err != nil {
		return err
	}
	for _, n := range m.nodes {
		if err := m.upload(n); err != nil {
			return err
		}
	}
	return nil
}

// predict runs under m.mu held for reading: it finds the plan of x's
// shape and runs it with the plan's executor.
func (m *Sequential) predict(dst []float32, x Tensor, o PredictOptions) (Tensor, error) {
	if len(m.nodes) == 0 {
		return Tensor{}, fmt.Errorf("layers: predict: model %q has no layers: %w", m.modelName(), ErrNotBuilt)
	}
	if m.backend == nil {
		return Tensor{}, fmt.Errorf("layers: predict: model %q is not built on a backend; call Build first: %w", m.modelName(), ErrNotBuilt)
	}
	p, shape, err := m.planShape(x.Shape, o)
	if err != nil {
		return Tensor{}, err
	}
	out := Tensor{Shape: shape}
	if n := pyshape.Elements(shape); cap(dst) >= n {
		if overlap(dst[:n], x.Data) {
			return Tensor{}, fmt.Errorf("layers: predict: the output slice overlaps the input's data: %w", ErrInvalid)
		}
		out.Data = dst[:n]
	} else {
		out.Data = make([]float32, n)
	}
	if p.empty {
		return out, nil
	}
	w := m.getWorkspace()
	defer m.putWorkspace(w)
	var done func()
	if ex, ok := p.backend.(Excluder); ok {
		if done = ex.Exclusive(); done != nil {
			defer done()
		}
	}
	if err := p.exec.predict(m, w, p, x.Data, out.Data); err != nil {
		if done != nil {
			_ = p.backend.Finish() // nothing in flight once the turn ends
		}
		return Tensor{}, err
	}
	return out, nil
}

// writes reports whether node n writes a new buffer (views and linear
// activations do not).
func (n *node) writes() bool {
	switch n.kind {
	case kindDense:
		return true
	case kindActivation:
		return n.act.soft != noSoftmax || !n.act.isLinear()
	case kindTable:
		return n.tableWrites()
	}
	return false
}

// run passes c samples from in through the plan's steps and leaves the
// output in out; in is never written. Intermediates alternate between w's
// two buffers. The steps run as prepared for the plan's chunk size, or,
// for a shorter chunk, for its own (tailSteps).
func (m *Sequential) run(b Backend, w *workspace, p *plan, c int, in, out Buffer) error {
	bufs := [numSlots]Buffer{slotIn: in, slotOut: out, slotMid0: w.bufs[0], slotMid1: w.bufs[1]}
	var tail []stepPrep
	if c < p.chunk {
		tail = m.tailSteps(b, p, c)
	}
	for i := range p.steps {
		s := &p.steps[i]
		var pr stepPrep
		switch {
		case c == p.chunk:
			pr = stepPrep{s.prep, s.packed}
		case tail != nil:
			pr = tail[i]
		}
		if err := m.runStep(b, s, c, bufs[s.src], bufs[s.dst], pr); err != nil {
			return err
		}
	}
	return nil
}

// fusedAt reports whether run fuses nodes i and i+1 on b (a backend that
// fuses pairs but runs no chains: on a Chainer, the pair is a chain).
func (m *Sequential) fusedAt(b Backend, i int, fuse bool) bool {
	fu, ok := b.(Fuser)
	if !ok || !fuse || i+1 >= len(m.nodes) {
		return false
	}
	f, ok := dense2(m.nodes[i], m.nodes[i+1], 1)
	return ok && fu.Fuses(f)
}

// dense2 returns the fused form of Dense layers n and next over rows
// rows, if they can fuse: n's activation elementwise, next's elementwise
// or a softmax, and widths within the fused kernel's limits.
func dense2(n, next *node, rows int) (kernels.Dense2, bool) {
	if n.kind != kindDense || next.kind != kindDense || n.act.soft != noSoftmax ||
		next.inDim != n.units || !kernels.Fusible(n.inDim, n.units, next.units) {
		return kernels.Dense2{}, false
	}
	f := kernels.Dense2{M: rows, K: n.inDim, H: n.units, N: next.units,
		Bias1: n.biBuf != nil, Bias2: next.biBuf != nil, Act1: n.act.elem, Act2: next.act.elem}
	switch next.act.soft {
	case softmaxAxis:
		f.Softmax = kernels.SoftmaxOn
	case logSoftmaxAxis:
		f.Softmax = kernels.LogSoftmax
	}
	return f, true
}

// Forward runs the model on batch samples that are already on the model's
// backend in x (batch × the input's elements per sample) and writes the
// output to y (batch × the output's elements per sample): Predict without
// the host transfers, in one chunk. x is not modified. Both buffers must
// come from the backend the model was built on (Backend().Alloc). It
// returns once the work is enqueued, except where a small batch runs on
// another backend (Router, Excluder: an OpenCL device's companion), where
// it waits for it.
func (m *Sequential) Forward(x, y Buffer, batch int, o PredictOptions) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.nodes) == 0 || m.backend == nil || m.inShape == nil {
		return fmt.Errorf("layers: forward: model %q is not built with a known input shape: %w", m.modelName(), ErrNotBuilt)
	}
	if batch < 1 || x == nil || y == nil {
		return fmt.Errorf("layers: forward: want a batch of at least 1 and two buffers, got batch %d: %w", batch, ErrInvalid)
	}
	if slices.Contains(m.inShape, None) {
		return fmt.Errorf("layers: forward: model %q has input shape %s with an axis of unknown size (None) besides the batch; Forward needs every per-sample axis known: %w",
			m.modelName(), pyshape.Tuple(append([]int{None}, m.inShape...)), ErrShape)
	}
	p, err := m.planFor(append([]int{batch}, m.inShape...), o)
	if err != nil {
		return err
	}
	if x.Len() < batch*p.inPer || y.Len() < batch*p.outPer {
		return fmt.Errorf("layers: forward: %d samples need %d input and %d output floats, the buffers hold %d and %d: %w",
			batch, batch*p.inPer, batch*p.outPer, x.Len(), y.Len(), ErrShape)
	}
	if p.empty {
		return nil
	}
	w := m.getWorkspace()
	defer m.putWorkspace(w)
	if err := w.ensure(p.backend, 0, batch*p.mid, 0, 0); err != nil {
		return err
	}
	var done func()
	if ex, ok := p.backend.(Excluder); ok {
		if done = ex.Exclusive(); done != nil {
			defer done()
		}
	}
	err = m.run(p.backend, w, p, batch, x, y)
	if done != nil || p.backend != m.backend {
		// Routed (Router): y is read on the model's backend, whose queue
		// does not order this one's work; and a backend that runs one
		// call at a time (Excluder) has nothing in flight once it ends.
		if ferr := p.backend.Finish(); err == nil {
			err = ferr
		}
	}
	return err
}
