package layers

import (
	"fmt"
	"math"
	"unsafe"

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
	// MaxBytes bounds the backend memory of one call's buffers (two for
	// the input, two for the output, and two for the largest intermediate
	// that is stored, each a chunk's worth); zero means DefaultMaxBytes.
	// Chunks shrink to fit, down to one sample.
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
// on the backend, and comes down once; on a backend that works on host
// memory in place (HostWrapper: OpenCL on a CPU device), the first layer
// reads x and the last writes the result directly, with no copies. An
// empty batch gives an empty result; NaN and Inf propagate as in Keras.
//
// It returns an error wrapping ErrNotBuilt before Build or for a model
// with no layers, and one wrapping ErrShape, in Keras's words, for an input
// whose shape does not fit (nil, wrong rank, wrong axes, or Data of the
// wrong length). If the model's input shape is not known yet, the first
// call fixes it from x and creates the weights, as Keras builds a model on
// its first batch.
func (m *Sequential) PredictWith(x Tensor, o PredictOptions) (Tensor, error) {
	return m.PredictInto(nil, x, o)
}

// PredictInto is PredictWith writing the result into dst's memory when
// cap(dst) holds it (else into a new slice), as append reuses a slice: the
// returned Tensor's Data is dst[:n] or the new slice. A caller predicting
// in a loop spares the allocation and the first touch of fresh memory,
// which on a CPU device cost about a sixth of a call on the seed model.
// The part of dst that would hold the result must not overlap x.Data (an
// error wrapping ErrInvalid).
func (m *Sequential) PredictInto(dst []float32, x Tensor, o PredictOptions) (Tensor, error) {
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
func (m *Sequential) predict(dst []float32, x Tensor, o PredictOptions) (Tensor, error) {
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
	out := Tensor{Shape: p.outShape}
	if n := numElems(p.outShape); cap(dst) >= n {
		if overlap(dst[:n], x.Data) {
			return Tensor{}, fmt.Errorf("layers: predict: the output slice overlaps the input's data: %w", ErrInvalid)
		}
		out.Data = dst[:n]
	} else {
		out.Data = make([]float32, n)
	}
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
	b := m.backend
	fuse := !o.Unfused
	mid := m.midPer(b, p, fuse)
	outPer := p.per[len(p.per)-1]
	perBytes := 4 * 2 * int64(p.inPer+mid+outPer)
	if fit := maxBytes / perBytes; fit < int64(chunk) {
		chunk = int(max(fit, 1))
	}
	largest := max(p.inPer, mid, outPer)
	if fit := maxBufferElems / largest; fit < chunk {
		if fit == 0 {
			return Tensor{}, fmt.Errorf("layers: predict: one sample of model %q needs a buffer of %d floats, more than a buffer can hold (%d): %w",
				m.modelName(), largest, maxBufferElems, ErrShape)
		}
		chunk = fit
	}
	chunk = min(chunk, batch)

	w := m.getWorkspace()
	defer m.putWorkspace(w)
	if hw, ok := b.(HostWrapper); ok && hw.WrapsHost() {
		if err := w.ensure(b, 0, chunk*mid, 0); err != nil {
			return Tensor{}, err
		}
		if err := m.predictInPlace(hw, w, p, x, out, chunk, fuse); err != nil {
			return Tensor{}, err
		}
		return out, nil
	}
	if err := w.ensure(b, chunk*p.inPer, chunk*mid, chunk*outPer); err != nil {
		return Tensor{}, err
	}
	// Chunk k's input goes to w.in[k%2] and its output comes from
	// w.outs[k%2]: chunk k+1 is uploaded and enqueued before chunk k is
	// downloaded, so that the device always has the next chunk's work.
	// An in-order queue keeps the shared intermediates safe.
	async, _ := b.(AsyncUploader)
	var waits [2]func() error
	defer func() { // uploads still in flight after an error
		for _, wait := range waits {
			if wait != nil {
				_ = wait()
			}
		}
	}()
	enqueue := func(k int) error {
		start := k * chunk
		c := min(chunk, batch-start)
		src := x.Data[start*p.inPer : (start+c)*p.inPer]
		var err error
		if async != nil {
			waits[k%2], err = async.UploadAsync(w.in[k%2], 0, src)
		} else {
			err = b.Upload(w.in[k%2], 0, src)
		}
		if err != nil {
			return fmt.Errorf("layers: predict: uploading the input: %w", err)
		}
		return m.run(b, w, p, c, w.in[k%2], w.outs[k%2], fuse)
	}
	chunks := (batch + chunk - 1) / chunk
	if err := enqueue(0); err != nil {
		return Tensor{}, err
	}
	for k := 0; k < chunks; k++ {
		if k+1 < chunks {
			if err := enqueue(k + 1); err != nil {
				return Tensor{}, err
			}
		}
		start := k * chunk
		c := min(chunk, batch-start)
		if err := b.Download(out.Data[start*outPer:(start+c)*outPer], w.outs[k%2], 0); err != nil {
			return Tensor{}, fmt.Errorf("layers: predict: downloading the output: %w", err)
		}
		if wait := waits[k%2]; wait != nil {
			waits[k%2] = nil
			if err := wait(); err != nil {
				return Tensor{}, err
			}
		}
	}
	return out, nil
}

// predictInPlace is predict on a backend that runs on host memory in
// place: every chunk's input and output slices are wrapped as buffers and
// all chunks are enqueued at once, with no copies; the outputs are synced
// at the end. The wrapped buffers are released only once nothing on the
// backend can use them any more.
func (m *Sequential) predictInPlace(hw HostWrapper, w *workspace, p plan, x, out Tensor, chunk int, fuse bool) (err error) {
	b := m.backend
	batch := x.Shape[0]
	outPer := p.per[len(p.per)-1]
	var ins, outs []Buffer
	synced := false
	defer func() {
		if !synced {
			if ferr := b.Finish(); err == nil {
				err = ferr
			}
		}
		for _, buf := range append(ins, outs...) {
			if rerr := b.Release(buf); err == nil {
				err = rerr
			}
		}
	}()
	for start := 0; start < batch; start += chunk {
		c := min(chunk, batch-start)
		in, err := hw.WrapHost(x.Data[start*p.inPer:(start+c)*p.inPer], true)
		if err != nil {
			return fmt.Errorf("layers: predict: wrapping the input: %w", err)
		}
		ins = append(ins, in)
		o, err := hw.WrapHost(out.Data[start*outPer:(start+c)*outPer], false)
		if err != nil {
			return fmt.Errorf("layers: predict: wrapping the output: %w", err)
		}
		outs = append(outs, o)
		if err := m.run(b, w, p, c, in, o, fuse); err != nil {
			return err
		}
	}
	for _, o := range outs {
		if err := hw.SyncHost(o); err != nil {
			return fmt.Errorf("layers: predict: reading the output: %w", err)
		}
	}
	synced = true
	return nil
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

// writes reports whether node n writes a new buffer (views and linear
// activations do not).
func (n *node) writes() bool {
	switch n.kind {
	case kindDense:
		return true
	case kindActivation:
		return n.act.soft != noSoftmax || !n.act.isLinear()
	}
	return false
}

// run passes c samples from in through every layer and leaves the output
// in out; in is never written. Intermediates alternate between w's two
// buffers. With fuse set, pairs of Dense layers that the backend can fuse
// run as one kernel.
func (m *Sequential) run(b Backend, w *workspace, p plan, c int, in, out Buffer, fuse bool) error {
	last := -1 // the last node that writes
	for i, n := range m.nodes {
		if n.writes() {
			last = i
		}
	}
	if last < 0 { // views only: the output is the input
		e := kernels.Elementwise{N: c * p.per[len(p.per)-1], Act: kernels.Act(kernels.Linear)}
		if err := b.Activate(e, in, out); err != nil {
			return fmt.Errorf("layers: predict: copying the output: %w", err)
		}
		return nil
	}
	src := in
	// dst returns where an op that ends at node i writes.
	dst := func(i int) Buffer {
		switch {
		case i >= last:
			return out
		case src == w.bufs[0]:
			return w.bufs[1]
		}
		return w.bufs[0]
	}
	inPer := p.inPer
	fuser, _ := b.(Fuser)
	for i := 0; i < len(m.nodes); i++ {
		n := m.nodes[i]
		if m.fusedAt(b, i, fuse) {
			if f, ok := dense2(n, m.nodes[i+1], c*inPer/max(n.inDim, 1)); ok {
				next := m.nodes[i+1]
				d := dst(i + 1)
				if err := fuser.Dense2(f, src, n.kernBuf, n.biBuf, next.kernBuf, next.biBuf, d); err != nil {
					return fmt.Errorf("layers: predict: dense %q and %q fused: %w", n.name, next.name, err)
				}
				src = d
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
			d := dst(i)
			var err error
			if pk, ok := b.(Packer); ok && n.packed != nil {
				err = pk.GemmPacked(g, src, n.packed, d, n.biBuf)
			} else {
				err = b.Gemm(g, src, n.kernBuf, d, n.biBuf)
			}
			if err != nil {
				return fmt.Errorf("layers: predict: dense %q: %w", n.name, err)
			}
			src = d
			if err := softmax(b, n, src, src, rows, n.units); err != nil {
				return err
			}
		case kindActivation:
			if !n.writes() {
				break
			}
			total := c * inPer
			d := src
			if src == in || i == last {
				d = dst(i) // never write the caller's input
			}
			if n.act.soft != noSoftmax {
				if err := softmax(b, n, src, d, total/p.lastDim[i], p.lastDim[i]); err != nil {
					return err
				}
			} else {
				e := kernels.Elementwise{N: total, Act: n.act.elem}
				if err := b.Activate(e, src, d); err != nil {
					return fmt.Errorf("layers: predict: activation %q: %w", n.name, err)
				}
			}
			src = d
		}
		// Flatten, Reshape and Dropout are views: nothing moves.
		inPer = p.per[i]
	}
	return nil
}

// fusedAt reports whether run fuses nodes i and i+1 on b.
func (m *Sequential) fusedAt(b Backend, i int, fuse bool) bool {
	fu, ok := b.(Fuser)
	if !ok || !fuse || i+1 >= len(m.nodes) {
		return false
	}
	f, ok := dense2(m.nodes[i], m.nodes[i+1], 1)
	return ok && fu.Fuses(f)
}

// midPer returns the elements per sample of the largest intermediate run
// writes (the last layer writes the output buffer, and a fused pair's
// hidden layer is never stored): the size of the workspace's two buffers.
func (m *Sequential) midPer(b Backend, p plan, fuse bool) int {
	last := -1
	for i, n := range m.nodes {
		if n.writes() {
			last = i
		}
	}
	mid := 0
	for i := 0; i < len(m.nodes); i++ {
		at := i
		if m.fusedAt(b, i, fuse) {
			at = i + 1
			i++
		} else if !m.nodes[i].writes() {
			continue
		}
		if at < last {
			mid = max(mid, p.per[at])
		}
	}
	return mid
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

// softmax applies n's softmax or log_softmax, if it has one, from src
// to dst (which may be src).
func softmax(b Backend, n *node, src, dst Buffer, rows, cols int) error {
	if n.act.soft == noSoftmax {
		return nil
	}
	s := kernels.Softmax{Rows: rows, Cols: cols, Log: n.act.soft == logSoftmaxAxis}
	if err := b.Softmax(s, src, dst); err != nil {
		return fmt.Errorf("layers: predict: %s %q: %w", snakeCase(n.class), n.name, err)
	}
	return nil
}

// workspace holds one Predict call's backend buffers: two inputs and two
// outputs (chunks alternate between them), and two intermediates, which
// layers write in turn.
type workspace struct {
	in, bufs, outs [2]Buffer
}

func (w *workspace) all() []*Buffer {
	return []*Buffer{&w.in[0], &w.in[1], &w.bufs[0], &w.bufs[1], &w.outs[0], &w.outs[1]}
}

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

// ensure makes the input buffers hold at least nIn elements, the
// intermediates nMid and the outputs nOut; a size of 0 leaves those
// buffers as they are.
func (w *workspace) ensure(b Backend, nIn, nMid, nOut int) error {
	for i, buf := range w.all() {
		size := []int{nIn, nMid, nOut}[i/2]
		if size == 0 || (*buf != nil && (*buf).Len() >= size) {
			continue
		}
		if *buf != nil {
			_ = b.Release(*buf)
			*buf = nil
		}
		nb, err := b.Alloc(size)
		if err != nil {
			return fmt.Errorf("layers: predict: allocating %d floats on %s: %w", size, b.Name(), err)
		}
		*buf = nb
	}
	return nil
}

func (w *workspace) release(b Backend) error {
	var first error
	for _, buf := range w.all() {
		if *buf != nil {
			if err := b.Release(*buf); err != nil && first == nil {
				first = err
			}
			*buf = nil
		}
	}
	return first
}

// Forward runs the model on batch samples that are already on the model's
// backend in x (batch × the input's elements per sample) and writes the
// output to y (batch × the output's elements per sample): Predict without
// the host transfers, in one chunk. x is not modified. Both buffers must
// come from the backend the model was built on (Backend().Alloc).
func (m *Sequential) Forward(x, y Buffer, batch int, o PredictOptions) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.nodes) == 0 || m.backend == nil || m.inShape == nil {
		return fmt.Errorf("layers: forward: model %q is not built with a known input shape: %w", m.modelName(), ErrNotBuilt)
	}
	if batch < 1 || x == nil || y == nil {
		return fmt.Errorf("layers: forward: want a batch of at least 1 and two buffers, got batch %d: %w", batch, ErrInvalid)
	}
	p, err := m.plan(append([]int{batch}, m.inShape...))
	if err != nil {
		return err
	}
	outPer := p.per[len(p.per)-1]
	if x.Len() < batch*p.inPer || y.Len() < batch*outPer {
		return fmt.Errorf("layers: forward: %d samples need %d input and %d output floats, the buffers hold %d and %d: %w",
			batch, batch*p.inPer, batch*outPer, x.Len(), y.Len(), ErrShape)
	}
	w := m.getWorkspace()
	defer m.putWorkspace(w)
	if err := w.ensure(m.backend, 0, batch*m.midPer(m.backend, p, !o.Unfused), 0); err != nil {
		return err
	}
	return m.run(m.backend, w, p, batch, x, y, !o.Unfused)
}
