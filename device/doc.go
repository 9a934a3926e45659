// Package device opens an OpenCL device and runs densecl's operations on
// it: buffers of float32, a program cache, and the GEMM with its fused
// epilogue, softmax and activations from package kernels.
//
// # Choosing a device
//
// Open takes a selector: "" for the default (the DENSECL_DEVICE environment
// variable when set, else the first GPU, else the CPU device with the most
// compute units, the first of those), "gpu", "cpu" (that CPU device), an
// index into List, or a case-insensitive substring of the platform or
// device name. With no OpenCL platform at all, Open returns an error
// wrapping ErrNoPlatform that says what to install.
//
// # Companion devices
//
// Where the device's chain record (ChainRecordFor) names a companion and
// the platform lists it, Open puts both in one context: PoCL's
// single-threaded basic device beside pthread, which PoCL lists when
// POCL_DEVICES names both ("pthread basic"; UseCompanions sets it, first
// thing in a program; DENSECL_COMPANION=off opens every device alone).
// The companion reads the device's buffers, and RouteWork gives it the
// work of few rows, for which its launches (a few microseconds against
// tens) make it faster. Layers' Predict routes such plans there.
//
// # Storage
//
// A Buffer holds float32 elements in device memory. Matrices are row-major;
// offsets and leading dimensions count elements, not bytes. WrapHost makes
// a Buffer over a host slice instead; on a device whose memory is the
// host's (ZeroCopy: CPU devices), kernels then read and write the slice in
// place, with no Upload or Download, and SyncHost makes their writes
// visible in it.
//
// # Precision
//
// A Device's products (Gemm, GemmPacked, so every Dense layer) run in FP32
// by default. SetPrecision(TF32), or DENSECL_PRECISION=tf32 at Open, runs
// them on NVIDIA tensor cores with TF32 operands and float32 sums (see
// TF32), as TensorFlow does by default on those GPUs; a device that cannot
// do it returns an error wrapping ErrNoTF32 that names it and the
// requirement. Softmax, activations and fused kernels stay float32.
//
// # Fused Dense pairs
//
// Dense2 runs two Dense layers as one kernel, the hidden activations never
// stored, in the form the device's class calls for (Dense2Form: the CPU
// form on CPU-like devices, the GPU form on the others); FusesDense2 says
// which pairs fuse, from their widths and the device's limits.
// SetDense2Form forces a form: the tests run the GPU form on PoCL that way.
//
// # Streaming
//
// On a device with memory of its own, AllocStaging gives pinned host memory
// (CL_MEM_ALLOC_HOST_PTR, mapped once); UploadStaged and DownloadStaged
// move data between it and buffers on two transfer queues of their own, so
// that transfers overlap kernels. Events order the queues: ComputeAfter
// makes later operations wait for a transfer, ComputeMark gives the event
// a download waits for. UploadStagedTo, ComputeMarkTo and DownloadStagedTo
// record their command in an Event the caller keeps and releases after
// each use, so that a steady stream of chunks allocates nothing.
//
// # Build logs
//
// Programs are built with "-w", so that no compiler writes warnings to the
// process's stderr; a failed build's log is in its *cl.BuildError. With
// DENSECL_BUILD_LOG=1 (EnvBuildLog) warnings stay on and every build's log
// is written to stderr.
//
// # Concurrency
//
// A Device is safe for concurrent use by many goroutines. Operations are
// enqueued on one in-order compute queue (the staged transfers excepted),
// so they run in the order they were issued; Download and Finish wait for what was enqueued before them.
// Programs are built once per (source, options) and shared.
//
// A Device's settings (each class's GEMM parameters and the class limits,
// the precision and the TF32 parameters, the fused pair's form and GPU
// parameters) are one immutable value: a launch reads them with one
// atomic load and no lock, and each setter (SetGemmParams,
// SetClassThresholds, SetPrecision, ...) replaces the value whole, so
// that an operation sees a setting from before a change or from after
// it, never half of one. A change applies to the operations that start
// after it.
//
// # GEMM parameters
//
// Each GEMM runs with the parameters of its shape class
// (kernels.GemmClass). Open looks them up class by class: the user's cache
// written by densebench tune (DENSECL_TUNED=off skips it; =default skips
// it and the database), the repository's database of tuned records
// (gemmdb/, embedded) for the device name, then for its vendor, then the
// family's defaults. LookupGemm and Device.Tuned say which source each
// class's parameters come from.
//
// # Dense chains in one launch
//
// PrepareChain and PreparedChain.Run run consecutive Dense layers
// (kernels.Chain) as one kernel, every layer's output kept in private
// memory (the CPU form, cl/chain.cl, with a split kernel that spreads one
// row over the compute units) or local memory (the GPU form,
// cl/chain_gpu.cl, a fully fused MLP); the fused pair (Dense2) runs narrow
// pairs above the crossover. ChainFits says what fits the device's
// limits, ChainMaxRows up to how many rows one launch beats layer by
// layer: data measured per device (BenchmarkChainCrossover) and kept in
// chaindb/ (ChainRecordFor), with defaults for devices without a record.
//
// # Errors
//
// Bad arguments return errors that name the argument with the expected and
// received values; OpenCL failures wrap *cl.Error (errors.Is with a
// cl.Status works); a closed Device returns ErrClosed.
package device
