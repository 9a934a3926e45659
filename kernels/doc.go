// Package kernels holds densecl's OpenCL C sources (embedded) and the Go
// description of what they compute and of their compile-time parameters.
// It has no host logic: package device builds and launches the kernels,
// package fallback computes the same operations in Go.
//
// # Operations
//
// Gemm describes C = act(alpha·op(A)·op(B) + bias + beta·C) on row-major
// float32 matrices with offsets and leading dimensions; Softmax describes
// softmax or log_softmax over the last axis; Elementwise describes an
// activation applied to a vector. Each has a Validate method that both
// backends call, so that bad input gives the same error everywhere.
//
// # Activations
//
// Activation names one of Keras's activations (ActKind) with its
// parameters; ActivationByName maps Keras's names and aliases onto them.
//
// # Kernel family
//
// GemmParams are the parameters of one kernel of the GEMM family, one type
// per family behind one interface (Validate, Fits a device's Limits, the
// build Options, the NDRange of a product, the Panels A and B are packed
// in, and the product's Launch), so that package device runs any of them
// alike. MicroGemmParams are cl/gemm.cl's: register tile, work-group tile,
// K unrolling, vector width, local memory on or off and packing of A and
// B, passed as -D build options, and the blocks of C and K one work-item
// walks on CPUs (MC, NC, KC), passed at run time; CPUGemm and GPUGemm are
// two of its points, and a tuner (bench.Tune) searches others.
// XgemmParams are cl/xgemm.cl's, under CLBlast's names: xgemm (tiles of C
// staged through local memory, vector loads and stores, double
// buffering) and, with Direct, xgemm_direct (the same with every slice
// guarded, for small and skinny products). In JSON, parameters are tagged
// by their kernel (MarshalGemmParams; UnmarshalGemmParams also reads the
// flat form of records written before the families split).
// GPUGemmDefault gives the GPU kernels' vendor defaults per shape class
// (GemmClass, sorted by ClassThresholds: GPUThresholds on GPUs),
// GPUGemmSpace their search spaces. Linear and relu are compiled into a program; the other
// activations share one program and take their kind at run time
// (Activation.KernelKind). Dense2 describes two Dense layers fused into one
// kernel, in two forms: cl/fused.cl for CPUs (a work-item per block of rows,
// private scratch, no local memory) and cl/fused_gpu.cl for GPUs
// (work-groups of rows and hidden splits, weights staged in local memory,
// hidden activations in registers; Dense2GPUParams, GPUDense2).
//
// # TF32
//
// TF32Source (cl/gemm_tf32.cl) is the same GEMM with the same epilogue on
// NVIDIA tensor cores, in inline PTX: operands rounded to TF32, float32
// accumulation, by mma.sync m16n8k8, tiles staged by cp.async. TF32Params
// are its tile sizes, with Validate, DefaultTF32 and the search space
// TF32Candidates. Built with TF32_EMULATE it needs no PTX and runs anywhere
// (tests of its index math); RoundTF32 is its rounding in Go.
package kernels
