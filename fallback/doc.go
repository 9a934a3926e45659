// Package fallback computes densecl's operations in pure Go: the fused GEMM
// through gonum's blas32, softmax, and every activation. It runs where no
// OpenCL platform exists and is the reference the OpenCL kernels are
// checked against; Apply holds each activation's formula, in float64.
//
// Storage is row-major float32, with offsets and leading dimensions in
// elements, as described by package kernels. Inputs are never modified
// (except C, which is the output). Bad arguments return the errors of
// the kernels package's Validate methods.
package fallback
