package cl

import (
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// This file is the launch path that a steady-state Predict takes: typed
// argument setters that call clSetKernelArg only when the value changes,
// and an enqueue that asks for no event. Neither allocates nor formats
// anything unless it fails.

// argKind is what a kernel argument last held, for Kernel's cache.
type argKind uint8

const (
	argUnset argKind = iota
	argBits          // a 4-byte value: int32, uint32 or float32 bits
	argMem           // a cl_mem handle
	argLocal         // a __local size in bytes
)

// argVal is the value clSetKernelArg last received for one argument.
type argVal struct {
	kind argKind
	v    uint64
}

// maxCachedArgs bounds the arguments whose values a Kernel remembers (the
// GEMM kernel takes 24); an argument of a higher index is set on every
// call.
const maxCachedArgs = 32

// setCached calls clSetKernelArg for argument index with size bytes at p,
// unless the argument already holds (kind, v). The value's storage is the
// Kernel's own (k.val), so that the pointer handed to C points into memory
// that is already on the heap and the call allocates nothing.
func (k *Kernel) setCached(index int, kind argKind, v uint64, size uintptr, local bool) error {
	if k == nil || k.k == 0 {
		return ErrReleased
	}
	if index < 0 {
		return &ArgSetError{Kernel: k.name, Index: index, Err: &Error{Op: "clSetKernelArg", Status: InvalidArgIndex}}
	}
	var spare argVal
	a := &spare // an argument past the cache is set every time
	if index < maxCachedArgs {
		a = &k.args[index]
	}
	if a.kind == kind && a.v == v {
		return nil
	}
	k.val = v
	var ptr uintptr
	if !local {
		ptr = uintptr(unsafe.Pointer(&k.val))
	}
	err := clSetKernelArg.statusHeap(k.k, uintptr(uint32(index)), size, ptr)
	runtime.KeepAlive(k)
	if err != nil {
		a.kind = argUnset
		return &ArgSetError{Kernel: k.name, Index: index, Err: err}
	}
	a.kind, a.v = kind, v
	return nil
}

// SetArgInt32 sets argument index to the int (or uint) v, calling
// clSetKernelArg only when the argument holds another value.
func (k *Kernel) SetArgInt32(index int, v int32) error {
	return k.setCached(index, argBits, uint64(uint32(v)), 4, false)
}

// SetArgFloat32 sets argument index to the float v, calling clSetKernelArg
// only when the argument holds other bits.
func (k *Kernel) SetArgFloat32(index int, v float32) error {
	return k.setCached(index, argBits, uint64(math.Float32bits(v)), 4, false)
}

// SetArgMem sets argument index to the buffer m, calling clSetKernelArg
// only when the argument holds another buffer.
func (k *Kernel) SetArgMem(index int, m *MemObject) error {
	if m == nil || m.m == 0 {
		if k == nil {
			return ErrReleased
		}
		return &ArgSetError{Kernel: k.name, Index: index, Err: ErrReleased}
	}
	return k.setCached(index, argMem, uint64(m.m), unsafe.Sizeof(m.m), false)
}

// SetArgLocal reserves bytes of __local memory for argument index.
func (k *Kernel) SetArgLocal(index int, bytes int) error {
	if bytes <= 0 || int64(bytes) > math.MaxInt32 {
		return &Error{Op: "clSetKernelArg", Status: InvalidArgSize}
	}
	return k.setCached(index, argLocal, uint64(bytes), uintptr(bytes), true)
}

// ArgSetError is a clSetKernelArg failure with the kernel and argument it
// concerns.
type ArgSetError struct {
	Kernel string
	Index  int
	Err    error
}

func (e *ArgSetError) Error() string {
	return e.Err.Error() + " (kernel \"" + e.Kernel + "\", argument " + itoa(e.Index) + ")"
}

// Unwrap returns the underlying error.
func (e *ArgSetError) Unwrap() error { return e.Err }

// itoa formats a small int without fmt.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Enqueue launches k over dims dimensions (1 to 3) of global work items,
// in work-groups of local size (local[0] == 0 lets the implementation
// choose), and asks for no event: the launch is known to have completed
// only after a later wait on q (Finish, a blocking transfer or map, or an
// event enqueued after it on this in-order queue). It allocates nothing.
// k's argument and size storage is shared, so calls on one Kernel must not
// run concurrently (as for SetArg).
func (q *CommandQueue) Enqueue(k *Kernel, dims int, global, local [3]int) error {
	if q == nil || q.q == 0 || k == nil || k.k == 0 {
		return ErrReleased
	}
	if dims < 1 || dims > 3 {
		return &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidWorkDimension}
	}
	var lp uintptr
	for i := 0; i < dims; i++ {
		if global[i] <= 0 {
			return &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidGlobalWorkSize}
		}
		k.sizes.global[i] = uintptr(global[i])
		k.sizes.local[i] = uintptr(local[i])
	}
	if local[0] != 0 {
		for i := 0; i < dims; i++ {
			if local[i] <= 0 {
				return &Error{Op: "clEnqueueNDRangeKernel", Status: InvalidWorkGroupSize}
			}
		}
		lp = uintptr(unsafe.Pointer(&k.sizes.local[0]))
	}
	err := clEnqueueNDRangeKernel.statusHeap(q.q, k.k, uintptr(dims), 0, uintptr(unsafe.Pointer(&k.sizes.global[0])), lp, 0, 0, 0)
	runtime.KeepAlive(k)
	if err != nil {
		return &LaunchError{Kernel: k.name, Dims: dims, Global: global, Local: local, Err: err}
	}
	return nil
}

// LaunchError is a failed clEnqueueNDRangeKernel with the kernel and the
// sizes it was given.
type LaunchError struct {
	Kernel        string
	Dims          int
	Global, Local [3]int
	Err           error
}

func (e *LaunchError) Error() string {
	s := e.Err.Error() + " (kernel \"" + e.Kernel + "\", global ["
	for i := 0; i < e.Dims; i++ {
		if i > 0 {
			s += " "
		}
		s += itoa(e.Global[i])
	}
	s += "], local ["
	if e.Local[0] != 0 {
		for i := 0; i < e.Dims; i++ {
			if i > 0 {
				s += " "
			}
			s += itoa(e.Local[i])
		}
	}
	return s + "])"
}

// Unwrap returns the underlying error.
func (e *LaunchError) Unwrap() error { return e.Err }

// statusPool holds the cl_int that an entry point returning an object
// writes its status to: heap memory reused, so that the call allocates
// nothing (see statusHeap).
var statusPool = sync.Pool{New: func() any { return new(int32) }}

// SyncRead waits for every command enqueued before it on q and makes
// their writes to the first size bytes of m visible to the host: a
// blocking map of the region for reading, then its unmap, enqueued with
// no event (OpenCL's way to read a buffer made with CreateBufferHost in
// place; commands enqueued later on this in-order queue run after the
// unmap). It allocates nothing.
func (q *CommandQueue) SyncRead(m *MemObject, size int) error {
	if err := q.ready(m); err != nil {
		return err
	}
	if size <= 0 || size > m.size {
		return &Error{Op: "clEnqueueMapBuffer", Status: InvalidValue}
	}
	if err := load(); err != nil {
		return err
	}
	st := statusPool.Get().(*int32)
	defer statusPool.Put(st)
	*st = 0
	a := argPool.Get().(*[maxCallArgs]uintptr)
	*a = [maxCallArgs]uintptr{q.q, m.m, 1, uintptr(MapRead), 0, uintptr(size), 0, 0, 0, uintptr(unsafe.Pointer(st))}
	p := syscallHeap(clEnqueueMapBuffer.addr, a[:10])
	argPool.Put(a)
	if err := check("clEnqueueMapBuffer", *st); err != nil {
		return err
	}
	if p == 0 {
		return &Error{Op: "clEnqueueMapBuffer", Status: InvalidValue}
	}
	return clEnqueueUnmapMemObject.statusHeap(q.q, m.m, p, 0, 0, 0)
}

// WriteBlocking copies src into m at byte offset and returns once src may
// be reused, with no event: a blocking clEnqueueWriteBuffer. It allocates
// nothing.
func (q *CommandQueue) WriteBlocking(m *MemObject, offset int, src []float32) error {
	return q.blocking(clEnqueueWriteBuffer, m, offset, src)
}

// ReadBlocking copies len(dst) floats of m at byte offset into dst once
// every command before it has completed, with no event: a blocking
// clEnqueueReadBuffer. It allocates nothing.
func (q *CommandQueue) ReadBlocking(dst []float32, m *MemObject, offset int) error {
	return q.blocking(clEnqueueReadBuffer, m, offset, dst)
}

// blocking runs a blocking transfer between m and the Go memory of data.
// The call returns only when the transfer is done.
func (q *CommandQueue) blocking(f *proc, m *MemObject, offset int, data []float32) error {
	if err := q.ready(m); err != nil {
		return err
	}
	n := 4 * len(data)
	if n == 0 || offset < 0 || offset+n > m.size {
		return &Error{Op: f.name, Status: InvalidValue}
	}
	return f.transfer(q.q, m.m, uintptr(offset), uintptr(n), uintptr(unsafe.Pointer(unsafe.SliceData(data))))
}

// transfer calls the blocking clEnqueueReadBuffer or clEnqueueWriteBuffer
// f with no wait list and no event. The //go:uintptrescapes directive
// keeps the memory p points to on the heap, and alive, for the call (a
// Go pointer converted in the call expression), without the slice a
// variadic call would allocate.
//
//go:uintptrescapes
func (f *proc) transfer(q, m, offset, n, p uintptr) error {
	return f.statusHeap(q, m, clTrue, offset, n, p, 0, 0, 0)
}
