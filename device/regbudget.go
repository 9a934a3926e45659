package device

import (
	"strings"

	"github.com/densecl/densecl/kernels"
)

// nvCompilerOptions reports whether the device's compiler takes NVIDIA's
// build options (-cl-nv-maxrregcount=N: extension cl_nv_compiler_options).
func (i Info) nvCompilerOptions() bool {
	return strings.Contains(i.Extensions, "cl_nv_compiler_options")
}

// xgemmOptions returns the build options of the GPU kernel p.Kernel for
// the call g on d: kernels.GemmParams.XgemmOptions, and the register
// budget (p.MaxRegs) where the device's compiler takes it. Elsewhere the
// budget is left out: it changes no result, only the registers NVIDIA's
// compiler may use.
func (d *Device) xgemmOptions(p kernels.GemmParams, g kernels.Gemm) string {
	o := p.XgemmOptions(g)
	if nv := p.NVOptions(); nv != "" && d.info.nvCompilerOptions() {
		o += " " + nv
	}
	return o
}

// xgemmLaunchOf is kernels.XgemmLaunch with d's build options
// (xgemmOptions): the register budget where d's compiler takes it.
func (d *Device) xgemmLaunchOf(p kernels.GemmParams, g kernels.Gemm) kernels.Launch {
	l := kernels.XgemmLaunch(p, g)
	l.Options = d.xgemmOptions(p, g)
	return l
}
