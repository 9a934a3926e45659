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
// GemmParams are the parameters of the GEMM kernel family: register tile,
// work-group tile, K unrolling, vector width, local memory on or off and
// packing of A and B, passed as -D build options; and the blocks of C and
// K one work-item walks on CPUs (MC, NC, KC), passed at run time. CPUGemm
// and GPUGemm are two points of the family's first kernel (cl/gemm.cl); a
// tuner (bench.Tune) searches others. GemmParams.Kernel selects the GPU
// kernels of cl/xgemm.cl instead: xgemm (tiles of C staged through local
// memory, vector loads and stores, double buffering, CLBlast's parameter
// names) and xgemm_direct (the same with every slice guarded, for small
// and skinny products). GPUGemmDefault gives their vendor defaults per
// shape class (GemmClass, sorted by ClassThresholds: GPUThresholds on
// GPUs), GPUGemmSpace their search spaces. Linear and relu are compiled into a program; the other
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
