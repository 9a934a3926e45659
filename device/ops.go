package device

import (
	"fmt"

	"github.com/densecl/densecl/kernels"
)

// GemmParams returns the GEMM kernel parameters this device uses for the
// large class (kernels.ClassLarge), the parameters that PackB packs for.
func (d *Device) GemmParams() kernels.GemmParams {
	return d.GemmParamsFor(kernels.ClassLarge)
}

// GemmParamsFor returns the GEMM kernel parameters this device uses for
// products of class c.
func (d *Device) GemmParamsFor(c kernels.GemmClass) kernels.GemmParams {
	d.opsMu.Lock()
	defer d.opsMu.Unlock()
	if d.gemm[c] == (kernels.GemmParams{}) {
		d.gemm[c] = d.defaultGemm(c)
	}
	return d.gemm[c]
}

// defaultGemm returns the family's default parameters of class c for d's
// device type.
func (d *Device) defaultGemm(c kernels.GemmClass) kernels.GemmParams {
	if d.info.cpuLike() {
		return kernels.CPUGemm
	}
	return kernels.GPUGemmDefault(d.info.Vendor, c)
}

// ClassThresholds returns the limits by which d sorts products into
// classes.
func (d *Device) ClassThresholds() kernels.ClassThresholds {
	d.opsMu.Lock()
	defer d.opsMu.Unlock()
	if d.classes == (kernels.ClassThresholds{}) {
		d.classes = d.defaultThresholds()
	}
	return d.classes
}

// defaultThresholds returns the class limits of d's device type:
// kernels.DefaultThresholds, or kernels.GPUThresholds on GPUs.
func (d *Device) defaultThresholds() kernels.ClassThresholds {
	if d.info.cpuLike() {
		return kernels.DefaultThresholds
	}
	return kernels.GPUThresholds
}

// SetClassThresholds makes d sort later products into classes by t.
func (d *Device) SetClassThresholds(t kernels.ClassThresholds) {
	d.opsMu.Lock()
	d.classes = t
	d.opsMu.Unlock()
}

// GemmClassOf returns the class of an M×N×K product on d.
func (d *Device) GemmClassOf(m, n, k int) kernels.GemmClass {
	return d.ClassThresholds().ClassOf(m, n, k)
}

// SetGemmParams makes the device use p for later GEMMs of every class. It
// fails when p is invalid or its work-group is larger than the device
// allows.
func (d *Device) SetGemmParams(p kernels.GemmParams) error {
	for _, c := range kernels.GemmClasses {
		if err := d.SetGemmParamsFor(c, p); err != nil {
			return err
		}
	}
	return nil
}

// SetGemmParamsFor makes the device use p for later GEMMs of class c. It
// fails when p is invalid or does not fit the device.
func (d *Device) SetGemmParamsFor(c kernels.GemmClass, p kernels.GemmParams) error {
	if c < 0 || int(c) >= kernels.NumGemmClasses {
		return fmt.Errorf("device: gemm class %d out of range", int(c))
	}
	if err := d.checkGemmParams(p); err != nil {
		return err
	}
	d.opsMu.Lock()
	d.gemm[c] = p
	d.opsMu.Unlock()
	return nil
}

// checkGemmParams checks p and that it fits d.
func (d *Device) checkGemmParams(p kernels.GemmParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Kernel != kernels.KernelGemm {
		if wg := p.MDIMC * p.NDIMC; wg > d.info.MaxWorkGroup {
			return fmt.Errorf("device: gemm work-group %d×%d exceeds the device's %d work-items", p.MDIMC, p.NDIMC, d.info.MaxWorkGroup)
		}
		if need := int64(p.XgemmLocalBytes()); need > d.info.LocalMem {
			return fmt.Errorf("device: gemm tiles need %d bytes of local memory, the device has %d", need, d.info.LocalMem)
		}
		return nil
	}
	if p.MDIM*p.NDIM > d.info.MaxWorkGroup {
		return fmt.Errorf("device: gemm work-group %d×%d exceeds the device's %d work-items", p.MDIM, p.NDIM, d.info.MaxWorkGroup)
	}
	if p.Local {
		need := int64(4 * p.KWG * (p.RowsPerGroup() + p.ColsPerGroup() + 2))
		if need > d.info.LocalMem {
			return fmt.Errorf("device: gemm tiles need %d bytes of local memory, the device has %d", need, d.info.LocalMem)
		}
	}
	return nil
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// Gemm runs C = act(alpha·op(A)·op(B) + bias + beta·C) as g describes
// (see kernels.Gemm). bias may be nil when g.Bias is false. C must not
// overlap A or B. It returns once the kernel is enqueued.
//
// With parameters that pack B (kernels.GemmParams.PackB), B is packed into
// a scratch buffer first (one program for every layout of B: fewer builds,
// and contiguous panels for the micro-kernel); a B that is used again (a
// layer's weights) is better packed once with PackB and multiplied with
// GemmPacked.
func (d *Device) Gemm(g kernels.Gemm, a, b, c, bias *Buffer) error {
	if err := gemmCheck(&g, a, b, c, bias, "B"); err != nil {
		return err
	}
	// Precision TF32: the tensor-core kernel (precision.go).
	if ok, err := d.gemmTF32(g, a, b, c, bias); ok {
		return err
	}
	p := d.GemmParamsFor(d.GemmClassOf(g.M, g.N, g.K))
	if p.PackB && !p.Local {
		n, err := packedLen(g.K, g.N, p.NWI, "B")
		if err != nil {
			return err
		}
		s := d.scratch()
		defer s.mu.Unlock()
		pb, err := s.get(d, 1, n)
		if err != nil {
			return err
		}
		if err := d.packBInto(p, g, b, pb); err != nil {
			return err
		}
		return d.gemmLaunch(p, g, a, pb, c, bias, s)
	}
	return d.gemmLaunch(p, g, a, b, c, bias, nil)
}

// gemmCheck checks the buffers of a GEMM call and g against them, filling
// in g's zero leading dimensions.
func gemmCheck(g *kernels.Gemm, a, b, c, bias *Buffer, bName string) error {
	lenBias := 0
	if g.Bias {
		if bias == nil {
			return fmt.Errorf("device: gemm: bias requested but the bias buffer is nil")
		}
		lenBias = bias.n
	}
	for _, x := range []struct {
		b    *Buffer
		name string
	}{{a, "A"}, {b, bName}, {c, "C"}} {
		if x.b == nil {
			return fmt.Errorf("device: gemm: buffer %s is nil", x.name)
		}
	}
	return g.Validate(a.n, b.n, c.n, lenBias)
}

// packAPays reports whether packing A pays for a product whose work-items
// take blocks of nc columns of C. Each column block reads all of A, so the
// copy is repaid where A is read by several (three or more), where op(A)
// is A transposed (its rows are strided columns), or where A's rows lie a
// multiple of 4 KiB apart and so fall into the same L1 cache set. Else the
// MWI rows of a tile stream well enough unpacked: on a 2-core Zen 3, not
// packing made the MLP 784-512-256-10 (2 column blocks and 1) 1.07×
// faster, while packing made a 1000×1000×1000 product (4 blocks) 1.09×
// faster.
func packAPays(p kernels.GemmParams, g kernels.Gemm, nc int) bool {
	if g.N < 4*p.NWI || g.K < 16 || g.M < 2*p.MWI {
		return false
	}
	return g.TransA || (4*g.LDA)%4096 == 0 || ceilDiv(g.N, nc) >= 3
}

// gemmLaunch enqueues the GEMM kernel with parameters p; when p.PackB, b
// holds op(B) packed and g's B layout is ignored. When p.PackA, A is packed
// into d's scratch first if that pays; s is the scratch when the caller
// holds it already, else nil.
func (d *Device) gemmLaunch(p kernels.GemmParams, g kernels.Gemm, a, b, c, bias *Buffer, s *gemmScratch) error {
	if !g.Bias {
		bias = c // any valid buffer: the kernel does not read it
	}
	if p.Kernel != kernels.KernelGemm {
		return d.xgemmLaunch(p, g, a, b, c, bias)
	}
	mc, nc, kc := gemmBlocks(p, g.M, g.N, g.K, d.info.ComputeUnits)
	if p.PackA && !p.Local {
		if !packAPays(p, g, nc) {
			p.PackA = false
		} else {
			n, err := packedLen(g.K, g.M, p.MWI, "A")
			if err != nil {
				return err
			}
			if s == nil {
				s = d.scratch()
				defer s.mu.Unlock()
			}
			pa, err := s.get(d, 0, n)
			if err != nil {
				return err
			}
			if err := d.packAInto(p, g, a, pa); err != nil {
				return err
			}
			a = pa
		}
	}
	l := kernels.GemmLaunch(p, g, mc, nc, kc, ntStores(g))
	return d.enqueue(&l, a, b, c, bias)
}

// xgemmLaunch enqueues the GPU kernel p.Kernel (cl/xgemm.cl) for g
// (validated), in place: no padded or packed copies.
func (d *Device) xgemmLaunch(p kernels.GemmParams, g kernels.Gemm, a, b, c, bias *Buffer) error {
	l := kernels.XgemmLaunch(p, g)
	return d.enqueue(&l, a, b, c, bias)
}

// gemmBlocks returns the block of C of one work-item (mc×nc) and the K
// block for an m×n×k product without local memory: p's blocks, shrunk
// until every one of cu compute units has a few blocks to work on, and
// evened out so that the last block is not a sliver.
func gemmBlocks(p kernels.GemmParams, m, n, k, cu int) (mc, nc, kc int) {
	if p.Local {
		return p.RowsPerGroup(), p.ColsPerGroup(), k
	}
	mc, nc, kc = p.MC, p.NC, p.KC
	if mc == 0 {
		mc = p.MWI
	}
	if nc == 0 {
		nc = p.NWI
	}
	if kc == 0 || kc > k {
		kc = k
	}
	// Never more than the problem, in whole tiles.
	mc = min(mc, roundUp(m, p.MWI))
	nc = min(nc, roundUp(n, p.NWI))
	want := gemmBlocksPerCU * max(cu, 1)
	blocks := func() int { return ceilDiv(m, mc) * ceilDiv(n, nc) }
	for blocks() < want && (mc > p.MWI || nc > p.NWI) {
		// Halve the longer side (in tiles), keeping whole tiles.
		if mc/p.MWI >= nc/p.NWI && mc > p.MWI {
			mc = roundUp(ceilDiv(mc, 2), p.MWI)
		} else {
			nc = roundUp(ceilDiv(nc, 2), p.NWI)
		}
	}
	// Even out: the same number of blocks, as equal as whole tiles allow.
	mc = roundUp(ceilDiv(m, ceilDiv(m, mc)), p.MWI)
	nc = roundUp(ceilDiv(n, ceilDiv(n, nc)), p.NWI)
	// Even out K blocks the same way.
	kc = ceilDiv(k, ceilDiv(k, kc))
	return mc, nc, kc
}

// ntStoreMin is the size of C, in bytes, from which the GEMM writes it
// with non-temporal stores: a C this large leaves the caches anyway, and
// such stores skip reading each line before writing it.
var ntStoreMin = 16 << 20

// ntStores reports whether the GEMM of g writes C with non-temporal stores.
func ntStores(g kernels.Gemm) bool {
	return ntStoreMin > 0 && 4*g.M*g.N >= ntStoreMin && g.Beta == 0 && g.LDC == g.N
}

// gemmBlocksPerCU is how many blocks of C per compute unit gemmBlocks
// aims at, at least: enough that uneven scheduling costs little.
var gemmBlocksPerCU = 4

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Softmax runs softmax or log_softmax over the rows of src into dst.
func (d *Device) Softmax(s kernels.Softmax, src, dst *Buffer) error {
	if src == nil || dst == nil {
		return fmt.Errorf("device: softmax: nil buffer")
	}
	if err := s.Validate(src.n, dst.n); err != nil {
		return err
	}
	l := kernels.SoftmaxLaunch(s, d.info.IsGPU(), d.info.ComputeUnits)
	return d.enqueue(&l, src, dst)
}

// Activate applies e.Act to e.N elements of src, writing dst.
func (d *Device) Activate(e kernels.Elementwise, src, dst *Buffer) error {
	if src == nil || dst == nil {
		return fmt.Errorf("device: activation: nil buffer")
	}
	if err := e.Validate(src.n, dst.n); err != nil {
		return err
	}
	l := kernels.ActivationLaunch(e)
	return d.enqueue(&l, src, dst)
}
