package device

import "strings"

// nvCompilerOptions reports whether the device's compiler takes NVIDIA's
// build options (-cl-nv-maxrregcount=N: extension cl_nv_compiler_options).
func (i Info) nvCompilerOptions() bool {
	return strings.Contains(i.Extensions, "cl_nv_compiler_options")
}
