package cl

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Program is an OpenCL program.
type Program struct{ p uintptr } // cl_program

// CreateProgramWithSource makes a program from OpenCL C source.
func (c *Context) CreateProgramWithSource(src string) (*Program, error) {
	if c.c == 0 {
		return nil, ErrReleased
	}
	if src == "" {
		return nil, &Error{Op: "clCreateProgramWithSource", Status: InvalidValue}
	}
	// The array of strings C reads holds a Go pointer, so the source is
	// pinned for the call; OpenCL copies it.
	s := unsafe.StringData(src)
	var pin runtime.Pinner
	pin.Pin(s)
	defer pin.Unpin()
	strs := []*byte{s}
	lens := []uintptr{uintptr(len(src))}
	var st int32
	p, err := clCreateProgramWithSource.call(c.c, 1, uintptr(unsafe.Pointer(&strs[0])), uintptr(unsafe.Pointer(&lens[0])), uintptr(unsafe.Pointer(&st)))
	if err != nil {
		return nil, err
	}
	if err := check("clCreateProgramWithSource", st); err != nil {
		return nil, err
	}
	return &Program{p}, nil
}

// cBytes returns s as a NUL-terminated C string in Go memory.
func cBytes(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// Build compiles the program for the devices with the given options. A
// failure returns a *BuildError with the first failing device's build log.
func (p *Program) Build(devices []*Device, options string) error {
	if p.p == 0 {
		return ErrReleased
	}
	ids := make([]uintptr, len(devices))
	for i, d := range devices {
		ids[i] = d.id
	}
	var idp *uintptr
	if len(ids) > 0 {
		idp = &ids[0]
	}
	co := cBytes(options)
	r, err := clBuildProgram.call(p.p, uintptr(len(ids)), uintptr(unsafe.Pointer(idp)), uintptr(unsafe.Pointer(&co[0])), 0, 0)
	if err != nil {
		return err
	}
	st := int32(r)
	if st == 0 {
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
	if p.p == 0 {
		return "", ErrReleased
	}
	var size uintptr
	if err := clGetProgramBuildInfo.status(p.p, d.id, clProgramBuildLog, 0, 0, uintptr(unsafe.Pointer(&size))); err != nil {
		return "", err
	}
	if size == 0 {
		return "", nil
	}
	buf := make([]byte, size)
	if err := clGetProgramBuildInfo.status(p.p, d.id, clProgramBuildLog, size, uintptr(unsafe.Pointer(&buf[0])), 0); err != nil {
		return "", err
	}
	return cString(buf), nil
}

// Release releases the program; repeated calls do nothing.
func (p *Program) Release() error {
	if p == nil || p.p == 0 {
		return nil
	}
	err := clReleaseProgram.status(p.p)
	p.p = 0
	return err
}

// Kernel is a kernel of a built program. Setting arguments on one Kernel
// from several goroutines at once is not safe (clSetKernelArg is not
// thread-safe on a shared cl_kernel).
type Kernel struct {
	k    uintptr // cl_kernel
	name string
	// args caches what clSetKernelArg last received, per argument, so that
	// an unchanged argument is not set again (launch.go).
	args [maxCachedArgs]argVal
	// val and sizes are the memory that clSetKernelArg and Enqueue hand C:
	// part of the Kernel, already on the heap, so that no call allocates.
	val   uint64
	sizes struct{ global, local [3]uintptr }
}

// CreateKernel returns the program's kernel of that name.
func (p *Program) CreateKernel(name string) (*Kernel, error) {
	if p.p == 0 {
		return nil, ErrReleased
	}
	cn := cBytes(name)
	var st int32
	k, err := clCreateKernel.call(p.p, uintptr(unsafe.Pointer(&cn[0])), uintptr(unsafe.Pointer(&st)))
	if err == nil {
		err = check("clCreateKernel", st)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (kernel %q)", err, name)
	}
	return &Kernel{k: k, name: name}, nil
}

// Name returns the kernel's function name.
func (k *Kernel) Name() string { return k.name }

// Release releases the kernel; repeated calls do nothing.
func (k *Kernel) Release() error {
	if k == nil || k.k == 0 {
		return nil
	}
	err := clReleaseKernel.status(k.k)
	k.k = 0
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
	if k == nil || k.k == 0 {
		return ErrReleased
	}
	switch x := v.(type) {
	case int32:
		return k.SetArgInt32(index, x)
	case uint32:
		return k.SetArgInt32(index, int32(x))
	case float32:
		return k.SetArgFloat32(index, x)
	case *MemObject:
		return k.SetArgMem(index, x)
	case LocalSpace:
		return k.SetArgLocal(index, int(x))
	}
	return &ArgError{Index: index, Value: v}
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
	if k == nil || k.k == 0 {
		return 0, ErrReleased
	}
	var v uintptr // size_t
	err := clGetKernelWorkGroupInfo.status(k.k, d.id, clKernelWorkGroupSize, unsafe.Sizeof(v), uintptr(unsafe.Pointer(&v)), 0)
	return int(v), err
}

// EnqueueNDRangeKernel launches k over global work items (1 to 3
// dimensions), in work-groups of local size (nil lets the implementation
// choose). It returns the launch's event, which the caller releases.
func (q *CommandQueue) EnqueueNDRangeKernel(k *Kernel, global, local []int, wait []*Event) (*Event, error) {
	if err := q.ready(); err != nil {
		return nil, err
	}
	if k == nil || k.k == 0 {
		return nil, ErrReleased
	}
	if len(global) < 1 || len(global) > 3 || (local != nil && len(local) != len(global)) {
		return nil, &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidWorkDimension}
	}
	// One allocation holds the sizes and the event C writes.
	s := new(launch)
	for i, v := range global {
		if v <= 0 {
			return nil, &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidGlobalWorkSize}
		}
		s.global[i] = uintptr(v)
	}
	var lp *uintptr
	if local != nil {
		for i, v := range local {
			if v <= 0 {
				return nil, &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidWorkGroupSize}
			}
			s.local[i] = uintptr(v)
		}
		lp = &s.local[0]
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, err
	}
	if err := clEnqueueNDRangeKernel.status(q.q, k.k, uintptr(len(global)), 0, uintptr(unsafe.Pointer(&s.global[0])), uintptr(unsafe.Pointer(lp)), nw, uintptr(unsafe.Pointer(wl)), uintptr(unsafe.Pointer(&s.ev.e))); err != nil {
		return nil, fmt.Errorf("%w (kernel %q, global %v, local %v)", err, k.name, global, local)
	}
	return counted(&s.ev), nil
}

// launch is what EnqueueNDRangeKernel hands C: the global and local sizes
// (size_t[3]) and the event it returns.
type launch struct {
	global, local [3]uintptr
	ev            Event
}
