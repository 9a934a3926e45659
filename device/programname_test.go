package device

import "testing"

// The build log names a program by its first kernel, attributes between
// the qualifier and the name included.
func TestProgramName(t *testing.T) {
	for src, want := range map[string]string{
		"__kernel void copy(__global float *x) {}":                                                                            "the program of kernel copy",
		"__kernel __attribute__((reqd_work_group_size(NDIM, MDIM, 1)))\nvoid gemm_cpu(int m) {}":                              "the program of kernel gemm_cpu",
		"__kernel __attribute__((vec_type_hint(float4))) __attribute__((reqd_work_group_size(1, 1, 1))) void fused(int m) {}": "the program of kernel fused",
		"// no kernel here":                  "a program",
		"__kernel __attribute__((unbalanced": "a program",
	} {
		if got := programName(src); got != want {
			t.Errorf("programName(%q) = %q, want %q", src, got, want)
		}
	}
}
