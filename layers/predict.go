package layers

import (
	"fmt"
	"math"

	"github.com/densecl/densecl/kernels"
)

// DefaultBatchSize is the number of samples Predict runs at once unless
// told otherwise: 32, as Keras's predict.
const DefaultBatchSize = 32

// DefaultMaxBytes bounds the backend memory that one Predict call's
// intermediates take unless told otherwise: 256 MiB.
const DefaultMaxBytes = 256 << 20

// maxBufferElems is the most float32 elements one intermediate may hold,
// the kernels' 32-bit indexing limit.
const maxBufferElems = math.MaxInt32

// PredictOptions tunes Predict. The zero value gives Keras's defaults.
type PredictOptions struct {
	// BatchSize is the most samples run at once; zero means 32. Large
	// inputs run in chunks of this size; the results do not depend on it.
	BatchSize int
	// MaxBytes bounds the backend memory of one call's intermediates (two
	// buffers, each holding a chunk's largest activation); zero means
	// DefaultMaxBytes. Chunks shrink to fit, down to one sample.
	MaxBytes int64
	// Unfused runs every layer on its own, even where the backend could
	// run two Dense layers as one kernel (see Fuser). The results are the
	// same up to float32 rounding; it is there for comparisons.
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
// on the backend, and comes down once. An empty batch gives an empty
// result; NaN and Inf propagate as in Keras.
//
// It returns an error wrapping ErrNotBuilt before Build or for a model
// with no layers, and one wrapping ErrShape, in Keras's words, for an input
// whose shape does not fit (nil, wrong rank, wrong axes, or Data of the
// wrong length). If the model's input shape is not known yet, the first
// call fixes it from x and creates the weights, as Keras builds a model on
// its first batch.
func (m *Sequential) PredictWith(x Tensor, o PredictOptions) (Tensor, error) {
	if o.BatchSize < 0 || o.MaxBytes < 0 {
		return Tensor{}, fmt.Errorf("layers: predict: batch size and memory bound must not be negative, got %d and %d: %w", o.BatchSize, o.MaxBytes, ErrInvalid)
	}
	if err := checkTensor(x); err != nil {
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
	return m.predict(x, o)
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
			return fmt.Errorf("layers: predict: the input shape %s is too large: %w", formatShape(x.Shape), ErrShape)
		}
		n *= d
	}
	if n != len(x.Data) {
		return fmt.Errorf("layers: predict: the input's shape %s needs %d values, but its data has %d: %w", formatShape(x.Shape), n, len(x.Data), ErrShape)
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
		return fmt.Errorf("layers: predict: the input has shape %s; a model's input needs a batch axis and at least one more: %w", formatShape(shape), ErrShape)
	}
	for _, d := range shape[1:] {
		if d == 0 {
			return fmt.Errorf("layers: predict: cannot build model %q from an input of shape %s with an empty axis: %w", m.modelName(), formatShape(shape), ErrShape)
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

// plan is one Predict call's shapes, per sample.
type plan struct {
	outShape []int // the result's shape
	inPer    int   // elements of one input sample
	per      []int // elements of one sample of each layer's output
	lastDim  []int // the last axis of each layer's output
	maxPer   int   // the largest of inPer and per
}

// predict runs under m.mu held for reading.
func (m *Sequential) predict(x Tensor, o PredictOptions) (Tensor, error) {
	if len(m.nodes) == 0 {
		return Tensor{}, fmt.Errorf("layers: predict: model %q has no layers: %w", m.modelName(), ErrNotBuilt)
	}
	if m.backend == nil {
		return Tensor{}, fmt.Errorf("layers: predict: model %q is not built on a backend; call Build first: %w", m.modelName(), ErrNotBuilt)
	}
	p, err := m.plan(x.Shape)
	if err != nil {
		return Tensor{}, err
	}
	batch := x.Shape[0]
	out := Tensor{Shape: p.outShape, Data: make([]float32, numElems(p.outShape))}
	if batch == 0 || p.maxPer == 0 || len(out.Data) == 0 {
		return out, nil
	}
	for _, n := range p.per {
		if n == 0 {
			return out, nil
		}
	}
	chunk := o.BatchSize
	if chunk == 0 {
		chunk = DefaultBatchSize
	}
	maxBytes := o.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	perBytes := int64(p.maxPer) * 4 * 2
	if fit := maxBytes / perBytes; fit < int64(chunk) {
		chunk = int(max(fit, 1))
	}
	if fit := maxBufferElems / p.maxPer; fit < chunk {
		if fit == 0 {
			return Tensor{}, fmt.Errorf("layers: predict: one sample of model %q needs an intermediate of %d floats, more than a buffer can hold (%d): %w",
				m.modelName(), p.maxPer, maxBufferElems, ErrShape)
		}
		chunk = fit
	}
	chunk = min(chunk, batch)

	b := m.backend
	w := m.getWorkspace()
	defer m.putWorkspace(w)
	if err := w.ensure(b, chunk*p.maxPer); err != nil {
		return Tensor{}, err
	}
	outPer := p.per[len(p.per)-1]
	for start := 0; start < batch; start += chunk {
		c := min(chunk, batch-start)
		if err := b.Upload(w.bufs[0], 0, x.Data[start*p.inPer:(start+c)*p.inPer]); err != nil {
			return Tensor{}, fmt.Errorf("layers: predict: uploading the input: %w", err)
		}
		cur, err := m.run(b, w, p, c, !o.Unfused)
		if err != nil {
			return Tensor{}, err
		}
		if err := b.Download(out.Data[start*outPer:(start+c)*outPer], w.bufs[cur], 0); err != nil {
			return Tensor{}, fmt.Errorf("layers: predict: downloading the output: %w", err)
		}
	}
	return out, nil
}

// plan checks the input shape and works out every layer's sizes.
func (m *Sequential) plan(shape []int) (plan, error) {
	got := append([]int{None}, shape[1:]...) // Keras shows the batch as None in predict
	first := m.nodes[0]
	if len(shape) < 2 && first.kind == kindDense {
		return plan{}, incompatibleNdim(first.name, 2, got)
	}
	if want := withBatch(m.inShape); !compatible(want, got) {
		last := len(want) - 1
		if first.kind == kindDense && len(want) == len(got) && compatible(want[:last], got[:last]) {
			return plan{}, incompatibleAxis(first.name, -1, want[last], got)
		}
		return plan{}, incompatibleShape(m.modelName(), want, got)
	}
	p := plan{inPer: numElems(shape[1:]), per: make([]int, len(m.nodes)), lastDim: make([]int, len(m.nodes))}
	p.maxPer = p.inPer
	cur := append([]int{1}, shape[1:]...)
	for i, n := range m.nodes {
		next, err := n.outputShape(cur)
		if err != nil {
			return plan{}, err
		}
		cur = next
		p.per[i] = numElems(cur[1:])
		p.lastDim[i] = cur[len(cur)-1]
		p.maxPer = max(p.maxPer, p.per[i])
	}
	p.outShape = append([]int{shape[0]}, cur[1:]...)
	return p, nil
}

// run passes c samples, already in w.bufs[0], through every layer and
// returns the index of the buffer that holds the output. With fuse set,
// pairs of Dense layers that the backend can fuse run as one kernel.
func (m *Sequential) run(b Backend, w *workspace, p plan, c int, fuse bool) (int, error) {
	cur := 0
	inPer := p.inPer
	fuser, _ := b.(Fuser)
	for i := 0; i < len(m.nodes); i++ {
		n := m.nodes[i]
		if fuse && fuser != nil && i+1 < len(m.nodes) {
			if f, ok := dense2(n, m.nodes[i+1], c*inPer/max(n.inDim, 1)); ok {
				next := m.nodes[i+1]
				if err := fuser.Dense2(f, w.bufs[cur], n.kernBuf, n.biBuf, next.kernBuf, next.biBuf, w.bufs[1-cur]); err != nil {
					return 0, fmt.Errorf("layers: predict: dense %q and %q fused: %w", n.name, next.name, err)
				}
				cur = 1 - cur
				inPer = p.per[i+1]
				i++
				continue
			}
		}
		switch n.kind {
		case kindDense:
			rows := c * inPer / n.inDim
			g := kernels.Gemm{M: rows, N: n.units, K: n.inDim, Alpha: 1, Bias: n.useBias}
			if n.act.soft == noSoftmax {
				g.Act = n.act.elem
			}
			if err := b.Gemm(g, w.bufs[cur], n.kernBuf, w.bufs[1-cur], n.biBuf); err != nil {
				return 0, fmt.Errorf("layers: predict: dense %q: %w", n.name, err)
			}
			cur = 1 - cur
			if err := softmax(b, n, w.bufs[cur], rows, n.units); err != nil {
				return 0, err
			}
		case kindActivation:
			total := c * inPer
			if n.act.soft != noSoftmax {
				if err := softmax(b, n, w.bufs[cur], total/p.lastDim[i], p.lastDim[i]); err != nil {
					return 0, err
				}
			} else if !n.act.isLinear() {
				e := kernels.Elementwise{N: total, Act: n.act.elem}
				if err := b.Activate(e, w.bufs[cur], w.bufs[cur]); err != nil {
					return 0, fmt.Errorf("layers: predict: activation %q: %w", n.name, err)
				}
			}
		}
		// Flatten, Reshape and Dropout are views: nothing moves.
		inPer = p.per[i]
	}
	return cur, nil
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
		Bias1: n.useBias, Bias2: next.useBias, Act1: n.act.elem, Act2: next.act.elem}
	switch next.act.soft {
	case softmaxAxis:
		f.Softmax = kernels.SoftmaxOn
	case logSoftmaxAxis:
		f.Softmax = kernels.LogSoftmax
	}
	return f, true
}

// softmax applies n's softmax or log_softmax, if it has one, in place.
func softmax(b Backend, n *node, buf Buffer, rows, cols int) error {
	if n.act.soft == noSoftmax {
		return nil
	}
	s := kernels.Softmax{Rows: rows, Cols: cols, Log: n.act.soft == logSoftmaxAxis}
	if err := b.Softmax(s, buf, buf); err != nil {
		return fmt.Errorf("layers: predict: %s %q: %w", snakeCase(n.class), n.name, err)
	}
	return nil
}

// workspace is a pair of backend buffers for one Predict call's
// intermediates; layers write them in turn.
type workspace struct{ bufs [2]Buffer }

// maxPooled is how many workspaces a model keeps between calls.
const maxPooled = 4

func (m *Sequential) getWorkspace() *workspace {
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	if k := len(m.pool); k > 0 {
		w := m.pool[k-1]
		m.pool = m.pool[:k-1]
		return w
	}
	return &workspace{}
}

func (m *Sequential) putWorkspace(w *workspace) {
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	if len(m.pool) < maxPooled {
		m.pool = append(m.pool, w)
		return
	}
	_ = w.release(m.backend)
}

// ensure makes both buffers hold at least n elements.
func (w *workspace) ensure(b Backend, n int) error {
	for i, buf := range w.bufs {
		if buf != nil && buf.Len() >= n {
			continue
		}
		if buf != nil {
			_ = b.Release(buf)
			w.bufs[i] = nil
		}
		nb, err := b.Alloc(n)
		if err != nil {
			return fmt.Errorf("layers: predict: allocating %d floats for intermediates on %s: %w", n, b.Name(), err)
		}
		w.bufs[i] = nb
	}
	return nil
}

func (w *workspace) release(b Backend) error {
	var first error
	for i, buf := range w.bufs {
		if buf != nil {
			if err := b.Release(buf); err != nil && first == nil {
				first = err
			}
			w.bufs[i] = nil
		}
	}
	return first
}
