// Package cl is a cgo binding to the OpenCL 1.2 C API through the system's
// ICD loader (libOpenCL.so.1): platforms, devices, contexts, command queues,
// buffers, programs, kernels and events. It is a binding without policy:
// device selection, caching and lifetimes belong to package device.
//
// # Errors
//
// Every failing call returns an error. A call that returns a cl_int status
// other than CL_SUCCESS gives an *Error that names the C function and
// wraps the Status, so that
//
//	errors.Is(err, cl.InvalidWorkGroupSize)
//
// tests for CL_INVALID_WORK_GROUP_SIZE. A program that fails to build gives
// a *BuildError with the compiler's log. Methods on released objects return
// ErrReleased. The package never panics on bad arguments.
//
// # Lifetimes
//
// Each handle type has an explicit Release; a second Release does nothing.
// There are no finalizers: the owner releases, children (kernels, buffers,
// queues) before their context. A blocking transfer uses the Go slice only
// during the call. A non-blocking one pins the slice (runtime.Pinner)
// until its Event is waited for or released, so the caller must do one of
// the two and must not touch the slice before.
//
// # Concurrency
//
// OpenCL objects may be used from several goroutines, except that setting
// arguments on one Kernel and enqueueing it must not interleave with
// another goroutine doing the same on that Kernel.
package cl
