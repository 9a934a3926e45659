package kernels

import (
	_ "embed"
	"fmt"
	"strings"
)

var (
	//go:embed cl/common.cl
	commonSrc string
	//go:embed cl/gemm.cl
	gemmSrc string
	//go:embed cl/softmax.cl
	softmaxSrc string
	//go:embed cl/activation.cl
	activationSrc string
	//go:embed cl/pack.cl
	packSrc string
	//go:embed cl/xgemm.cl
	xgemmSrc string
	//go:embed cl/epilogue.cl
	epilogueSrc string
)

// GemmSource is the OpenCL C source of the GEMM family (kernel "gemm").
var GemmSource = commonSrc + gemmSrc

// SoftmaxSource is the source of kernels "softmax_rows" and
// "softmax_group", and of "softmax_short" when built with
// SoftmaxShortOptions.
var SoftmaxSource = softmaxSrc

// PackSource is the source of kernel "pack_b", which packs B into the
// panels the GEMM reads when GemmParams.PackB is set.
var PackSource = packSrc

// ActivationSource is the source of kernel "activation".
var ActivationSource = commonSrc + activationSrc

// GemmParams are the parameters of the GEMM family. Kernel says which
// kernel they are for: KernelGemm (cl/gemm.cl, the CPU kernel and the
// first GPU shape; the fields MWI to PackA), or KernelXgemm and
// KernelDirect (cl/xgemm.cl, the GPU kernels; KWG and the fields from MWG
// on). For KernelGemm, MWI, NWI, MDIM, NDIM, KWG, VW, Local and PackB are
// compile-time; MC, NC and KC are run-time arguments (one program serves
// them all).
type GemmParams struct {
	MWI, NWI   int  // register tile of one work-item: rows, columns
	MDIM, NDIM int  // work-group size in work-items: rows, columns
	KWG        int  // local memory: depth of the K slice; otherwise K unrolling
	VW         int  // vector width of B loads and C stores (Local false)
	Local      bool // stage tiles in local memory (GPUs)

	// Without local memory only: the block of C one work-item computes,
	// MC rows by NC columns (multiples of MWI and NWI; 0 means one register
	// tile), walked over K in blocks of KC (0: K in one block). The device
	// may shrink MC and NC for small problems so that every compute unit
	// gets work.
	MC, NC, KC int
	// PackB (without local memory only) packs B into NWI-wide panels
	// before the product (cl/pack.cl), so that the micro-kernel reads it
	// contiguously whatever its layout.
	PackB bool
	// PackA (without local memory only) packs A into MWI-row panels before
	// a product whose A is read often enough to repay it (wide N): rows
	// then lie contiguously, whatever A's leading dimension.
	PackA bool

	// Kernel selects the kernel; the zero value is KernelGemm, so that
	// records written before the GPU kernels keep their meaning.
	Kernel GemmKernel `json:",omitempty"`
	// The GPU kernels' parameters (cl/xgemm.cl explains each; KWG above
	// is the depth of their K slice): a work-group of MDIMC×NDIMC
	// work-items computes an MWG×NWG tile of C, loading A as MDIMA
	// work-items along M and B as NDIMB along N, K unrolled by KWI, with
	// vector widths VWM (A) and VWN (B and C); STRM/STRN stride a
	// work-item's rows/columns, SA/SB stage A/B in local memory, DB
	// double-buffers it.
	MWG, NWG     int  `json:",omitempty"`
	MDIMC, NDIMC int  `json:",omitempty"`
	MDIMA, NDIMB int  `json:",omitempty"`
	KWI          int  `json:",omitempty"`
	VWM, VWN     int  `json:",omitempty"`
	STRM, STRN   bool `json:",omitempty"`
	SA, SB, DB   bool `json:",omitempty"`
	// MaxRegs (GPU kernels only) is a register budget per work-item for
	// NVIDIA's compiler (GemmParams.NVOptions; 0: the compiler's choice).
	MaxRegs int `json:",omitempty"`
}

// CPUGemm is the default configuration for CPUs, sized for AVX2 (16 vector
// registers of 8 floats): a 6×16 register tile (12 float8 accumulators,
// 2 for B, 1 for the broadcast of A), A and B packed, 96×256 blocks of C
// per work-item, K in one block. Measured on a 2-core Zen 3 under PoCL,
// each C tile walking the whole of K beat 256-deep K blocks (whose 16 KiB
// panel of B stays in L1) by 1.07-1.30× (MLP 784-512-256-10, Dense
// 1024², 2048², 4096→512 and 512→10 layers, interleaved medians): the
// panels stream from L2 well enough, and each block costs a pass over C.
var CPUGemm = GemmParams{MWI: 6, NWI: 16, MDIM: 1, NDIM: 1, KWG: 4, VW: 8, MC: 96, NC: 256, KC: 0, PackB: true, PackA: true}

// GPUGemm is the configuration shaped for GPUs: 16×16 work-items, each
// with a 4×4 tile of a 64×64 block staged 16 deep in local memory.
var GPUGemm = GemmParams{MWI: 4, NWI: 4, MDIM: 16, NDIM: 16, KWG: 16, VW: 1, Local: true}

// RowsPerGroup returns the rows of C one work-group covers.
func (p GemmParams) RowsPerGroup() int { return p.MDIM * p.MWI }

// ColsPerGroup returns the columns of C one work-group covers.
func (p GemmParams) ColsPerGroup() int { return p.NDIM * p.NWI }

// Validate checks the parameters' constraints.
func (p GemmParams) Validate() error {
	if p.Kernel != KernelGemm {
		return p.validateXgemm()
	}
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
	case p.MaxRegs != 0:
		return fmt.Errorf("kernels: gemm MaxRegs is a parameter of the GPU kernels (xgemm, xgemm_direct), got %d for gemm", p.MaxRegs)
	}
	return nil
}

// String is a compact name: "6x16/1x1/k4/v8/b96x256x256/packA/packB" or
// "4x4/16x16/k16/v1/local".
func (p GemmParams) String() string {
	if p.Kernel != KernelGemm {
		return p.xgemmString()
	}
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compiledAct returns the ACT a program is built with for act: linear and
// relu, the common and cheap ones, compiled in; -1 (the kind read at run
// time) for the others, so that they all share one program.
func compiledAct(act ActKind) int {
	if act == Linear || act == ReLU {
		return int(act)
	}
	return -1
}

// GemmOptions returns the build options of the GEMM program for p and the
// call's compile-time choices. With p.PackB (p.PackA), B (A) is read
// packed and transB (transA) does not matter (the packing kernel handled
// it): it is compiled as 0 so that both layouts share one program. The
// kernel takes the activation's kind at run time too (Activation.KernelKind).
func (p GemmParams) GemmOptions(transA, transB, bias bool, act ActKind) string {
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

// PackOptions returns the build options of the packing program for panels
// nwi columns wide.
func PackOptions(nwi int, transB bool) string {
	return fmt.Sprintf("-DNWI=%d -DTRANS_B=%d", nwi, b2i(transB))
}

// PackedLen returns the length in floats of op(B) (k×n) packed into
// panels nwi wide.
func PackedLen(k, n, nwi int) int { return k * ((n + nwi - 1) / nwi) * nwi }

// SoftmaxWG is the work-group size of softmax_group.
const SoftmaxWG = 64

// SoftmaxOptions returns the build options of the softmax program.
func SoftmaxOptions(log bool) string {
	return fmt.Sprintf("-DLOG=%d -DWG=%d", b2i(log), SoftmaxWG)
}

// SoftmaxShortMax is the longest row softmax_short handles.
const SoftmaxShortMax = 16

// SoftmaxShortOptions returns the build options of the softmax program
// that has softmax_short for rows of cols (1..SoftmaxShortMax) columns.
func SoftmaxShortOptions(log bool, cols int) string {
	return fmt.Sprintf("%s -DCOLS=%d", SoftmaxOptions(log), cols)
}

// ActivationVW is the vector width of the elementwise activation kernel.
const ActivationVW = 8

// ActivationOptions returns the build options of the activation program:
// one program for every activation, whose kind the kernel takes at run
// time (Activation.KernelKind).
func ActivationOptions() string {
	return fmt.Sprintf("-DVW=%d -DACT=-1", ActivationVW)
}
