package device

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/densecl/densecl/kernels"
)

// A chain of Dense layers runs in one launch (kernels.Chain) in the form
// the fused pair uses on this device (Dense2Form): Dense2CPU runs
// cl/chain.cl (a work-item per block of rows, private scratch), Dense2GPU
// cl/chain_gpu.cl (a work-group per block of rows, every layer's output
// in local memory). SetDense2Form thus chooses the form of both, and the
// fused pair is the chain's two-layer case.

// ChainFits reports whether c runs as one launch on this device in its
// form, from c's widths and the device's limits (c.M does not matter):
//
//   - both forms take 1 to kernels.MaxChainLayers layers of any
//     elementwise activation, softmax or log_softmax at the end;
//   - the CPU form takes chains whose one row of activations (the input
//     and every layer's output, in two ping-pong buffers, each rounded up
//     to a power of two of at least 1024 floats) fits its private scratch,
//     kernels.CPUChain.Scratch: 128 KiB, two buffers of 16,384 floats;
//   - the GPU form takes chains whose one row of layer outputs (the same
//     two buffers, rounded up to powers of two of at least 64) fits the
//     device's local memory (kernels.ChainGPUParams.LocalBytes): on a 48
//     KiB device, 8,192 and 4,096 floats.
//
// A run of layers that does not fit as one chain splits into several
// (kernels.SplitChains, with ChainFits as the test).
func (d *Device) ChainFits(c kernels.Chain) bool {
	if d == nil {
		return false
	}
	if d.Dense2Form() == Dense2GPU {
		return kernels.GPUChain.Fits(c, d.limits())
	}
	return kernels.CPUChain.Fits(c)
}

// ChainMaxRows returns the most rows at which this device runs c in one
// launch rather than layer by layer (c.M does not matter):
//
//   - for a narrow pair that the fused pair's kernels take (c.AsDense2,
//     FusesDense2), any number of rows (math.MaxInt32): above the chain's
//     crossover the pair runs in cl/fused.cl or cl/fused_gpu.cl, which
//     spread rows where the chain kernels spread columns, so that the
//     fused pair is the chain's case for many rows;
//   - for every other chain, the crossover measured on this device and
//     kept in its chain record (ChainRecordFor) for the device's form:
//     above it, the products of the GEMM family are faster.
func (d *Device) ChainMaxRows(c kernels.Chain) int {
	if d == nil {
		return 0
	}
	if f, ok := c.AsDense2(); ok && d.FusesDense2(f) {
		return math.MaxInt32
	}
	return d.chainCrossover()
}

// chainCrossover returns the record's crossover for the device's form.
func (d *Device) chainCrossover() int {
	rec := ChainRecordFor(d.info)
	if d.Dense2Form() == Dense2GPU {
		return rec.GPU.MaxRows
	}
	return rec.CPU.MaxRows
}

// PreparedChain is a chain of Dense layers made ready to run on a device
// in one launch: its form fixed, its layer table (kernels.Chain.Descriptor)
// uploaded. The device keeps it until it closes.
type PreparedChain struct {
	d    *Device
	c    kernels.Chain // M unused
	form Dense2Form
	desc *Buffer
	// splitRows is the device record's CPU SplitRows, and maxRows its
	// crossover for the form: above it a narrow pair runs as Dense2.
	splitRows, maxRows int
	// part and count are the split CPU form's partial sums and arrival
	// count (chain_split), allocated on its first use.
	mu          sync.Mutex
	part, count *Buffer
}

// chainCache is a device's prepared chains, by form and descriptor, and
// the work-group size of each GPU-form program.
type chainCache struct {
	mu sync.Mutex
	m  map[string]*PreparedChain
	wg map[*Program]int
}

// chains returns d's chainCache.
func (d *Device) chains() *chainCache {
	v, _ := chainCaches.LoadOrStore(d, &chainCache{m: map[string]*PreparedChain{}, wg: map[*Program]int{}})
	return v.(*chainCache)
}

// chainCaches holds each open device's chainCache.
var chainCaches sync.Map // *Device -> *chainCache

// releaseChains frees the device's prepared chains (Close).
func (d *Device) releaseChains() error {
	v, ok := chainCaches.LoadAndDelete(d)
	if !ok {
		return nil
	}
	cc := v.(*chainCache)
	cc.mu.Lock()
	defer cc.mu.Unlock()
	var first error
	for _, p := range cc.m {
		p.mu.Lock()
		for _, b := range []*Buffer{p.desc, p.part, p.count} {
			if err := b.Release(); err != nil && first == nil {
				first = err
			}
		}
		p.mu.Unlock()
	}
	cc.m, cc.wg = nil, nil
	return first
}

// PrepareChain makes c ready to run (c.M is ignored: each Run gives its
// rows), or returns the chain prepared before for the same layers in the
// same form. It fails when c is invalid or does not fit the device's form
// (ChainFits); the form is the device's at this call (Dense2Form).
func (d *Device) PrepareChain(c kernels.Chain) (*PreparedChain, error) {
	if d == nil {
		return nil, errNilDevice
	}
	c.M = 1
	if err := c.Check(); err != nil {
		return nil, err
	}
	form := d.Dense2Form()
	if form == Dense2GPU {
		p := kernels.GPUChain
		if !p.Fits(c, d.limits()) {
			return nil, fmt.Errorf("device: chain: the GPU form needs %d bytes of local memory for one row of the chain's layer outputs; the device has %d",
				p.LocalBytes(c, 1), d.info.LocalMem)
		}
	} else if p := kernels.CPUChain; !p.Fits(c) {
		return nil, fmt.Errorf("device: chain: a row of the chain's activations needs %d bytes of private scratch, more than the CPU form's %d",
			p.ScratchBytes(c, 1), p.Scratch)
	}
	words := c.Descriptor()
	key := make([]byte, 0, 4+4*len(words))
	key = fmt.Appendf(key, "%d/%d/", form, c.Softmax)
	for _, v := range words {
		key = fmt.Appendf(key, "%x,", uint32(v))
	}
	cc := d.chains()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		return nil, ErrClosed
	}
	if p, ok := cc.m[string(key)]; ok {
		return p, nil
	}
	host := make([]float32, len(words))
	for i, w := range words {
		host[i] = math.Float32frombits(uint32(w))
	}
	desc, err := d.Alloc(len(host))
	if err != nil {
		return nil, err
	}
	if err := d.Upload(desc, 0, host); err != nil {
		desc.Release()
		return nil, err
	}
	c.Layers = append([]kernels.ChainLayer(nil), c.Layers...)
	p := &PreparedChain{d: d, c: c, form: form, desc: desc,
		splitRows: ChainRecordFor(d.info).CPU.SplitRows, maxRows: d.chainCrossover()}
	cc.m[string(key)] = p
	return p, nil
}

// Chain returns the chain p runs (M is 1).
func (p *PreparedChain) Chain() kernels.Chain { return p.c }

// Run runs the chain on rows rows of x (rows×K) into y (rows×N), with
// layer i's weights in w[i] (a (width of its input)×Units row-major
// matrix) and its bias in b[i] (nil without one). Every layer's output
// stays in private (CPU form) or local (GPU form) memory. Up to the
// device's crossover it runs the chain kernels; above it a narrow pair
// (ChainMaxRows) runs the fused pair's kernel (Dense2). It returns once
// the launch is enqueued; it fails when a buffer is missing or short.
func (p *PreparedChain) Run(rows int, x *Buffer, w, b []*Buffer, y *Buffer) error {
	if x == nil || y == nil {
		return fmt.Errorf("device: chain: buffers x and y must not be nil")
	}
	c, err := p.check(rows, x.n, y.n, w, b)
	if err != nil {
		return err
	}
	d := p.d
	if f, ok := p.asDense2(c); ok {
		var b0, b1 *Buffer
		if f.Bias1 {
			b0 = b[0]
		}
		if f.Bias2 {
			b1 = b[1]
		}
		return d.Dense2(f, x, w[0], b0, w[1], b1, y)
	}
	l, err := p.launch(c)
	if err != nil {
		return err
	}
	bufs := p.buffers(x, y, w, b)
	return d.enqueue(&l, bufs[:l.Buffers]...)
}

// Prepare returns the chain's launch for rows rows prepared once for many
// runs (Device.Prepare), its weights, biases and descriptor bound, so
// that each run passes only its input and output, in the fused pair's
// positions kernels.BufX and BufY (nil elsewhere), and costs one enqueue
// with no event and no allocation. It is the launch Run makes for rows
// rows: above the device's crossover a narrow pair's Dense2. It returns
// nil and no error where that launch does not prepare (a fused pair whose
// GPU form does not fit); Run then runs it.
func (p *PreparedChain) Prepare(rows int, w, b []*Buffer) (*Prepared, error) {
	c, err := p.check(rows, -1, -1, w, b)
	if err != nil {
		return nil, err
	}
	d := p.d
	if f, ok := p.asDense2(c); ok {
		pr, err := d.PrepareDense2(f)
		if pr == nil || err != nil {
			return nil, err
		}
		pr.fixed[kernels.BufW1], pr.fixed[kernels.BufB1] = w[0], w[0]
		pr.fixed[kernels.BufW2], pr.fixed[kernels.BufB2] = w[1], w[1]
		if f.Bias1 {
			pr.fixed[kernels.BufB1] = b[0]
		}
		if f.Bias2 {
			pr.fixed[kernels.BufB2] = b[1]
		}
		return pr, nil
	}
	l, err := p.launch(c)
	if err != nil {
		return nil, err
	}
	pr, err := d.Prepare(l)
	if err != nil {
		return nil, err
	}
	pr.fixed = p.buffers(nil, nil, w, b)
	pr.need[kernels.BufX] = rows * c.K
	pr.need[kernels.BufY] = rows * c.N()
	return pr, nil
}

// check validates a run of rows rows with input and output buffers of
// lenX and lenY floats (-1: not known yet) and returns the chain sized.
func (p *PreparedChain) check(rows, lenX, lenY int, w, b []*Buffer) (kernels.Chain, error) {
	c := p.c
	c.M = rows
	if len(w) != len(c.Layers) || len(b) != len(c.Layers) {
		return c, fmt.Errorf("device: chain: %d layers need %d weight and bias buffers, got %d and %d",
			len(c.Layers), len(c.Layers), len(w), len(b))
	}
	var lw, lb [kernels.MaxChainLayers]int
	for i := range c.Layers {
		if w[i] == nil {
			return c, fmt.Errorf("device: chain: the weights of layer %d are nil", i)
		}
		lw[i] = w[i].n
		if c.Layers[i].Bias {
			if b[i] == nil {
				return c, fmt.Errorf("device: chain: layer %d has a bias but its buffer is nil", i)
			}
			lb[i] = b[i].n
		}
	}
	if lenX < 0 {
		lenX, lenY = rows*c.K, rows*c.N()
	}
	return c, c.Validate(lenX, lenY, lw[:len(c.Layers)], lb[:len(c.Layers)])
}

// asDense2 returns the fused pair c runs as, where c is a narrow pair
// above the device's crossover that the fused pair's kernels take.
func (p *PreparedChain) asDense2(c kernels.Chain) (kernels.Dense2, bool) {
	f, ok := c.AsDense2()
	return f, ok && c.M > p.maxRows && p.d.FusesDense2(f)
}

// launch returns the chain kernel's launch for c.M rows in p's form: the
// GPU form, the CPU form, or the CPU form split over the compute units
// (whose partial sums it allocates on first use).
func (p *PreparedChain) launch(c kernels.Chain) (kernels.Launch, error) {
	d := p.d
	if p.form == Dense2GPU {
		gp := kernels.GPUChain
		rb := gp.RowsPerGroup(c, d.limits())
		prog, err := d.Program(kernels.ChainGPUSource, gp.Options(c, rb))
		if err != nil {
			return kernels.Launch{}, err
		}
		wg, err := prog.chainWorkGroup(d)
		if err != nil {
			return kernels.Launch{}, err
		}
		return kernels.ChainGPULaunch(gp, c, rb, wg), nil
	}
	cp := kernels.CPUChain
	if g, rb := cp.Split(c, d.info.ComputeUnits); g > 0 && p.split(c.M) {
		if err := p.allocSplit(c); err != nil {
			return kernels.Launch{}, err
		}
		return kernels.ChainSplitLaunch(cp, c, g, rb), nil
	}
	return kernels.ChainCPULaunch(cp, c, cp.RowsPerItem(c, d.info.ComputeUnits)), nil
}

// buffers returns a chain launch's buffers in their positions (x and y
// may be nil: given at each run): a missing bias is its layer's weights,
// and every position no argument reads is the descriptor.
func (p *PreparedChain) buffers(x, y *Buffer, w, b []*Buffer) [maxLaunchBuffers]*Buffer {
	var bufs [maxLaunchBuffers]*Buffer
	for i := range bufs {
		bufs[i] = p.desc
	}
	bufs[kernels.BufX], bufs[kernels.BufY] = x, y
	p.mu.Lock()
	if p.part != nil {
		bufs[kernels.BufChainPart], bufs[kernels.BufChainCount] = p.part, p.count
	}
	p.mu.Unlock()
	for i := range p.c.Layers {
		bufs[kernels.BufChainW(i)], bufs[kernels.BufChainB(i)] = w[i], w[i]
		if p.c.Layers[i].Bias {
			bufs[kernels.BufChainB(i)] = b[i]
		}
	}
	return bufs
}

// splitForce overrides the device records' SplitRows: 0 follows them, 1
// splits wherever kernels.ChainCPUParams.Split can, 2 never (tests and
// benchmarks).
var splitForce atomic.Int32

// split reports whether a batch of rows rows runs split, where it can.
func (p *PreparedChain) split(rows int) bool {
	switch splitForce.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	return rows <= p.splitRows
}

// allocSplit allocates the split form's partial sums and arrival count,
// once.
func (p *PreparedChain) allocSplit(c kernels.Chain) error {
	d := p.d
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.part != nil {
		return nil
	}
	part, err := d.Alloc(max(d.info.ComputeUnits, 1) * kernels.CPUChain.MaxRB * c.Layers[1].Units)
	if err != nil {
		return err
	}
	count, err := d.Alloc(1)
	if err == nil {
		err = d.Upload(count, 0, []float32{0}) // int 0
	}
	if err != nil {
		part.Release()
		count.Release()
		return err
	}
	p.part, p.count = part, count
	return nil
}

// Chain runs the Dense layers c describes as one kernel, as
// PrepareChain(c) then Run(c.M, ...): y = the chain's output for the c.M
// rows of x. A model that runs a chain for every batch prepares it once
// instead.
func (d *Device) Chain(c kernels.Chain, x *Buffer, w, b []*Buffer, y *Buffer) error {
	if d == nil {
		return errNilDevice
	}
	p, err := d.PrepareChain(c)
	if err != nil {
		return err
	}
	return p.Run(c.M, x, w, b, y)
}

// chainWorkGroup returns the work-group size of the GPU form's program p:
// the smallest of kernels.GPUChain.WG, the device's limits and the
// kernel's CL_KERNEL_WORK_GROUP_SIZE, queried once per program.
func (p *Program) chainWorkGroup(d *Device) (int, error) {
	cc := d.chains()
	cc.mu.Lock()
	wg, ok := cc.wg[p]
	cc.mu.Unlock()
	if ok {
		return wg, nil
	}
	k, err := p.kernel("chain_gpu")
	if err != nil {
		return 0, err
	}
	kwg, err := k.WorkGroupSize(d.info.dev)
	if err != nil {
		return 0, fmt.Errorf("device: chain: %w", err)
	}
	wg = kernels.GPUChain.WG
	if d.info.MaxWorkGroup > 0 {
		wg = min(wg, d.info.MaxWorkGroup)
	}
	if len(d.info.MaxWorkItems) > 0 && d.info.MaxWorkItems[0] > 0 {
		wg = min(wg, d.info.MaxWorkItems[0])
	}
	if kwg > 0 {
		wg = min(wg, kwg)
	}
	wg = max(wg, 1)
	cc.mu.Lock()
	if cc.wg != nil {
		cc.wg[p] = wg
	}
	cc.mu.Unlock()
	return wg, nil
}
