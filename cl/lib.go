package cl

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// proc is an OpenCL entry point of the loaded library: its C name and its
// address, set once by load.
type proc struct {
	name string
	addr uintptr
}

// The entry points the binding calls, bound by name when the library is
// loaded. Each is an OpenCL 1.2 function of CL/cl.h.
var (
	clGetPlatformIDs             = &proc{name: "clGetPlatformIDs"}
	clGetPlatformInfo            = &proc{name: "clGetPlatformInfo"}
	clGetDeviceIDs               = &proc{name: "clGetDeviceIDs"}
	clGetDeviceInfo              = &proc{name: "clGetDeviceInfo"}
	clCreateContext              = &proc{name: "clCreateContext"}
	clReleaseContext             = &proc{name: "clReleaseContext"}
	clRetainContext              = &proc{name: "clRetainContext"}
	clCreateCommandQueue         = &proc{name: "clCreateCommandQueue"}
	clReleaseCommandQueue        = &proc{name: "clReleaseCommandQueue"}
	clFinish                     = &proc{name: "clFinish"}
	clFlush                      = &proc{name: "clFlush"}
	clCreateBuffer               = &proc{name: "clCreateBuffer"}
	clReleaseMemObject           = &proc{name: "clReleaseMemObject"}
	clEnqueueReadBuffer          = &proc{name: "clEnqueueReadBuffer"}
	clEnqueueWriteBuffer         = &proc{name: "clEnqueueWriteBuffer"}
	clEnqueueCopyBuffer          = &proc{name: "clEnqueueCopyBuffer"}
	clEnqueueFillBuffer          = &proc{name: "clEnqueueFillBuffer"}
	clEnqueueMarkerWithWaitList  = &proc{name: "clEnqueueMarkerWithWaitList"}
	clEnqueueBarrierWithWaitList = &proc{name: "clEnqueueBarrierWithWaitList"}
	clEnqueueMapBuffer           = &proc{name: "clEnqueueMapBuffer"}
	clEnqueueUnmapMemObject      = &proc{name: "clEnqueueUnmapMemObject"}
	clWaitForEvents              = &proc{name: "clWaitForEvents"}
	clGetEventInfo               = &proc{name: "clGetEventInfo"}
	clGetEventProfilingInfo      = &proc{name: "clGetEventProfilingInfo"}
	clReleaseEvent               = &proc{name: "clReleaseEvent"}
	clCreateProgramWithSource    = &proc{name: "clCreateProgramWithSource"}
	clCreateProgramWithBinary    = &proc{name: "clCreateProgramWithBinary"}
	clGetProgramInfo             = &proc{name: "clGetProgramInfo"}
	clBuildProgram               = &proc{name: "clBuildProgram"}
	clGetProgramBuildInfo        = &proc{name: "clGetProgramBuildInfo"}
	clReleaseProgram             = &proc{name: "clReleaseProgram"}
	clCreateKernel               = &proc{name: "clCreateKernel"}
	clReleaseKernel              = &proc{name: "clReleaseKernel"}
	clSetKernelArg               = &proc{name: "clSetKernelArg"}
	clGetKernelWorkGroupInfo     = &proc{name: "clGetKernelWorkGroupInfo"}
	clEnqueueNDRangeKernel       = &proc{name: "clEnqueueNDRangeKernel"}
)

var procs = []*proc{
	clGetPlatformIDs, clGetPlatformInfo, clGetDeviceIDs, clGetDeviceInfo,
	clCreateContext, clReleaseContext, clRetainContext, clCreateCommandQueue, clReleaseCommandQueue,
	clFinish, clFlush, clCreateBuffer, clReleaseMemObject,
	clEnqueueReadBuffer, clEnqueueWriteBuffer, clEnqueueCopyBuffer, clEnqueueFillBuffer,
	clEnqueueMarkerWithWaitList, clEnqueueBarrierWithWaitList,
	clEnqueueMapBuffer, clEnqueueUnmapMemObject, clWaitForEvents, clGetEventInfo,
	clGetEventProfilingInfo, clReleaseEvent, clCreateProgramWithSource, clBuildProgram,
	clGetProgramBuildInfo, clReleaseProgram, clCreateProgramWithBinary, clGetProgramInfo, clCreateKernel, clReleaseKernel,
	clSetKernelArg, clGetKernelWorkGroupInfo, clEnqueueNDRangeKernel,
}

// LibraryError is the OpenCL library (the ICD loader, libOpenCL) that
// could not be loaded, or that lacks an entry point of OpenCL 1.2. Without
// a library no platform can be found, so errors.Is(err,
// PlatformNotFoundKHR) holds, as it does for a loader with no vendor
// registered.
type LibraryError struct {
	Names []string // the library names tried, in order
	Err   error    // the dynamic loader's last message
}

func (e *LibraryError) Error() string {
	if len(e.Names) == 0 {
		return fmt.Sprintf("cl: cannot load the OpenCL library: %v", e.Err)
	}
	return fmt.Sprintf("cl: cannot load the OpenCL library (tried %s): %v", strings.Join(e.Names, ", "), e.Err)
}

// Unwrap returns the dynamic loader's message.
func (e *LibraryError) Unwrap() error { return e.Err }

// Is reports whether target is PlatformNotFoundKHR.
func (e *LibraryError) Is(target error) bool { return target == PlatformNotFoundKHR }

var lib struct {
	once sync.Once
	err  error
}

// load opens the OpenCL library and binds every entry point, once per
// process; later calls return the first call's result.
func load() error {
	lib.once.Do(func() { lib.err = bind(libraryNames); loaded.Store(true) })
	return lib.err
}

// loaded is set once the library has been loaded (or tried).
var loaded atomic.Bool

// Loaded reports whether the OpenCL library has been loaded (or its load
// tried): after that, a driver has read its environment (PoCL's
// POCL_DEVICES), and changing it has no effect in this process.
func Loaded() bool { return loaded.Load() }

// bind opens the first library of names that loads and binds procs to
// its symbols.
func bind(names []string) error {
	h, name, err := openLibrary(names)
	if err != nil {
		return err
	}
	for _, p := range procs {
		addr, err := symbol(h, p.name)
		if err != nil {
			return &LibraryError{Names: []string{name}, Err: fmt.Errorf("no entry point %s: %w", p.name, err)}
		}
		p.addr = addr
	}
	return nil
}

// call calls the entry point with C arguments of a pointer's size and
// returns its result, loading the library first if need be. A Go pointer
// among args must be converted to uintptr in the call expression itself:
// the directive below then keeps what it points to alive, on the heap,
// until the call returns (as for syscall.Syscall, rule 4 of
// unsafe.Pointer). C keeps no such pointer past the call.
//
//go:uintptrescapes
func (p *proc) call(args ...uintptr) (uintptr, error) {
	if err := load(); err != nil {
		return 0, err
	}
	return syscallN(p.addr, args...), nil
}

// status calls an entry point that returns a cl_int status and turns a
// failure into an *Error that names the function.
//
//go:uintptrescapes
func (p *proc) status(args ...uintptr) error {
	r, err := p.call(args...)
	if err != nil {
		return err
	}
	return check(p.name, int32(r))
}

func check(op string, st int32) error {
	if st == 0 { // CL_SUCCESS
		return nil
	}
	return &Error{Op: op, Status: Status(st)}
}

// statusHeap is status for calls whose pointer arguments all point into
// Go heap objects that the caller keeps alive until the call returns
// (runtime.KeepAlive), or are not pointers at all. Heap objects do not
// move, so their addresses stay valid through the call. The arguments are
// copied into an array from argPool, already on the heap, because the
// entry into C (purego.SyscallN) keeps its argument slice on the heap: so
// the call allocates nothing.
func (p *proc) statusHeap(args ...uintptr) error {
	if err := load(); err != nil {
		return err
	}
	a := argPool.Get().(*[maxCallArgs]uintptr)
	n := copy(a[:], args)
	r := syscallHeap(p.addr, a[:n])
	argPool.Put(a)
	if r == 0 {
		return nil
	}
	return check(p.name, int32(r))
}

// maxCallArgs is the most arguments of a call through statusHeap.
const maxCallArgs = 10

var argPool = sync.Pool{New: func() any { return new([maxCallArgs]uintptr) }}
