package kernels

import "fmt"

// The register budget of the GPU kernels (XgemmParams.MaxRegs).
//
// NVIDIA's OpenCL compiler takes -cl-nv-maxrregcount=N (extension
// cl_nv_compiler_options): at most N 32-bit registers per work-item,
// the rest spilled. A compute unit of sm_80 and sm_90 has 65,536
// registers, so a budget decides how many work-groups share it: at 256
// work-items, 128 registers let two groups in where 129 to 255 leave
// one. Whether the second group's latency hiding repays what the budget
// costs (spills, or a worse schedule) only a GPU run can say: the tuner
// searches budgets on NVIDIA devices (GPUGemmSpace's members with
// MaxRegs), and the defaults set none where NVIDIA's assembler, fed by
// clang (kernels/ptxas_test.go), shows the budget spilling.
const (
	// MinRegBudget and MaxRegBudget bound MaxRegs: ptxas takes no budget
	// under 16, and 255 is a work-item's most on sm_80 and sm_90.
	MinRegBudget = 16
	MaxRegBudget = 255
	// RegisterFile is the 32-bit registers of one compute unit of sm_80
	// and sm_90 (NVIDIA's CUDA C++ Programming Guide, "Technical
	// Specifications per Compute Capability").
	RegisterFile = 65536
)

// NVOptions returns the build options that only NVIDIA's OpenCL compiler
// takes for p: "-cl-nv-maxrregcount=N" with a register budget, else "".
// A device passes them only where it lists cl_nv_compiler_options; other
// compilers would refuse the option, and the budget changes no result.
func (p XgemmParams) NVOptions() string {
	if p.MaxRegs <= 0 {
		return ""
	}
	return fmt.Sprintf("-cl-nv-maxrregcount=%d", p.MaxRegs)
}

// RegBudgetFor returns the register budget that lets groups work-groups
// of wg work-items share a compute unit of sm_80 or sm_90: the register
// file divided among their work-items, rounded down to a multiple of 8
// (registers are allocated per warp in units of 256), at most
// MaxRegBudget; 0 when less than MinRegBudget would be left.
func RegBudgetFor(wg, groups int) int {
	if wg < 1 || groups < 1 {
		return 0
	}
	r := min(RegisterFile/(wg*groups)/8*8, MaxRegBudget)
	if r < MinRegBudget {
		return 0
	}
	return r
}
