package device

import (
	"fmt"
	"sync"

	"github.com/densecl/densecl/kernels"
)

// PackedB is the B operand of a GEMM prepared once for many products with
// the same B, such as a Dense layer's kernel: with CPU parameters it holds
// op(B) packed into the panels the micro-kernel reads; otherwise a copy of
// B in its own layout. Make one with Device.PackB, use it with
// Device.GemmPacked, and Release it when done.
type PackedB struct {
	d      *Device
	buf    *Buffer
	k, n   int
	params kernels.GemmParams // the parameters it was packed for
	// packed says buf holds panels (params.Panels gave B a width); else
	// it is a copy of B in the layout below.
	packed bool
	transB bool
	off    int
	ld     int
}

// K returns the rows of op(B).
func (pb *PackedB) K() int { return pb.k }

// N returns the columns of op(B).
func (pb *PackedB) N() int { return pb.n }

// Release frees the packed copy. Releasing twice is not an error.
func (pb *PackedB) Release() error {
	if pb == nil {
		return nil
	}
	return pb.buf.Release()
}

// PackB copies op(B), as g describes it (K, N, TransB, OffB, LDB; the rest
// of g is ignored), into a PackedB for the device's current GEMM
// parameters of B's class (packClass). B may change or be released
// afterwards; the PackedB does not follow it. It returns once the packing
// is enqueued.
func (d *Device) PackB(g kernels.Gemm, b *Buffer) (*PackedB, error) {
	if d == nil {
		return nil, errNilDevice
	}
	if b == nil {
		return nil, fmt.Errorf("device: pack: buffer B is nil")
	}
	bk := g // validate B alone: A, C and the bias are not part of the call
	bk.M = 1
	bk.Bias, bk.LDA, bk.LDC, bk.OffA, bk.OffC = false, 0, 0, 0, 0
	bk.Act = kernels.Activation{}
	if err := bk.Validate(bigLen, b.n, bigLen, 0); err != nil {
		return nil, err
	}
	cfg := d.settings()
	p := cfg.gemm[cfg.packClass(bk.N, bk.K)]
	// Under TF32 a plain copy, which the tensor-core kernel reads.
	if _, bw := p.Panels(bk, cfg.lim); bw > 0 && cfg.precision != TF32 {
		return d.packB(cfg.lim, p, bw, bk, b)
	}
	// A copy in B's own layout, from its first element to its last.
	rows, cols := bk.K, bk.N
	if bk.TransB {
		rows, cols = cols, rows
	}
	n := (rows-1)*bk.LDB + cols
	buf, err := d.Alloc(n)
	if err != nil {
		return nil, err
	}
	if err := d.Copy(buf, 0, b, bk.OffB, n); err != nil {
		buf.Release()
		return nil, err
	}
	// A copy, not panels: the parameters read it in place.
	return &PackedB{d: d, buf: buf, k: bk.K, n: bk.N, params: kernels.InPlaceB(p), transB: bk.TransB, ld: bk.LDB}, nil
}

// packClass returns the class whose parameters PackB packs a K×N op(B)
// for. The rows of the products to come are unknown, but a skinny N or K
// decides the class whatever they are (kernels.ClassThresholds.ClassOf
// tests those first); otherwise B is packed for the large class.
func (c *config) packClass(n, k int) kernels.GemmClass {
	return c.classes.ClassOf(c.classes.SmallM+1, n, k)
}

// bigLen stands for the length of a buffer that is not checked.
const bigLen = 1<<31 - 1

// packB packs op(B) of g (validated) into a new buffer of panels bw wide,
// for parameters p, on a device of limits lim.
func (d *Device) packB(lim kernels.Limits, p kernels.GemmParams, bw int, g kernels.Gemm, b *Buffer) (*PackedB, error) {
	n, err := packedLen(g.K, g.N, bw, "B")
	if err != nil {
		return nil, err
	}
	buf, err := d.Alloc(n)
	if err != nil {
		return nil, err
	}
	if err := d.packBInto(lim, bw, g, b, buf); err != nil {
		buf.Release()
		return nil, err
	}
	return &PackedB{d: d, buf: buf, k: g.K, n: g.N, params: p, packed: true, ld: bw}, nil
}

// packedLen returns the floats of a k×n operand packed in panels w wide.
func packedLen(k, n, w int, name string) (int, error) {
	l := kernels.PackedLen(k, n, w)
	if l > bigLen {
		return 0, fmt.Errorf("device: pack: %s packed (%d×%d in panels of %d) needs %d floats, more than 2^31-1", name, k, n, w, l)
	}
	return l, nil
}

// packBInto enqueues the packing of op(B) of g into dst (at least
// kernels.PackedLen(g.K, g.N, bw) floats), in panels bw wide, on a device
// of limits lim.
func (d *Device) packBInto(lim kernels.Limits, bw int, g kernels.Gemm, b, dst *Buffer) error {
	l := kernels.PackLaunch(bw, g.TransB, g.K, g.N, g.OffB, g.LDB, lim.ComputeUnits)
	return d.enqueue(&l, b, dst)
}

// GemmPacked runs C = act(alpha·op(A)·B + bias + beta·C) as g describes,
// with B from pb: g.K and g.N must be pb's, and g's TransB, OffB and LDB
// are ignored (pb fixed them). It uses the GEMM parameters pb was packed
// for. bias may be nil when g.Bias is false. It returns once the kernel is
// enqueued.
func (d *Device) GemmPacked(g kernels.Gemm, a *Buffer, pb *PackedB, c, bias *Buffer) error {
	if d == nil {
		return errNilDevice
	}
	if pb == nil {
		return fmt.Errorf("device: gemm: packed B is nil")
	}
	if !d.shares(pb.d) {
		return fmt.Errorf("device: gemm: packed B belongs to another device (%s)", pb.d)
	}
	if g.K != pb.k || g.N != pb.n {
		return fmt.Errorf("device: gemm: packed B is %d×%d, the product needs K×N = %d×%d", pb.k, pb.n, g.K, g.N)
	}
	cfg := d.settings()
	p := pb.params
	if pb.packed {
		g.TransB, g.OffB, g.LDB = false, 0, g.N
		if err := gemmCheck(&g, a, pb.buf, c, bias, "packed B"); err != nil {
			return err
		}
		return d.gemmLaunch(cfg.lim, p, g, a, pb.buf, c, bias, nil)
	}
	g.TransB, g.OffB, g.LDB = pb.transB, pb.off, pb.ld
	if err := gemmCheck(&g, a, pb.buf, c, bias, "packed B"); err != nil {
		return err
	}
	// Precision TF32: the tensor-core kernel reads the copy as it is.
	if cfg.precision == TF32 {
		return d.gemmTF32(cfg, g, a, pb.buf, c, bias)
	}
	// An unpacked copy serves any parameters that read B in place: take
	// the class's own where they do.
	if q := cfg.gemmFor(g.M, g.N, g.K); !packsB(q, g, cfg.lim) {
		p = q
	}
	return d.gemmLaunch(cfg.lim, p, g, a, pb.buf, c, bias, nil)
}

// packsB reports whether p packs B for g on a device of limits lim.
func packsB(p kernels.GemmParams, g kernels.Gemm, lim kernels.Limits) bool {
	_, bw := p.Panels(g, lim)
	return bw > 0
}

// packAInto enqueues the packing of op(A) of g (validated) into dst (at
// least kernels.PackedLen(g.K, g.M, aw) floats), in panels aw rows tall:
// panel t holds rows t·aw.. of op(A) as K rows of aw floats, which is
// op(A)ᵀ (K×M, stored transposed unless A is) packed as B is, on a device
// of limits lim.
func (d *Device) packAInto(lim kernels.Limits, aw int, g kernels.Gemm, a, dst *Buffer) error {
	l := kernels.PackLaunch(aw, !g.TransA, g.K, g.M, g.OffA, g.LDA, lim.ComputeUnits)
	return d.enqueue(&l, a, dst)
}

// Scratch buffers for the packed copies of one product's operands, kept
// per Device so that a product does not pay for fresh memory (page faults)
// each time. Their use, from the packing to the launch of the product that
// reads them, is serialised by the scratch's lock: the queue is in order,
// so the next user's packing runs after the product.
type gemmScratch struct {
	mu   sync.Mutex
	bufs [2]*Buffer // packed A, packed B
}

// scratch returns d's scratch, locked; the caller unlocks it once the
// product that reads it is enqueued.
func (d *Device) scratch() *gemmScratch {
	d.scr.mu.Lock()
	return &d.scr
}

// release frees the scratch buffers (Close). A product that holds the
// scratch while the device closes (a caller racing Close) keeps it: waiting
// for it here could deadlock, since it waits for Close's lock.
func (s *gemmScratch) release() error {
	if !s.mu.TryLock() {
		return nil
	}
	defer s.mu.Unlock()
	var first error
	for i, b := range s.bufs {
		if err := b.Release(); err != nil && first == nil {
			first = err
		}
		s.bufs[i] = nil
	}
	return first
}

// get returns scratch buffer i with room for n floats, replacing a smaller
// one (released once the commands using it are done).
func (s *gemmScratch) get(d *Device, i, n int) (*Buffer, error) {
	if b := s.bufs[i]; b != nil && b.n >= n {
		return b, nil
	}
	if s.bufs[i] != nil {
		s.bufs[i].Release()
		s.bufs[i] = nil
	}
	b, err := d.Alloc(n)
	if err != nil {
		return nil, err
	}
	s.bufs[i] = b
	return b, nil
}
