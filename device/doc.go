// Package device opens an OpenCL device and runs densecl's operations on
// it: buffers of float32, a program cache, and the GEMM with its fused
// epilogue, softmax and activations from package kernels.
//
// # Choosing a device
//
// Open takes a selector: "" for the default (the DENSECL_DEVICE environment
// variable when set, else the first GPU, else the first CPU device), "gpu",
// "cpu", an index into List, or a case-insensitive substring of the
// platform or device name. With no OpenCL platform at all, Open returns an
// error wrapping ErrNoPlatform that says what to install.
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
// # Concurrency
//
// A Device is safe for concurrent use by many goroutines. Operations are
// enqueued on one in-order queue, so they run in the order they were
// issued; Download and Finish wait for what was enqueued before them.
// Programs are built once per (source, options) and shared.
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
// # Errors
//
// Bad arguments return errors that name the argument with the expected and
// received values; OpenCL failures wrap *cl.Error (errors.Is with a
// cl.Status works); a closed Device returns ErrClosed.
package device
