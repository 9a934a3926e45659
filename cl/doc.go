// Package cl is a binding to the OpenCL 1.2 C API through the system's
// ICD loader: platforms, devices, contexts, command queues, buffers,
// programs, kernels and events. It is a binding without policy: device
// selection, caching and lifetimes belong to package device.
//
// # Loading
//
// The binding uses no cgo: it builds with CGO_ENABLED=0 and needs neither a
// C compiler nor OpenCL headers. On first use it loads the OpenCL library
// at run time (github.com/ebitengine/purego): libOpenCL.so.1, then
// libOpenCL.so, on Linux and the BSDs; the OpenCL framework, then
// libOpenCL.1.dylib and libOpenCL.dylib, on macOS; OpenCL.dll on Windows
// (amd64 and arm64 only). The dynamic loader's search path
// (LD_LIBRARY_PATH) applies. When none loads, every call returns a
// *LibraryError, which errors.Is matches to PlatformNotFoundKHR: to the
// caller a missing library is a missing platform.
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
// queues) before their context. C keeps no Go pointer past a call, with
// two exceptions that are pinned (runtime.Pinner). A blocking transfer
// uses the Go slice only during the call. A non-blocking one pins the
// slice until its Event is waited for or released, so the caller must do
// one of the two and must not touch the slice before. A buffer over host
// memory (CreateBufferHost, CL_MEM_USE_HOST_PTR) pins it until the
// buffer's Release.
//
// # Concurrency
//
// OpenCL objects may be used from several goroutines, except that setting
// arguments on one Kernel and enqueueing it must not interleave with
// another goroutine doing the same on that Kernel.
package cl
