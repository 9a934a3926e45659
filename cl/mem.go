package cl

/*
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
*/
import "C"

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// liveMem and liveEvents count the memory objects and events this package
// created and has not released (see Live).
var liveMem, liveEvents atomic.Int64

// Live returns how many memory objects and events created through this
// package are not yet released: what a leak of either changes, and the
// noise of the allocators does not, for leak tests.
func Live() (memObjects, events int64) {
	return liveMem.Load(), liveEvents.Load()
}

// newEvent wraps an event the OpenCL API created, counting it.
func newEvent(ev C.cl_event, pin *runtime.Pinner) *Event {
	liveEvents.Add(1)
	return &Event{e: ev, pin: pin}
}

// MemFlags is a cl_mem_flags bit set.
type MemFlags uint64

// Memory flags.
const (
	MemReadWrite    MemFlags = C.CL_MEM_READ_WRITE
	MemWriteOnly    MemFlags = C.CL_MEM_WRITE_ONLY
	MemReadOnly     MemFlags = C.CL_MEM_READ_ONLY
	MemAllocHostPtr MemFlags = C.CL_MEM_ALLOC_HOST_PTR
	MemUseHostPtr   MemFlags = C.CL_MEM_USE_HOST_PTR
)

// MemObject is a buffer.
type MemObject struct {
	m    C.cl_mem
	size int
	pin  *runtime.Pinner // the host memory of CreateBufferHost
}

// CreateBuffer allocates size bytes on the context's devices.
func (c *Context) CreateBuffer(flags MemFlags, size int) (*MemObject, error) {
	if c.c == nil {
		return nil, ErrReleased
	}
	if size <= 0 {
		return nil, &Error{Op: "clCreateBuffer", Status: InvalidBufferSize}
	}
	var st C.cl_int
	m := C.clCreateBuffer(c.c, C.cl_mem_flags(flags), C.size_t(size), nil, &st)
	if err := check("clCreateBuffer", st); err != nil {
		return nil, err
	}
	liveMem.Add(1)
	return &MemObject{m: m, size: size}, nil
}

// CreateBufferHost creates a buffer over the memory of data
// (CL_MEM_USE_HOST_PTR is added to flags), which the device may use in
// place of memory of its own. data stays pinned until Release, which must
// come after every command on the buffer has completed. While commands on
// the buffer may run, the host must not touch data; the device's writes
// are in data once a blocking EnqueueMapBuffer has returned.
func (c *Context) CreateBufferHost(flags MemFlags, data []float32) (*MemObject, error) {
	if c.c == nil {
		return nil, ErrReleased
	}
	if len(data) == 0 {
		return nil, &Error{Op: "clCreateBuffer", Status: InvalidBufferSize}
	}
	p := unsafe.Pointer(&data[0])
	pin := new(runtime.Pinner)
	pin.Pin(p)
	var st C.cl_int
	m := C.clCreateBuffer(c.c, C.cl_mem_flags(flags|MemUseHostPtr), C.size_t(4*len(data)), p, &st)
	if err := check("clCreateBuffer", st); err != nil {
		pin.Unpin()
		return nil, err
	}
	liveMem.Add(1)
	return &MemObject{m: m, size: 4 * len(data), pin: pin}, nil
}

// Size returns the buffer's size in bytes.
func (m *MemObject) Size() int { return m.size }

// Release releases the buffer; repeated calls do nothing.
func (m *MemObject) Release() error {
	if m == nil || m.m == nil {
		return nil
	}
	err := check("clReleaseMemObject", C.clReleaseMemObject(m.m))
	m.m = nil
	liveMem.Add(-1)
	if m.pin != nil {
		m.pin.Unpin()
		m.pin = nil
	}
	return err
}

func waitList(events []*Event) (*C.cl_event, C.cl_uint, error) {
	if len(events) == 0 {
		return nil, 0, nil
	}
	ids := make([]C.cl_event, len(events))
	for i, e := range events {
		if e == nil || e.e == nil {
			return nil, 0, ErrReleased
		}
		ids[i] = e.e
	}
	return &ids[0], C.cl_uint(len(ids)), nil
}

func (q *CommandQueue) ready(objs ...*MemObject) error {
	if q == nil || q.q == nil {
		return ErrReleased
	}
	for _, m := range objs {
		if m == nil || m.m == nil {
			return ErrReleased
		}
	}
	return nil
}

// transfer runs a read or a write of n bytes at p, a Go pointer. A
// non-blocking transfer pins the memory until its event completes.
func (q *CommandQueue) transfer(op string, write bool, m *MemObject, blocking bool, offset int, p unsafe.Pointer, n int, wait []*Event) (*Event, error) {
	if err := q.ready(m); err != nil {
		return nil, err
	}
	if n == 0 || offset < 0 {
		return nil, &Error{Op: op, Status: InvalidValue}
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, err
	}
	var pin *runtime.Pinner
	if !blocking {
		pin = new(runtime.Pinner)
		pin.Pin(p)
	}
	var ev C.cl_event
	var st C.cl_int
	b := C.cl_bool(C.CL_FALSE)
	if blocking {
		b = C.CL_TRUE
	}
	if write {
		st = C.clEnqueueWriteBuffer(q.q, m.m, b, C.size_t(offset), C.size_t(n), p, nw, wl, &ev)
	} else {
		st = C.clEnqueueReadBuffer(q.q, m.m, b, C.size_t(offset), C.size_t(n), p, nw, wl, &ev)
	}
	if err := check(op, st); err != nil {
		if pin != nil {
			pin.Unpin()
		}
		return nil, err
	}
	return newEvent(ev, pin), nil
}

// EnqueueWriteBuffer copies data into m at byte offset. A non-blocking
// write keeps data pinned until the returned event is waited for or
// released; data must not change until then.
func (q *CommandQueue) EnqueueWriteBuffer(m *MemObject, blocking bool, offset int, data []float32, wait []*Event) (*Event, error) {
	if len(data) == 0 {
		return nil, &Error{Op: "clEnqueueWriteBuffer", Status: InvalidValue}
	}
	return q.transfer("clEnqueueWriteBuffer", true, m, blocking, offset, unsafe.Pointer(&data[0]), 4*len(data), wait)
}

// EnqueueReadBuffer copies len(data) floats from m at byte offset. A
// non-blocking read fills data only once its event has completed.
func (q *CommandQueue) EnqueueReadBuffer(m *MemObject, blocking bool, offset int, data []float32, wait []*Event) (*Event, error) {
	if len(data) == 0 {
		return nil, &Error{Op: "clEnqueueReadBuffer", Status: InvalidValue}
	}
	return q.transfer("clEnqueueReadBuffer", false, m, blocking, offset, unsafe.Pointer(&data[0]), 4*len(data), wait)
}

// EnqueueWriteBufferBytes is EnqueueWriteBuffer for bytes.
func (q *CommandQueue) EnqueueWriteBufferBytes(m *MemObject, blocking bool, offset int, data []byte, wait []*Event) (*Event, error) {
	if len(data) == 0 {
		return nil, &Error{Op: "clEnqueueWriteBuffer", Status: InvalidValue}
	}
	return q.transfer("clEnqueueWriteBuffer", true, m, blocking, offset, unsafe.Pointer(&data[0]), len(data), wait)
}

// EnqueueReadBufferBytes is EnqueueReadBuffer for bytes.
func (q *CommandQueue) EnqueueReadBufferBytes(m *MemObject, blocking bool, offset int, data []byte, wait []*Event) (*Event, error) {
	if len(data) == 0 {
		return nil, &Error{Op: "clEnqueueReadBuffer", Status: InvalidValue}
	}
	return q.transfer("clEnqueueReadBuffer", false, m, blocking, offset, unsafe.Pointer(&data[0]), len(data), wait)
}

// EnqueueCopyBuffer copies size bytes from src at srcOffset to dst at
// dstOffset.
func (q *CommandQueue) EnqueueCopyBuffer(src, dst *MemObject, srcOffset, dstOffset, size int, wait []*Event) (*Event, error) {
	if err := q.ready(src, dst); err != nil {
		return nil, err
	}
	if srcOffset < 0 || dstOffset < 0 || size <= 0 {
		return nil, &Error{Op: "clEnqueueCopyBuffer", Status: InvalidValue}
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, err
	}
	var ev C.cl_event
	st := C.clEnqueueCopyBuffer(q.q, src.m, dst.m, C.size_t(srcOffset), C.size_t(dstOffset), C.size_t(size), nw, wl, &ev)
	if err := check("clEnqueueCopyBuffer", st); err != nil {
		return nil, err
	}
	return newEvent(ev, nil), nil
}

// EnqueueFillBuffer sets size bytes of m at offset (both multiples of 4)
// to the float32 value v.
func (q *CommandQueue) EnqueueFillBuffer(m *MemObject, v float32, offset, size int, wait []*Event) (*Event, error) {
	if err := q.ready(m); err != nil {
		return nil, err
	}
	if offset < 0 || size <= 0 {
		return nil, &Error{Op: "clEnqueueFillBuffer", Status: InvalidValue}
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, err
	}
	pattern := C.float(v)
	var ev C.cl_event
	st := C.clEnqueueFillBuffer(q.q, m.m, unsafe.Pointer(&pattern), 4, C.size_t(offset), C.size_t(size), nw, wl, &ev)
	if err := check("clEnqueueFillBuffer", st); err != nil {
		return nil, err
	}
	return newEvent(ev, nil), nil
}

// MapFlags is a cl_map_flags bit set.
type MapFlags uint64

// Map flags.
const (
	MapRead  MapFlags = C.CL_MAP_READ
	MapWrite MapFlags = C.CL_MAP_WRITE
)

// EnqueueMapBuffer maps size bytes of m at byte offset into host memory
// and returns their address, valid until EnqueueUnmapMemObject. A blocking
// map returns once the data is there; a non-blocking one once its event
// has completed. For a buffer created over host memory (CreateBufferHost)
// the address lies in that memory.
func (q *CommandQueue) EnqueueMapBuffer(m *MemObject, blocking bool, flags MapFlags, offset, size int, wait []*Event) (unsafe.Pointer, *Event, error) {
	if err := q.ready(m); err != nil {
		return nil, nil, err
	}
	if offset < 0 || size <= 0 {
		return nil, nil, &Error{Op: "clEnqueueMapBuffer", Status: InvalidValue}
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, nil, err
	}
	b := C.cl_bool(C.CL_FALSE)
	if blocking {
		b = C.CL_TRUE
	}
	var ev C.cl_event
	var st C.cl_int
	p := C.clEnqueueMapBuffer(q.q, m.m, b, C.cl_map_flags(flags), C.size_t(offset), C.size_t(size), nw, wl, &ev, &st)
	if err := check("clEnqueueMapBuffer", st); err != nil {
		return nil, nil, err
	}
	return p, newEvent(ev, nil), nil
}

// EnqueueUnmapMemObject unmaps the region of m that EnqueueMapBuffer
// mapped at p.
func (q *CommandQueue) EnqueueUnmapMemObject(m *MemObject, p unsafe.Pointer, wait []*Event) (*Event, error) {
	if err := q.ready(m); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, &Error{Op: "clEnqueueUnmapMemObject", Status: InvalidValue}
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, err
	}
	var ev C.cl_event
	if err := check("clEnqueueUnmapMemObject", C.clEnqueueUnmapMemObject(q.q, m.m, p, nw, wl, &ev)); err != nil {
		return nil, err
	}
	return newEvent(ev, nil), nil
}

// Event is an OpenCL event. The event of a non-blocking transfer pins its
// host memory: Wait for it or Release it, or the Go runtime reports the
// pinned memory as leaked.
type Event struct {
	e   C.cl_event
	pin *runtime.Pinner // host memory of a non-blocking transfer
}

// WaitForEvents blocks until every event has completed.
func WaitForEvents(events ...*Event) error {
	wl, n, err := waitList(events)
	if err != nil || n == 0 {
		return err
	}
	err = check("clWaitForEvents", C.clWaitForEvents(n, wl))
	if err == nil {
		for _, e := range events {
			e.unpin()
		}
	}
	return err
}

func (e *Event) unpin() {
	if e.pin != nil {
		e.pin.Unpin()
		e.pin = nil
	}
}

// Wait blocks until the event has completed.
func (e *Event) Wait() error {
	if e == nil || e.e == nil {
		return ErrReleased
	}
	return WaitForEvents(e)
}

// ExecStatus is a command's execution status.
type ExecStatus int32

// Execution statuses; a negative status is the error the command failed with.
const (
	Complete  ExecStatus = C.CL_COMPLETE
	Running   ExecStatus = C.CL_RUNNING
	Submitted ExecStatus = C.CL_SUBMITTED
	Queued    ExecStatus = C.CL_QUEUED
)

// Status returns the command's execution status.
func (e *Event) Status() (ExecStatus, error) {
	if e == nil || e.e == nil {
		return 0, ErrReleased
	}
	var v C.cl_int
	err := check("clGetEventInfo", C.clGetEventInfo(e.e, C.CL_EVENT_COMMAND_EXECUTION_STATUS, C.size_t(unsafe.Sizeof(v)), unsafe.Pointer(&v), nil))
	return ExecStatus(v), err
}

func (e *Event) profile(param C.cl_profiling_info) (uint64, error) {
	if e == nil || e.e == nil {
		return 0, ErrReleased
	}
	var v C.cl_ulong
	err := check("clGetEventProfilingInfo", C.clGetEventProfilingInfo(e.e, param, C.size_t(unsafe.Sizeof(v)), unsafe.Pointer(&v), nil))
	return uint64(v), err
}

// Profile returns the command's queued, submit, start and end times in
// nanoseconds of the device's clock. The queue must have been made with
// profiling and the command must have completed; otherwise the error
// wraps ProfilingInfoNotAvailable.
func (e *Event) Profile() (queued, submit, start, end uint64, err error) {
	if queued, err = e.profile(C.CL_PROFILING_COMMAND_QUEUED); err != nil {
		return
	}
	if submit, err = e.profile(C.CL_PROFILING_COMMAND_SUBMIT); err != nil {
		return
	}
	if start, err = e.profile(C.CL_PROFILING_COMMAND_START); err != nil {
		return
	}
	end, err = e.profile(C.CL_PROFILING_COMMAND_END)
	return
}

// Release releases the event; repeated calls do nothing. The event of a
// non-blocking transfer is waited for first, so that its host memory is
// no longer in use when it is unpinned.
func (e *Event) Release() error {
	if e == nil || e.e == nil {
		return nil
	}
	var err error
	if e.pin != nil {
		// Even a failed wait means the command no longer runs.
		err = check("clWaitForEvents", C.clWaitForEvents(1, &e.e))
		e.unpin()
	}
	if rerr := check("clReleaseEvent", C.clReleaseEvent(e.e)); err == nil {
		err = rerr
	}
	e.e = nil
	liveEvents.Add(-1)
	return err
}
