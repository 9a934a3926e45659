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
)

// GemmSource is the OpenCL C source of the GEMM family (kernel "gemm").
var GemmSource = commonSrc + gemmSrc

// SoftmaxSource is the source of kernels "softmax_rows" and "softmax_group".
var SoftmaxSource = softmaxSrc

// ActivationSource is the source of kernel "activation".
var ActivationSource = commonSrc + activationSrc

// GemmParams are the compile-time parameters of the GEMM family
// (cl/gemm.cl explains each).
type GemmParams struct {
	MWI, NWI   int  // register tile of one work-item: rows, columns
	MDIM, NDIM int  // work-group size in work-items: rows, columns
	KWG        int  // local memory: depth of the K slice; otherwise K unrolling
	VW         int  // vector width of B loads and C stores (Local false)
	Local      bool // stage tiles in local memory (GPUs)
}

// CPUGemm is the configuration shaped for CPUs: a 4×16 register tile of
// float8 vectors per work-item, no local memory.
var CPUGemm = GemmParams{MWI: 4, NWI: 16, MDIM: 1, NDIM: 1, KWG: 4, VW: 8}

// GPUGemm is the configuration shaped for GPUs: 16×16 work-items, each
// with a 4×4 tile of a 64×64 block staged 16 deep in local memory.
var GPUGemm = GemmParams{MWI: 4, NWI: 4, MDIM: 16, NDIM: 16, KWG: 16, VW: 1, Local: true}

// RowsPerGroup returns the rows of C one work-group covers.
func (p GemmParams) RowsPerGroup() int { return p.MDIM * p.MWI }

// ColsPerGroup returns the columns of C one work-group covers.
func (p GemmParams) ColsPerGroup() int { return p.NDIM * p.NWI }

// Validate checks the parameters' constraints.
func (p GemmParams) Validate() error {
	switch {
	case p.MWI < 1 || p.NWI < 1 || p.MDIM < 1 || p.NDIM < 1 || p.KWG < 1:
		return fmt.Errorf("kernels: gemm parameters must be positive: %+v", p)
	case p.VW != 1 && p.VW != 2 && p.VW != 4 && p.VW != 8 && p.VW != 16:
		return fmt.Errorf("kernels: gemm vector width must be 1, 2, 4, 8 or 16, got %d", p.VW)
	case p.NWI%p.VW != 0:
		return fmt.Errorf("kernels: gemm NWI (%d) must be a multiple of VW (%d)", p.NWI, p.VW)
	case p.MWI*p.NWI > 256:
		return fmt.Errorf("kernels: gemm register tile %d×%d is larger than 256 floats", p.MWI, p.NWI)
	}
	return nil
}

// String is a compact name: "4x16/1x1/k4/v8" or "4x4/16x16/k16/v1/local".
func (p GemmParams) String() string {
	s := fmt.Sprintf("%dx%d/%dx%d/k%d/v%d", p.MWI, p.NWI, p.MDIM, p.NDIM, p.KWG, p.VW)
	if p.Local {
		s += "/local"
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// GemmOptions returns the build options of the GEMM program for p and the
// call's compile-time choices.
func (p GemmParams) GemmOptions(transA, transB, bias bool, act ActKind) string {
	return strings.Join([]string{
		fmt.Sprintf("-DMWI=%d -DNWI=%d -DMDIM=%d -DNDIM=%d -DKWG=%d -DVW=%d -DLOCAL=%d", p.MWI, p.NWI, p.MDIM, p.NDIM, p.KWG, p.VW, b2i(p.Local)),
		fmt.Sprintf("-DTRANS_A=%d -DTRANS_B=%d -DBIAS=%d -DACT=%d", b2i(transA), b2i(transB), b2i(bias), act),
		"-cl-mad-enable",
	}, " ")
}

// SoftmaxWG is the work-group size of softmax_group.
const SoftmaxWG = 64

// SoftmaxOptions returns the build options of the softmax program.
func SoftmaxOptions(log bool) string {
	return fmt.Sprintf("-DLOG=%d -DWG=%d", b2i(log), SoftmaxWG)
}

// ActivationVW is the vector width of the elementwise activation kernel.
const ActivationVW = 8

// ActivationOptions returns the build options of the activation program.
func ActivationOptions(act ActKind) string {
	return fmt.Sprintf("-DVW=%d -DACT=%d", ActivationVW, act)
}
