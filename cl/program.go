package cl

/*
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <stdlib.h>
#include <CL/cl.h>
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// Program is an OpenCL program.
type Program struct{ p C.cl_program }

// CreateProgramWithSource makes a program from OpenCL C source.
func (c *Context) CreateProgramWithSource(src string) (*Program, error) {
	if c.c == nil {
		return nil, ErrReleased
	}
	if src == "" {
		return nil, &Error{Op: "clCreateProgramWithSource", Status: InvalidValue}
	}
	cs := C.CString(src)
	defer C.free(unsafe.Pointer(cs))
	n := C.size_t(len(src))
	var st C.cl_int
	p := C.clCreateProgramWithSource(c.c, 1, &cs, &n, &st)
	if err := check("clCreateProgramWithSource", st); err != nil {
		return nil, err
	}
	return &Program{p}, nil
}

// Build compiles the program for the devices with the given options. A
// failure returns a *BuildError with the first failing device's build log.
func (p *Program) Build(devices []*Device, options string) error {
	if p.p == nil {
		return ErrReleased
	}
	ids := make([]C.cl_device_id, len(devices))
	for i, d := range devices {
		ids[i] = d.id
	}
	var idp *C.cl_device_id
	if len(ids) > 0 {
		idp = &ids[0]
	}
	co := C.CString(options)
	defer C.free(unsafe.Pointer(co))
	st := C.clBuildProgram(p.p, C.cl_uint(len(ids)), idp, co, nil, nil)
	if st == C.CL_SUCCESS {
		return nil
	}
	be := &BuildError{Status: Status(st), Options: options}
	for _, d := range devices {
		log, err := p.BuildLog(d)
		if err != nil {
			be.Log = fmt.Sprintf("(no build log: %v)", err)
		} else {
			be.Log = log
		}
		be.Device, _ = d.Name()
		if log != "" {
			break
		}
	}
	return be
}

// BuildLog returns the program's build log for d.
func (p *Program) BuildLog(d *Device) (string, error) {
	if p.p == nil {
		return "", ErrReleased
	}
	var size C.size_t
	if err := check("clGetProgramBuildInfo", C.clGetProgramBuildInfo(p.p, d.id, C.CL_PROGRAM_BUILD_LOG, 0, nil, &size)); err != nil {
		return "", err
	}
	if size == 0 {
		return "", nil
	}
	buf := make([]byte, size)
	if err := check("clGetProgramBuildInfo", C.clGetProgramBuildInfo(p.p, d.id, C.CL_PROGRAM_BUILD_LOG, size, unsafe.Pointer(&buf[0]), nil)); err != nil {
		return "", err
	}
	return cString(buf), nil
}

// Release releases the program; repeated calls do nothing.
func (p *Program) Release() error {
	if p == nil || p.p == nil {
		return nil
	}
	err := check("clReleaseProgram", C.clReleaseProgram(p.p))
	p.p = nil
	return err
}

// Kernel is a kernel of a built program. Setting arguments on one Kernel
// from several goroutines at once is not safe (clSetKernelArg is not
// thread-safe on a shared cl_kernel).
type Kernel struct {
	k    C.cl_kernel
	name string
}

// CreateKernel returns the program's kernel of that name.
func (p *Program) CreateKernel(name string) (*Kernel, error) {
	if p.p == nil {
		return nil, ErrReleased
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var st C.cl_int
	k := C.clCreateKernel(p.p, cn, &st)
	if err := check("clCreateKernel", st); err != nil {
		return nil, fmt.Errorf("%w (kernel %q)", err, name)
	}
	return &Kernel{k: k, name: name}, nil
}

// Name returns the kernel's function name.
func (k *Kernel) Name() string { return k.name }

// Release releases the kernel; repeated calls do nothing.
func (k *Kernel) Release() error {
	if k == nil || k.k == nil {
		return nil
	}
	err := check("clReleaseKernel", C.clReleaseKernel(k.k))
	k.k = nil
	return err
}

// LocalSpace as a kernel argument reserves that many bytes of __local
// memory for the argument.
type LocalSpace int

// ArgError is an argument SetArg cannot pass.
type ArgError struct {
	Index int
	Value any
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("cl: kernel argument %d: cannot pass a %T (want int32, uint32, float32, *MemObject or LocalSpace)", e.Index, e.Value)
}

// Unwrap returns ErrUnsupportedArgumentType.
func (e *ArgError) Unwrap() error { return ErrUnsupportedArgumentType }

// SetArg sets argument index to v: an int32, uint32, float32, *MemObject
// or LocalSpace. Any other type (a Go int included, whose size the kernel
// cannot know) returns an *ArgError.
func (k *Kernel) SetArg(index int, v any) error {
	if k == nil || k.k == nil {
		return ErrReleased
	}
	var st C.cl_int
	i := C.cl_uint(index)
	switch x := v.(type) {
	case int32:
		c := C.cl_int(x)
		st = C.clSetKernelArg(k.k, i, 4, unsafe.Pointer(&c))
	case uint32:
		c := C.cl_uint(x)
		st = C.clSetKernelArg(k.k, i, 4, unsafe.Pointer(&c))
	case float32:
		c := C.cl_float(x)
		st = C.clSetKernelArg(k.k, i, 4, unsafe.Pointer(&c))
	case *MemObject:
		if x == nil || x.m == nil {
			return fmt.Errorf("cl: kernel %q argument %d: %w", k.name, index, ErrReleased)
		}
		m := x.m
		st = C.clSetKernelArg(k.k, i, C.size_t(unsafe.Sizeof(m)), unsafe.Pointer(&m))
	case LocalSpace:
		if x <= 0 || int64(x) > math.MaxInt32 {
			return &Error{Op: "clSetKernelArg", Status: InvalidArgSize}
		}
		st = C.clSetKernelArg(k.k, i, C.size_t(x), nil)
	default:
		return &ArgError{Index: index, Value: v}
	}
	if err := check("clSetKernelArg", st); err != nil {
		return fmt.Errorf("%w (kernel %q, argument %d)", err, k.name, index)
	}
	return nil
}

// SetArgs sets the arguments in order, from index 0.
func (k *Kernel) SetArgs(args ...any) error {
	for i, a := range args {
		if err := k.SetArg(i, a); err != nil {
			return err
		}
	}
	return nil
}

// WorkGroupSize returns CL_KERNEL_WORK_GROUP_SIZE on d: the largest local
// size this kernel can be launched with.
func (k *Kernel) WorkGroupSize(d *Device) (int, error) {
	if k == nil || k.k == nil {
		return 0, ErrReleased
	}
	var v C.size_t
	err := check("clGetKernelWorkGroupInfo", C.clGetKernelWorkGroupInfo(k.k, d.id, C.CL_KERNEL_WORK_GROUP_SIZE, C.size_t(unsafe.Sizeof(v)), unsafe.Pointer(&v), nil))
	return int(v), err
}

// EnqueueNDRangeKernel launches k over global work items (1 to 3
// dimensions), in work-groups of local size (nil lets the implementation
// choose). It returns the launch's event, which the caller releases.
func (q *CommandQueue) EnqueueNDRangeKernel(k *Kernel, global, local []int, wait []*Event) (*Event, error) {
	if err := q.ready(); err != nil {
		return nil, err
	}
	if k == nil || k.k == nil {
		return nil, ErrReleased
	}
	if len(global) < 1 || len(global) > 3 || (local != nil && len(local) != len(global)) {
		return nil, &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidWorkDimension}
	}
	var g, l [3]C.size_t
	for i, v := range global {
		if v <= 0 {
			return nil, &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidGlobalWorkSize}
		}
		g[i] = C.size_t(v)
	}
	var lp *C.size_t
	if local != nil {
		for i, v := range local {
			if v <= 0 {
				return nil, &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidWorkGroupSize}
			}
			l[i] = C.size_t(v)
		}
		lp = &l[0]
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, err
	}
	var ev C.cl_event
	st := C.clEnqueueNDRangeKernel(q.q, k.k, C.cl_uint(len(global)), nil, &g[0], lp, nw, wl, &ev)
	if err := check("clEnqueueNDRangeKernel", st); err != nil {
		return nil, fmt.Errorf("%w (kernel %q, global %v, local %v)", err, k.name, global, local)
	}
	return newEvent(ev, nil), nil
}
