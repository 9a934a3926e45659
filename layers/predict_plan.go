package layers

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/densecl/densecl/internal/pyshape"
)

// EnvPredict is the environment variable that chooses how Predict moves
// data on an OpenCL backend, read when the backend is made (OpenCL):
//
//	""       the device decides: "host" where its memory is the host's
//	         (device.ZeroCopy: CPU devices), else "stream"
//	"host"   run in place on the caller's slices (HostWrapper)
//	"stream" stream through pinned staging memory on transfer queues that
//	         overlap the compute (Streamer)
//	"copy"   plain uploads and downloads on the compute queue
//
// Other values mean "". Forcing "stream" on a CPU device (PoCL) runs the
// GPU's path where there is no GPU, as the tests and CI do.
const EnvPredict = "DENSECL_PREDICT"

// The values of EnvPredict.
const (
	pathHost   = "host"
	pathStream = "stream"
	pathCopy   = "copy"
)

// predictPath returns EnvPredict's value v if it is one of the paths,
// else "".
func predictPath(v string) string {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case pathHost, pathStream, pathCopy:
		return v
	}
	return ""
}

// plan is how Predict runs inputs of one per-sample shape with one set of
// options in chunks of one size: every layer's sizes, which layers fuse or
// chain, the steps, and the executor. It is computed once and cached on
// the model, keyed by what it depends on (planKey): every batch of at
// least chunkCap samples shares one plan, and smaller batches each have
// their own, since the rows of a chunk decide which layers chain and
// what the steps are prepared for.
type plan struct {
	outAxes []int // the result's axes after the batch
	inPer   int   // elements of one input sample
	outPer  int   // elements of one output sample
	per     []int // elements of one sample of each layer's output
	lastDim []int // the last axis of each layer's output
	maxPer  int   // the largest of inPer and per
	empty   bool  // nothing to compute: an empty batch or an empty axis

	fused  []bool      // fused[i]: nodes i and i+1 run as one kernel (Fuser)
	chains []chainStep // the Dense chains that run as one kernel (Chainer)
	steps  []step      // what run does, in order
	mid    int         // elements per sample of the largest stored intermediate
	chunk  int         // samples per chunk
	// backend runs the plan: the model's, or the one its Router gives
	// for the plan's rows.
	backend Backend
	// chunkCap is the chunk of a batch of any size: a batch of b samples
	// runs in chunks of min(b, chunkCap).
	chunkCap int
	exec     executor

	// shape is the result's shape for a batch of chunk samples, and
	// shapes those of other batch sizes (of at least chunkCap samples),
	// handed out read-only to callers and reused so that a steady state
	// allocates none, up to maxShapes of them. Guarded by the model's
	// poolMu.
	shape  []int
	shapes map[int][]int
	// tails are the steps prepared for chunks shorter than chunk, by
	// samples (tailSteps). Guarded by the model's poolMu.
	tails map[int][]stepPrep
}

// maxShapes bounds the result shapes that a plan keeps for batch sizes
// other than its chunk's: more than a dynamic batcher's sizes above the
// chunk size (serve's default is batches of up to 64 samples, Predict's
// chunk 32). Past it, they are dropped and made again.
const maxShapes = 256

// outShape returns the shape of p's result for a batch of batch samples,
// one slice shared by the calls of that batch size. It runs under the
// model's poolMu.
func (p *plan) outShape(batch int) []int {
	if p.shape != nil && p.shape[0] == batch {
		return p.shape
	}
	if s, ok := p.shapes[batch]; ok {
		return s
	}
	s := make([]int, 1+len(p.outAxes))
	s[0] = batch
	copy(s[1:], p.outAxes)
	switch {
	case p.shape == nil && batch == p.chunk:
		p.shape = s
	case p.shapes == nil:
		p.shapes = map[int][]int{batch: s}
	default:
		if len(p.shapes) >= maxShapes {
			clear(p.shapes)
		}
		p.shapes[batch] = s
	}
	return s
}

// chunkFor returns the samples per chunk of p for a batch of batch.
func (p *plan) chunkFor(batch int) int { return min(batch, p.chunkCap) }

// executor runs a plan on host slices: x holds the plan's input and out
// receives its result (the caller checked both lengths). Each moves data
// in the way one backend capability allows; chooseExecutor picks it.
type executor interface {
	// name says which executor it is, for tests and errors.
	name() string
	// depth returns how many chunk-sized input and output buffers it keeps
	// on the backend, for the memory bound.
	depth() int
	// defaultChunk returns the samples per chunk when the options give
	// none, for samples of inPer input and outPer output elements.
	defaultChunk(inPer, outPer int) int
	predict(m *Sequential, w *workspace, p *plan, x, out []float32) error
}

// chooseExecutor picks the executor of backend b from what b says it can
// do: work on host memory in place, stream through pinned memory, or
// copy.
func chooseExecutor(b Backend) executor {
	if hw, ok := b.(HostWrapper); ok && hw.WrapsHost() {
		ip, _ := b.(HostInPlace)
		return hostExec{hw: hw, inPlace: ip != nil && ip.HostInPlace()}
	}
	if st, ok := b.(Streamer); ok && st.Streams() {
		return streamExec{st}
	}
	async, _ := b.(AsyncUploader)
	return copyExec{async}
}

// planKey identifies a cached plan: the input's per-sample shape, the
// options, and the samples per chunk (what the steps are chosen and
// prepared for), not the batch.
type planKey struct {
	shape []int
	o     PredictOptions
	chunk int
}

// cachedPlan is a plan with what it was computed from.
type cachedPlan struct {
	key     planKey
	inShape []int // m.inShape when computed: a rebuild replaces the slice
	nodes   int
	p       *plan
	used    uint64 // the model's clock when last used
}

// maxPlans is how many plans a model keeps, the least recently used
// dropped first. Every batch from the chunk size up shares one plan, and
// each smaller batch size has its own (its rows decide the chains and the
// kernels' parameters, so its results stay what a plan of its own gives):
// a dynamic batcher that sends every batch size up to 64 (serve's
// default), on an executor whose chunks are larger (streaming), keeps 64
// plans of one input shape, and twice that leaves room for a second
// shape or set of options. A plan holds a few prepared kernels.
const maxPlans = 128

// planFor returns the plan for inputs of the given shape (batch first),
// from the model's cache or computed and cached. It runs under m.mu held
// for reading.
func (m *Sequential) planFor(shape []int, o PredictOptions) (*plan, error) {
	p, _, err := m.planShape(shape, o)
	return p, err
}

// planShape is planFor that also returns the result's shape, shared by
// the calls with inputs of this shape (read-only).
func (m *Sequential) planShape(shape []int, o PredictOptions) (*plan, []int, error) {
	batch, per := shape[0], shape[1:]
	m.poolMu.Lock()
	if c := m.cachedPlan(batch, per, o); c != nil {
		out := c.p.outShape(batch)
		m.poolMu.Unlock()
		return c.p, out, nil
	}
	m.poolMu.Unlock()
	p, err := m.newPlan(shape, o)
	if err != nil {
		return nil, nil, err
	}
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	if c := m.cachedPlan(batch, per, o); c != nil { // another call made it meanwhile
		return c.p, c.p.outShape(batch), nil
	}
	c := cachedPlan{key: planKey{slices.Clone(per), o, p.chunkFor(batch)},
		inShape: m.inShape, nodes: len(m.nodes), p: p, used: m.clock}
	if len(m.plans) < maxPlans {
		m.plans = append(m.plans, c)
	} else {
		old := 0
		for i := range m.plans {
			if m.plans[i].used < m.plans[old].used {
				old = i
			}
		}
		m.plans[old] = c
	}
	return p, p.outShape(batch), nil
}

// cachedPlan returns the cached plan for batch samples of per-sample
// shape per with options o, marked as used now, or nil. It runs under
// m.poolMu and allocates nothing.
func (m *Sequential) cachedPlan(batch int, per []int, o PredictOptions) *cachedPlan {
	m.clock++
	for i := range m.plans {
		c := &m.plans[i]
		if c.key.chunk == c.p.chunkFor(batch) && c.nodes == len(m.nodes) && c.key.o == o &&
			sameSlice(c.inShape, m.inShape) && slices.Equal(c.key.shape, per) {
			c.used = m.clock
			return c
		}
	}
	return nil
}

// sameSlice reports whether a and b are the same slice (not merely equal).
func sameSlice(a, b []int) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// newPlan checks the input shape and works out every layer's sizes, the
// fused pairs, the chunk size and the executor.
func (m *Sequential) newPlan(shape []int, o PredictOptions) (*plan, error) {
	got := append([]int{None}, shape[1:]...) // Keras shows the batch as None in predict
	first := m.nodes[0]
	if len(shape) < 2 && first.kind == kindDense {
		return nil, incompatibleNdim(first.name, 2, got)
	}
	if want := withBatch(m.inShape); !compatible(want, got) {
		last := len(want) - 1
		if first.kind == kindDense && len(want) == len(got) && compatible(want[:last], got[:last]) {
			return nil, incompatibleAxis(first.name, -1, want[last], got)
		}
		return nil, incompatibleShape(m.modelName(), want, got)
	}
	p := &plan{inPer: pyshape.Elements(shape[1:]), per: make([]int, len(m.nodes)), lastDim: make([]int, len(m.nodes))}
	p.maxPer = p.inPer
	cur := append([]int{1}, shape[1:]...)
	for i, n := range m.nodes {
		next, err := n.outputShape(cur)
		if err != nil {
			return nil, err
		}
		cur = next
		p.per[i] = pyshape.Elements(cur[1:])
		p.lastDim[i] = cur[len(cur)-1]
		p.maxPer = max(p.maxPer, p.per[i])
	}
	p.outAxes = slices.Clone(cur[1:])
	p.outPer = p.per[len(p.per)-1]
	batch := shape[0]
	p.empty = batch == 0 || p.maxPer == 0 || slices.Contains(p.per, 0)
	if p.empty {
		p.chunkCap = 1 // every batch of an empty axis is empty
		if batch == 0 {
			p.chunkCap = math.MaxInt // only an empty batch
		}
		return p, nil
	}

	// The chunk follows from the memory the steps take without chains
	// (chains only spare intermediates); then the rows of a chunk decide
	// the chains, and the steps and the workspace follow from them.
	b := m.backend
	p.backend = b
	_, chains := b.(Chainer)
	fuse := !o.Unfused
	p.fused = make([]bool, len(m.nodes))
	for i := range m.nodes {
		p.fused[i] = !chains && m.fusedAt(b, i, fuse)
	}
	p.steps, p.mid = m.compileSteps(p)
	p.exec = chooseExecutor(b)

	chunk := o.BatchSize
	if chunk == 0 {
		chunk = p.exec.defaultChunk(p.inPer, p.outPer)
	}
	maxBytes := o.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	d := int64(p.exec.depth())
	perBytes := 4 * (d*int64(p.inPer+p.outPer) + 2*int64(p.mid))
	if fit := maxBytes / perBytes; fit < int64(chunk) {
		chunk = int(max(fit, 1))
	}
	largest := max(p.inPer, p.mid, p.outPer)
	if fit := maxBufferElems / largest; fit < chunk {
		if fit == 0 {
			return nil, fmt.Errorf("layers: predict: one sample of model %q needs a buffer of %d floats, more than a buffer can hold (%d): %w",
				m.modelName(), largest, maxBufferElems, ErrShape)
		}
		chunk = fit
	}
	p.chunkCap = chunk
	p.chunk = p.chunkFor(batch)
	if r, ok := b.(Router); ok {
		rows := m.rowsPerSample(p)
		if rb := r.RouteWork(p.chunk*rows, m.macsPerSample(p)/int64(rows)); rb != nil {
			b = rb
			p.backend, p.exec = rb, chooseExecutor(rb)
		}
	}
	if fuse {
		var err error
		if p.chains, err = m.planChains(b, p.chunk, p.inPer, p.per); err != nil {
			return nil, err
		}
		if len(p.chains) > 0 {
			p.steps, p.mid = m.compileSteps(p)
		}
	}
	m.prepareSteps(b, p)
	return p, nil
}

// chunks returns the number of chunks of a batch.
func (p *plan) chunks(batch int) int { return (batch + p.chunk - 1) / p.chunk }

// span returns the first sample and the number of samples of chunk k.
func (p *plan) span(k, batch int) (start, c int) {
	start = k * p.chunk
	return start, min(p.chunk, batch-start)
}

// rowsPerSample returns the rows of the largest product of p per sample:
// the most, over the Dense layers, of a sample's elements at the layer's
// input over its input width.
func (m *Sequential) rowsPerSample(p *plan) int {
	rows, _ := m.work(p)
	return rows
}

// macsPerSample returns the multiply-adds of one sample's Dense products
// under plan p: each Dense layer's input elements times its units.
func (m *Sequential) macsPerSample(p *plan) int64 {
	_, macs := m.work(p)
	return macs
}

// work returns rowsPerSample and macsPerSample.
func (m *Sequential) work(p *plan) (rows int, macs int64) {
	rows = 1
	in := p.inPer
	for i, n := range m.nodes {
		if n.kind == kindDense && n.inDim > 0 {
			rows = max(rows, in/n.inDim)
			macs += int64(in) * int64(n.units)
		}
		in = p.per[i]
	}
	return rows, macs
}
