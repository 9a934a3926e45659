// Package fallback computes densecl's operations in pure Go: the fused GEMM
// (through gonum's blas32 where that is exact, else its own loop), softmax,
// and every activation. It runs where no OpenCL platform exists and is the
// reference the OpenCL kernels are checked against; Apply holds each
// activation's formula, in float64.
//
// Arithmetic is IEEE on every path, as in Keras and numpy: every product
// of the GEMM is formed (0·NaN and 0·Inf are NaN; gonum, which skips the
// products of zeros, runs only where no zero meets a NaN or an Inf), and
// NaN and Inf go through the bias, the activations and softmax as their
// formulas give.
//
// Storage is row-major float32, with offsets and leading dimensions in
// elements, as described by package kernels. Inputs are never modified
// (except C, which is the output). Bad arguments return the errors of
// the kernels package's Validate methods.
package fallback
