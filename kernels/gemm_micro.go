package kernels

import (
	"fmt"
	"strings"
)

// MicroGemmParams are the parameters of cl/gemm.cl (kernel "gemm"): the
// register-tiled micro-kernel of CPUs, and its form that stages tiles in
// local memory for GPUs (Local). MWI, NWI, MDIM, NDIM, KWG, VW, Local,
// PackA and PackB are compile-time; MC, NC and KC are run-time arguments
// (one program serves them all). In BLIS's terms MWI×NWI is the
// micro-kernel's MR×NR and MC, NC, KC the cache blocks.
type MicroGemmParams struct {
	MWI, NWI   int  // register tile of one work-item: rows, columns
	MDIM, NDIM int  // work-group size in work-items: rows, columns
	KWG        int  // local memory: depth of the K slice; otherwise K unrolling
	VW         int  // vector width of B loads and C stores (Local false)
	Local      bool // stage tiles in local memory (GPUs)

	// Without local memory only: the block of C one work-item computes,
	// MC rows by NC columns (multiples of MWI and NWI; 0 means one register
	// tile), walked over K in blocks of KC (0: K in one block). The device
	// may shrink MC and NC for small problems so that every compute unit
	// gets work (Blocks).
	MC, NC, KC int
	// PackB (without local memory only) packs B into NWI-wide panels
	// before the product (cl/pack.cl), so that the micro-kernel reads it
	// contiguously whatever its layout.
	PackB bool
	// PackA (without local memory only) packs A into MWI-row panels before
	// a product whose A is read often enough to repay it (wide N,
	// PacksA): rows then lie contiguously, whatever A's leading dimension.
	PackA bool
}

// CPUGemm is the default configuration for CPUs, sized for AVX2 (16 vector
// registers of 8 floats): a 6×16 register tile (12 float8 accumulators,
// 2 for B, 1 for the broadcast of A), A and B packed, 96×256 blocks of C
// per work-item, K in one block. Measured on a 2-core Zen 3 under PoCL,
// each C tile walking the whole of K beat 256-deep K blocks (whose 16 KiB
// panel of B stays in L1) by 1.07-1.30× (MLP 784-512-256-10, Dense
// 1024², 2048², 4096→512 and 512→10 layers, interleaved medians): the
// panels stream from L2 well enough, and each block costs a pass over C.
var CPUGemm = MicroGemmParams{MWI: 6, NWI: 16, MDIM: 1, NDIM: 1, KWG: 4, VW: 8, MC: 96, NC: 256, KC: 0, PackB: true, PackA: true}

// GPUGemm is the configuration of cl/gemm.cl shaped for GPUs: 16×16
// work-items, each with a 4×4 tile of a 64×64 block staged 16 deep in
// local memory.
var GPUGemm = MicroGemmParams{MWI: 4, NWI: 4, MDIM: 16, NDIM: 16, KWG: 16, VW: 1, Local: true}

// Kernel returns KernelGemm.
func (p MicroGemmParams) Kernel() GemmKernel { return KernelGemm }

// RowsPerGroup returns the rows of C one work-group covers.
func (p MicroGemmParams) RowsPerGroup() int { return p.MDIM * p.MWI }

// ColsPerGroup returns the columns of C one work-group covers.
func (p MicroGemmParams) ColsPerGroup() int { return p.NDIM * p.NWI }

// Validate checks the parameters' constraints.
func (p MicroGemmParams) Validate() error {
	switch {
	case p.MWI < 1 || p.NWI < 1 || p.MDIM < 1 || p.NDIM < 1 || p.KWG < 1:
		return fmt.Errorf("kernels: gemm parameters must be positive: %+v", p)
	case p.VW != 1 && p.VW != 2 && p.VW != 4 && p.VW != 8 && p.VW != 16:
		return fmt.Errorf("kernels: gemm vector width must be 1, 2, 4, 8 or 16, got %d", p.VW)
	case p.NWI%p.VW != 0:
		return fmt.Errorf("kernels: gemm NWI (%d) must be a multiple of VW (%d)", p.NWI, p.VW)
	case p.MWI*p.NWI > 256:
		return fmt.Errorf("kernels: gemm register tile %d×%d is larger than 256 floats", p.MWI, p.NWI)
	case p.MC < 0 || p.NC < 0 || p.KC < 0:
		return fmt.Errorf("kernels: gemm blocks MC, NC, KC must be >= 0 (0 = default): %+v", p)
	case p.MC%p.MWI != 0:
		return fmt.Errorf("kernels: gemm MC (%d) must be a multiple of MWI (%d)", p.MC, p.MWI)
	case p.NC%p.NWI != 0:
		return fmt.Errorf("kernels: gemm NC (%d) must be a multiple of NWI (%d)", p.NC, p.NWI)
	case p.Local && (p.PackB || p.PackA):
		return fmt.Errorf("kernels: gemm PackA and PackB need Local false")
	}
	return nil
}

// LocalBytes returns the local memory a work-group uses, in bytes: with
// Local, the K slices of A and B staged (and two floats of padding); 0
// without.
func (p MicroGemmParams) LocalBytes() int64 {
	if !p.Local {
		return 0
	}
	return int64(4 * p.KWG * (p.RowsPerGroup() + p.ColsPerGroup() + 2))
}

// Fits returns nil when p's work-group and local memory fit l.
func (p MicroGemmParams) Fits(l Limits) error {
	if p.MDIM*p.NDIM > l.MaxWorkGroup {
		return fmt.Errorf("kernels: gemm work-group %d×%d exceeds the device's %d work-items", p.MDIM, p.NDIM, l.MaxWorkGroup)
	}
	if need := p.LocalBytes(); need > l.LocalMem {
		return fmt.Errorf("kernels: gemm tiles need %d bytes of local memory, the device has %d", need, l.LocalMem)
	}
	return nil
}

// String is a compact name: "6x16/1x1/k4/v8/b96x256x256/packA/packB" or
// "4x4/16x16/k16/v1/local".
func (p MicroGemmParams) String() string {
	s := fmt.Sprintf("%dx%d/%dx%d/k%d/v%d", p.MWI, p.NWI, p.MDIM, p.NDIM, p.KWG, p.VW)
	if p.Local {
		return s + "/local"
	}
	if p.MC != 0 || p.NC != 0 || p.KC != 0 {
		s += fmt.Sprintf("/b%dx%dx%d", p.MC, p.NC, p.KC)
	}
	if p.PackA {
		s += "/packA"
	}
	if p.PackB {
		s += "/packB"
	}
	return s
}

// GemmOptions returns the build options of the GEMM program for p and the
// call's compile-time choices. With p.PackB (p.PackA), B (A) is read
// packed and transB (transA) does not matter (the packing kernel handled
// it): it is compiled as 0 so that both layouts share one program. The
// kernel takes the activation's kind at run time too (Activation.KernelKind).
func (p MicroGemmParams) GemmOptions(transA, transB, bias bool, act ActKind) string {
	packB := p.PackB && !p.Local
	if packB {
		transB = false
	}
	packA := p.PackA && !p.Local
	if packA {
		transA = false
	}
	return strings.Join([]string{
		fmt.Sprintf("-DMWI=%d -DNWI=%d -DMDIM=%d -DNDIM=%d -DKWG=%d -DVW=%d -DLOCAL=%d -DPACKED_A=%d -DPACKED_B=%d",
			p.MWI, p.NWI, p.MDIM, p.NDIM, p.KWG, p.VW, b2i(p.Local), b2i(packA), b2i(packB)),
		fmt.Sprintf("-DTRANS_A=%d -DTRANS_B=%d -DBIAS=%d -DACT=%d", b2i(transA), b2i(transB), b2i(bias), compiledAct(act)),
		"-cl-mad-enable",
	}, " ")
}

// gemmBlocksPerCU is how many blocks of C per compute unit Blocks aims
// at, at least: enough that uneven scheduling costs little.
const gemmBlocksPerCU = 4

// Blocks returns the block of C of one work-item (mc×nc) and the K block
// for an m×n×k product on cu compute units: with Local, one work-group's
// tile and the whole of K; without, p's blocks, shrunk until every
// compute unit has a few blocks to work on, and evened out so that the
// last block is not a sliver.
func (p MicroGemmParams) Blocks(m, n, k, cu int) (mc, nc, kc int) {
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

// PacksA reports whether packing A pays for a product whose work-items
// take blocks of nc columns of C. Each column block reads all of A, so the
// copy is repaid where A is read by several (three or more), where op(A)
// is A transposed (its rows are strided columns), or where A's rows lie a
// multiple of 4 KiB apart and so fall into the same L1 cache set. Else the
// MWI rows of a tile stream well enough unpacked: on a 2-core Zen 3, not
// packing made the MLP 784-512-256-10 (2 column blocks and 1) 1.07×
// faster, while packing made a 1000×1000×1000 product (4 blocks) 1.09×
// faster. It does not look at p.PackA.
func (p MicroGemmParams) PacksA(g Gemm, nc int) bool {
	if g.N < 4*p.NWI || g.K < 16 || g.M < 2*p.MWI {
		return false
	}
	return g.TransA || (4*g.LDA)%4096 == 0 || ceilDiv(g.N, nc) >= 3
}

// Panels returns MWI for A where p packs A and that pays for g (PacksA),
// and NWI for B where p packs B; 0 for each otherwise (and with Local).
func (p MicroGemmParams) Panels(g Gemm, l Limits) (a, b int) {
	if p.Local {
		return 0, 0
	}
	if p.PackB {
		b = p.NWI
	}
	if p.PackA {
		_, nc, _ := p.Blocks(g.M, g.N, g.K, l.ComputeUnits)
		if p.PacksA(g, nc) {
			a = p.MWI
		}
	}
	return a, b
}

// forProduct returns p as the product g on l runs it: PackA kept only
// where packing A pays.
func (p MicroGemmParams) forProduct(g Gemm, l Limits) MicroGemmParams {
	if a, _ := p.Panels(g, l); a == 0 {
		p.PackA = false
	}
	return p
}

// Options returns the build options of the product g on l (GemmOptions,
// A packed as Panels says).
func (p MicroGemmParams) Options(g Gemm, l Limits) string {
	return p.forProduct(g, l).GemmOptions(g.TransA, g.TransB, g.Bias, g.Act.Kind)
}

// Range returns the NDRange of the product g on l: columns in dimension
// 0, rows in dimension 1; work-groups of NDIM×MDIM work-items, each
// work-item taking a register tile (Local) or a block of Blocks.
func (p MicroGemmParams) Range(g Gemm, l Limits) (global, local [3]int) {
	mc, nc, _ := p.Blocks(g.M, g.N, g.K, l.ComputeUnits)
	return p.rangeFor(g, mc, nc), [3]int{p.NDIM, p.MDIM}
}

func (p MicroGemmParams) rangeFor(g Gemm, mc, nc int) [3]int {
	if p.Local {
		return [3]int{roundUp(g.N, p.ColsPerGroup()) / p.NWI, roundUp(g.M, p.RowsPerGroup()) / p.MWI}
	}
	return [3]int{roundUp(ceilDiv(g.N, nc), p.NDIM), roundUp(ceilDiv(g.M, mc), p.MDIM)}
}

// Launch describes the product g on l: GemmLaunch with the blocks of
// Blocks and A packed as Panels says.
func (p MicroGemmParams) Launch(g Gemm, l Limits, nt bool) Launch {
	mc, nc, kc := p.Blocks(g.M, g.N, g.K, l.ComputeUnits)
	return GemmLaunch(p.forProduct(g, l), g, mc, nc, kc, nt)
}

func (p MicroGemmParams) programs(g Gemm, l Limits) []Launch {
	var ls []Launch
	if p.PackB && !p.Local {
		ls = append(ls, PackLaunch(p.NWI, g.TransB, g.K, g.N, g.OffB, g.LDB, l.ComputeUnits))
	}
	if p.PackA && !p.Local {
		ls = append(ls, PackLaunch(p.MWI, !g.TransA, g.K, g.M, g.OffA, g.LDA, l.ComputeUnits))
	}
	return append(ls, GemmLaunch(p, g, 1, 1, 1, false))
}
