package kernels

import (
	_ "embed"
	"fmt"
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
// panels the GEMM reads when MicroGemmParams.PackB is set.
var PackSource = packSrc

// ActivationSource is the source of kernel "activation".
var ActivationSource = commonSrc + activationSrc

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
