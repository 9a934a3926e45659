package device

import (
	"errors"
	"math"
	"runtime"

	"github.com/densecl/densecl/cl"
	"github.com/densecl/densecl/kernels"
)

// maxLaunchBuffers is the most buffers one launch takes (a chain's,
// kernels.MaxChainBuffers).
const maxLaunchBuffers = kernels.MaxChainBuffers

// errLaunchBuffers is a launch given fewer buffers than it names.
var errLaunchBuffers = errors.New("device: a launch was given fewer buffers than its arguments name")

// enqueue executes l with bufs: it builds (or finds) l's program, sets the
// arguments of the program's shared kernel and enqueues the launch with no
// event. It returns once the launch is enqueued.
func (d *Device) enqueue(l *kernels.Launch, bufs ...*Buffer) error {
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	prog, err := d.Program(l.Source, l.Options)
	if err != nil {
		return err
	}
	k, err := prog.kernel(l.Kernel)
	if err != nil {
		return err
	}
	if err := prog.checkWorkGroup(l.Kernel, k, l.LocalSize()); err != nil {
		return err
	}
	return d.launchOn(k, l, bufs)
}

// launchOn sets l's arguments on k with bufs and enqueues it, under the
// device's launch lock (a kernel's arguments are shared state).
func (d *Device) launchOn(k *cl.Kernel, l *kernels.Launch, bufs []*Buffer) error {
	if len(bufs) < l.Buffers || len(bufs) > maxLaunchBuffers {
		return errLaunchBuffers
	}
	var mems [maxLaunchBuffers]*cl.MemObject
	for i, b := range bufs[:l.Buffers] {
		m, err := b.acquireQuiet(d)
		if err != nil {
			_, err = b.acquire(d, bufferRole(l, i)) // the error, with its name
			for _, h := range bufs[:i] {
				h.releaseUse()
			}
			return err
		}
		mems[i] = m
	}
	defer func() {
		for _, b := range bufs[:l.Buffers] {
			b.releaseUse()
		}
	}()
	mu := d.launchLock()
	mu.Lock()
	defer mu.Unlock()
	for i, a := range l.Arguments() {
		var err error
		switch a.Kind {
		case kernels.ArgInt:
			err = k.SetArgInt32(i, a.Int)
		case kernels.ArgFloat:
			err = k.SetArgFloat32(i, a.Float)
		case kernels.ArgBuffer:
			err = k.SetArgMem(i, mems[a.Int])
		case kernels.ArgLocal:
			err = k.SetArgLocal(i, int(a.Int))
		}
		if err != nil {
			return &LaunchError{Kernel: l.Kernel, Err: err}
		}
	}
	if err := d.queue.Enqueue(k, l.Dims, l.Global, l.Local); err != nil {
		return &LaunchError{Kernel: l.Kernel, Err: err}
	}
	return nil
}

// acquireQuiet is acquire with an error that names nothing, for the
// launch path: it makes no string unless it fails.
func (b *Buffer) acquireQuiet(d *Device) (*cl.MemObject, error) {
	if b == nil || !d.shares(b.d) {
		return nil, ErrClosed
	}
	b.mu.RLock()
	if b.mem == nil {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	return b.mem, nil
}

// bufferRole names buffer i of l for an error (only ever on failure).
func bufferRole(l *kernels.Launch, i int) string {
	return "buffer " + string(rune('0'+i)) + " of kernel " + l.Kernel
}

// LaunchError is a kernel launch that OpenCL refused.
type LaunchError struct {
	Kernel string
	Err    error
}

func (e *LaunchError) Error() string { return "device: kernel " + e.Kernel + ": " + e.Err.Error() }

// Unwrap returns the OpenCL error.
func (e *LaunchError) Unwrap() error { return e.Err }

// Prepared is a launch made ready once for many executions: its program
// built and a kernel object of its own, so that the arguments that do not
// change (sizes, weights) are set once and a later Enqueue passes OpenCL
// only the buffers that changed since the last. Executions on one Prepared
// are serialized by the device; a Prepared is safe for concurrent use.
type Prepared struct {
	d *Device
	k *cl.Kernel
	l kernels.Launch
	// fixed holds buffers bound at preparation (a packed weight matrix),
	// used where Enqueue is given nil.
	fixed [maxLaunchBuffers]*Buffer
	// need is the fewest floats each buffer must hold.
	need [maxLaunchBuffers]int
}

// errPreparedShort is a buffer too short for a prepared launch.
var errPreparedShort = errors.New("device: a buffer is shorter than the prepared launch reads or writes")

// Prepare builds l's program if need be and returns l ready to execute.
// Its kernel object is released once the Prepared is unreachable, or by
// Release.
func (d *Device) Prepare(l kernels.Launch) (*Prepared, error) {
	if d == nil {
		return nil, errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	if l.Buffers > maxLaunchBuffers || l.Dims < 1 || l.Dims > 3 {
		return nil, errors.New("device: prepare: a launch of kernel " + l.Kernel + " with more buffers or dimensions than a launch takes")
	}
	prog, err := d.Program(l.Source, l.Options)
	if err != nil {
		return nil, err
	}
	if err := prog.fitsWorkGroup(l.Kernel, l.LocalSize()); err != nil {
		return nil, err
	}
	k, err := prog.p.CreateKernel(l.Kernel)
	if err != nil {
		return nil, &LaunchError{Kernel: l.Kernel, Err: err}
	}
	p := &Prepared{d: d, k: k, l: l}
	runtime.AddCleanup(p, func(k *cl.Kernel) { _ = k.Release() }, k)
	return p, nil
}

// Launch returns the description p executes.
func (p *Prepared) Launch() kernels.Launch { return p.l }

// Enqueue executes the prepared launch with bufs, in the positions its
// description names, and returns once it is enqueued; no event is made.
// It allocates nothing.
func (p *Prepared) Enqueue(bufs ...*Buffer) error {
	d := p.d
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if len(bufs) > maxLaunchBuffers {
		return errLaunchBuffers
	}
	all := p.fixed
	for i, b := range bufs {
		if b != nil {
			all[i] = b
		}
	}
	for i, b := range all[:p.l.Buffers] {
		if b == nil {
			return errLaunchBuffers
		}
		if b.n < p.need[i] {
			return errPreparedShort
		}
	}
	return d.launchOn(p.k, &p.l, all[:p.l.Buffers])
}

// PrepareGemmPacked returns the product g with B from pb (as GemmPacked
// runs it) prepared as one launch, its buffers A, C and the bias given to
// Enqueue in positions kernels.BufA, BufC and BufBias (B is pb's, bound
// here: pass nil in its place). It returns nil and no error where that
// product is not one launch on d (precision TF32, or parameters that pack
// A for it, or B unpacked): GemmPacked then runs it.
func (d *Device) PrepareGemmPacked(g kernels.Gemm, pb *PackedB) (*Prepared, error) {
	if d == nil {
		return nil, errNilDevice
	}
	if pb == nil || !d.shares(pb.d) || g.K != pb.k || g.N != pb.n {
		return nil, nil
	}
	cfg := d.settings()
	if cfg.precision == TF32 {
		return nil, nil
	}
	p, lim := pb.params, cfg.lim
	if pb.packed {
		g.TransB, g.OffB, g.LDB = false, 0, g.N
	} else {
		g.TransB, g.OffB, g.LDB = pb.transB, pb.off, pb.ld
		if q := cfg.gemmFor(g.M, g.N, g.K); !packsB(q, g, lim) {
			p = q
		}
	}
	const big = math.MaxInt
	if err := g.Validate(big, big, big, big); err != nil {
		return nil, err
	}
	ar, ac := g.M, g.K
	if g.TransA {
		ar, ac = g.K, g.M
	}
	if aw, _ := p.Panels(g, lim); aw > 0 {
		return nil, nil // A is packed first: two launches
	}
	l := p.Launch(g, lim, ntStores(g))
	pr, err := d.Prepare(l)
	if err != nil {
		return nil, err
	}
	pr.fixed[kernels.BufB] = pb.buf
	pr.need[kernels.BufA] = g.OffA + (ar-1)*g.LDA + ac
	pr.need[kernels.BufC] = g.OffC + (g.M-1)*g.LDC + g.N
	if g.Bias {
		pr.need[kernels.BufBias] = g.OffBias + g.N
	}
	return pr, nil
}

// PrepareDense2 returns the fused pair f prepared as one launch of d's
// form (Dense2Form), over kernels.BufX..BufY; nil and no error where f
// does not fuse on d.
func (d *Device) PrepareDense2(f kernels.Dense2) (*Prepared, error) {
	if d == nil {
		return nil, errNilDevice
	}
	cfg := d.settings()
	if !cfg.fusesDense2(d.info, f) {
		return nil, nil
	}
	const big = math.MaxInt
	if err := f.Validate(big, big, big, big, big, big); err != nil {
		return nil, err
	}
	l := d.dense2Launch(f)
	if cfg.dense2FormOf(d.info) == Dense2GPU {
		p := cfg.dense2GPU
		ht := p.Splits(f, cfg.lim)
		if ht == 0 {
			return nil, nil
		}
		l = kernels.Dense2GPULaunch(p, f, ht)
	}
	pr, err := d.Prepare(l)
	if err != nil {
		return nil, err
	}
	pr.need = [maxLaunchBuffers]int{f.M * f.K, f.K * f.H, 0, f.H * f.N, 0, f.M * f.N}
	if f.Bias1 {
		pr.need[kernels.BufB1] = f.H
	}
	if f.Bias2 {
		pr.need[kernels.BufB2] = f.N
	}
	return pr, nil
}

// PrepareSoftmax returns s prepared as one launch over kernels.BufSrc and
// BufDst.
func (d *Device) PrepareSoftmax(s kernels.Softmax) (*Prepared, error) {
	if d == nil {
		return nil, errNilDevice
	}
	const big = math.MaxInt
	if err := s.Validate(big, big); err != nil {
		return nil, err
	}
	pr, err := d.Prepare(kernels.SoftmaxLaunch(s, d.info.IsGPU(), d.info.ComputeUnits))
	if err != nil {
		return nil, err
	}
	pr.need[kernels.BufSrc] = s.OffSrc + s.Rows*s.Cols
	pr.need[kernels.BufDst] = s.OffDst + s.Rows*s.Cols
	return pr, nil
}

// PrepareActivate returns e prepared as one launch over kernels.BufSrc
// and BufDst.
func (d *Device) PrepareActivate(e kernels.Elementwise) (*Prepared, error) {
	if d == nil {
		return nil, errNilDevice
	}
	const big = math.MaxInt
	if err := e.Validate(big, big); err != nil {
		return nil, err
	}
	pr, err := d.Prepare(kernels.ActivationLaunch(e))
	if err != nil {
		return nil, err
	}
	pr.need[kernels.BufSrc] = e.OffSrc + e.N
	pr.need[kernels.BufDst] = e.OffDst + e.N
	return pr, nil
}
