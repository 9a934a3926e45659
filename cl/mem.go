package cl

import (
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// MemFlags is a cl_mem_flags bit set.
type MemFlags uint64

// MemObject is a buffer.
type MemObject struct {
	m    uintptr // cl_mem
	size int
	pin  *runtime.Pinner // the host memory of CreateBufferHost
}

// CreateBuffer allocates size bytes on the context's devices.
func (c *Context) CreateBuffer(flags MemFlags, size int) (*MemObject, error) {
	if c.c == 0 {
		return nil, ErrReleased
	}
	if size <= 0 {
		return nil, &Error{Op: "clCreateBuffer", Status: InvalidBufferSize}
	}
	var st int32
	m, err := clCreateBuffer.call(c.c, uintptr(flags), uintptr(size), 0, uintptr(unsafe.Pointer(&st)))
	if err != nil {
		return nil, err
	}
	if err := check("clCreateBuffer", st); err != nil {
		return nil, err
	}
	liveMem.Add(1)
	return &MemObject{m: m, size: size}, nil
}

// CreateBufferHost creates a buffer over the memory of data
// (CL_MEM_USE_HOST_PTR is added to flags), which the device may use in
// place of memory of its own. data stays pinned (runtime.Pinner) until
// Release, which must come after every command on the buffer has
// completed. While commands on the buffer may run, the host must not touch
// data; the device's writes are in data once a blocking EnqueueMapBuffer
// has returned.
func (c *Context) CreateBufferHost(flags MemFlags, data []float32) (*MemObject, error) {
	if c.c == 0 {
		return nil, ErrReleased
	}
	if len(data) == 0 || len(data) > math.MaxInt/4 {
		return nil, &Error{Op: "clCreateBuffer", Status: InvalidBufferSize}
	}
	p := &data[0]
	pin := new(runtime.Pinner)
	pin.Pin(p)
	var st int32
	m, err := clCreateBuffer.call(c.c, uintptr(flags|MemUseHostPtr), uintptr(4*len(data)), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&st)))
	if err == nil {
		err = check("clCreateBuffer", st)
	}
	if err != nil {
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
	if m == nil || m.m == 0 {
		return nil
	}
	err := clReleaseMemObject.status(m.m)
	m.m = 0
	liveMem.Add(-1)
	if m.pin != nil {
		m.pin.Unpin()
		m.pin = nil
	}
	return err
}

// waitList returns the handles of events as a C array: its first element
// and its length.
func waitList(events []*Event) (*uintptr, uintptr, error) {
	if len(events) == 0 {
		return nil, 0, nil
	}
	ids := make([]uintptr, len(events))
	for i, e := range events {
		if e == nil || e.e == 0 {
			return nil, 0, ErrReleased
		}
		ids[i] = e.e
	}
	return &ids[0], uintptr(len(ids)), nil
}

func (q *CommandQueue) ready(objs ...*MemObject) error {
	if q == nil || q.q == 0 {
		return ErrReleased
	}
	for _, m := range objs {
		if m == nil || m.m == 0 {
			return ErrReleased
		}
	}
	return nil
}

func clBool(b bool) uintptr {
	if b {
		return clTrue
	}
	return clFalse
}

// transfer runs a read or a write of n bytes at p, a Go pointer. A
// non-blocking transfer pins the memory until its event completes.
func (q *CommandQueue) transfer(f *proc, m *MemObject, blocking bool, offset int, p unsafe.Pointer, n int, wait []*Event) (*Event, error) {
	if err := q.ready(m); err != nil {
		return nil, err
	}
	if n == 0 || offset < 0 {
		return nil, &Error{Op: f.name, Status: InvalidValue}
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, err
	}
	ev := new(Event)
	if !blocking {
		ev.pin = new(runtime.Pinner)
		ev.pin.Pin(p)
	}
	if err := f.status(q.q, m.m, clBool(blocking), uintptr(offset), uintptr(n), uintptr(p), nw, uintptr(unsafe.Pointer(wl)), uintptr(unsafe.Pointer(&ev.e))); err != nil {
		ev.unpin()
		return nil, err
	}
	return counted(ev), nil
}

// EnqueueWriteBuffer copies data into m at byte offset. A non-blocking
// write keeps data pinned until the returned event is waited for or
// released; data must not change until then.
func (q *CommandQueue) EnqueueWriteBuffer(m *MemObject, blocking bool, offset int, data []float32, wait []*Event) (*Event, error) {
	if len(data) == 0 {
		return nil, &Error{Op: "clEnqueueWriteBuffer", Status: InvalidValue}
	}
	return q.transfer(clEnqueueWriteBuffer, m, blocking, offset, unsafe.Pointer(&data[0]), 4*len(data), wait)
}

// EnqueueReadBuffer copies len(data) floats from m at byte offset. A
// non-blocking read fills data only once its event has completed.
func (q *CommandQueue) EnqueueReadBuffer(m *MemObject, blocking bool, offset int, data []float32, wait []*Event) (*Event, error) {
	if len(data) == 0 {
		return nil, &Error{Op: "clEnqueueReadBuffer", Status: InvalidValue}
	}
	return q.transfer(clEnqueueReadBuffer, m, blocking, offset, unsafe.Pointer(&data[0]), 4*len(data), wait)
}

// EnqueueWriteBufferBytes is EnqueueWriteBuffer for bytes.
func (q *CommandQueue) EnqueueWriteBufferBytes(m *MemObject, blocking bool, offset int, data []byte, wait []*Event) (*Event, error) {
	if len(data) == 0 {
		return nil, &Error{Op: "clEnqueueWriteBuffer", Status: InvalidValue}
	}
	return q.transfer(clEnqueueWriteBuffer, m, blocking, offset, unsafe.Pointer(&data[0]), len(data), wait)
}

// EnqueueReadBufferBytes is EnqueueReadBuffer for bytes.
func (q *CommandQueue) EnqueueReadBufferBytes(m *MemObject, blocking bool, offset int, data []byte, wait []*Event) (*Event, error) {
	if len(data) == 0 {
		return nil, &Error{Op: "clEnqueueReadBuffer", Status: InvalidValue}
	}
	return q.transfer(clEnqueueReadBuffer, m, blocking, offset, unsafe.Pointer(&data[0]), len(data), wait)
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
	ev := new(Event)
	if err := clEnqueueCopyBuffer.status(q.q, src.m, dst.m, uintptr(srcOffset), uintptr(dstOffset), uintptr(size), nw, uintptr(unsafe.Pointer(wl)), uintptr(unsafe.Pointer(&ev.e))); err != nil {
		return nil, err
	}
	return counted(ev), nil
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
	pattern := v
	ev := new(Event)
	if err := clEnqueueFillBuffer.status(q.q, m.m, uintptr(unsafe.Pointer(&pattern)), 4, uintptr(offset), uintptr(size), nw, uintptr(unsafe.Pointer(wl)), uintptr(unsafe.Pointer(&ev.e))); err != nil {
		return nil, err
	}
	return counted(ev), nil
}

// EnqueueMarkerWithWaitList enqueues a marker: a command that completes
// once the events of wait have, or, with no events, once every command
// enqueued before it on q has (OpenCL 1.2, section 5.10). Its event is
// what other queues wait for to see q's work done.
func (q *CommandQueue) EnqueueMarkerWithWaitList(wait []*Event) (*Event, error) {
	return q.sync(clEnqueueMarkerWithWaitList, wait)
}

// EnqueueBarrierWithWaitList enqueues a barrier: like a marker, and every
// command enqueued on q after it waits until it completes (OpenCL 1.2,
// section 5.10), so that q's later work waits for events of other queues.
func (q *CommandQueue) EnqueueBarrierWithWaitList(wait []*Event) (*Event, error) {
	return q.sync(clEnqueueBarrierWithWaitList, wait)
}

// sync enqueues a marker or barrier f waiting for wait.
func (q *CommandQueue) sync(f *proc, wait []*Event) (*Event, error) {
	if err := q.ready(); err != nil {
		return nil, err
	}
	wl, nw, err := waitList(wait)
	if err != nil {
		return nil, err
	}
	ev := new(Event)
	if err := f.status(q.q, nw, uintptr(unsafe.Pointer(wl)), uintptr(unsafe.Pointer(&ev.e))); err != nil {
		return nil, err
	}
	return counted(ev), nil
}

// MapFlags is a cl_map_flags bit set.
type MapFlags uint64

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
	ev := new(Event)
	var st int32
	p, err := clEnqueueMapBuffer.call(q.q, m.m, clBool(blocking), uintptr(flags), uintptr(offset), uintptr(size), nw, uintptr(unsafe.Pointer(wl)), uintptr(unsafe.Pointer(&ev.e)), uintptr(unsafe.Pointer(&st)))
	if err == nil {
		err = check("clEnqueueMapBuffer", st)
	}
	if err != nil {
		return nil, nil, err
	}
	return cPointer(p), counted(ev), nil
}

// cPointer returns the address p, returned by C, as a pointer. The memory
// it points to is not Go's, so the garbage collector neither moves nor
// frees it.
func cPointer(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

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
	ev := new(Event)
	if err := clEnqueueUnmapMemObject.status(q.q, m.m, uintptr(p), nw, uintptr(unsafe.Pointer(wl)), uintptr(unsafe.Pointer(&ev.e))); err != nil {
		return nil, err
	}
	return counted(ev), nil
}

// liveMem and liveEvents count the memory objects and events this package
// created and has not released (see Live).
var liveMem, liveEvents atomic.Int64

// Live returns how many memory objects and events created through this
// package are not yet released: what a leak of either changes, and the
// noise of the allocators does not, for leak tests.
func Live() (memObjects, events int64) {
	return liveMem.Load(), liveEvents.Load()
}

// counted returns ev, an event the OpenCL API just created, counted as
// live until its Release.
func counted(ev *Event) *Event {
	liveEvents.Add(1)
	return ev
}

// Event is an OpenCL event. The event of a non-blocking transfer pins its
// host memory: Wait for it or Release it, or the Go runtime reports the
// pinned memory as leaked.
type Event struct {
	e   uintptr         // cl_event
	pin *runtime.Pinner // host memory of a non-blocking transfer
	// own is the pinner of EnqueueWriteTo, kept for the event's next
	// transfer (pin points to it while it pins).
	own runtime.Pinner
}

// WaitForEvents blocks until every event has completed.
func WaitForEvents(events ...*Event) error {
	wl, n, err := waitList(events)
	if err != nil || n == 0 {
		return err
	}
	err = clWaitForEvents.status(n, uintptr(unsafe.Pointer(wl)))
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

// Wait blocks until the event has completed. It allocates nothing.
func (e *Event) Wait() error {
	if e == nil || e.e == 0 {
		return ErrReleased
	}
	err := clWaitForEvents.statusHeap(1, uintptr(unsafe.Pointer(&e.e)))
	runtime.KeepAlive(e)
	if err == nil {
		e.unpin()
	}
	return err
}

// ExecStatus is a command's execution status.
type ExecStatus int32

// Status returns the command's execution status.
func (e *Event) Status() (ExecStatus, error) {
	if e == nil || e.e == 0 {
		return 0, ErrReleased
	}
	var v int32
	err := clGetEventInfo.status(e.e, clEventCommandExecutionStatus, unsafe.Sizeof(v), uintptr(unsafe.Pointer(&v)), 0)
	return ExecStatus(v), err
}

func (e *Event) profile(param uintptr) (uint64, error) {
	if e == nil || e.e == 0 {
		return 0, ErrReleased
	}
	var v uint64
	err := clGetEventProfilingInfo.status(e.e, param, unsafe.Sizeof(v), uintptr(unsafe.Pointer(&v)), 0)
	return v, err
}

// Profile returns the command's queued, submit, start and end times in
// nanoseconds of the device's clock. The queue must have been made with
// profiling and the command must have completed; otherwise the error
// wraps ProfilingInfoNotAvailable.
func (e *Event) Profile() (queued, submit, start, end uint64, err error) {
	if queued, err = e.profile(clProfilingCommandQueued); err != nil {
		return
	}
	if submit, err = e.profile(clProfilingCommandSubmit); err != nil {
		return
	}
	if start, err = e.profile(clProfilingCommandStart); err != nil {
		return
	}
	end, err = e.profile(clProfilingCommandEnd)
	return
}

// Release releases the event; repeated calls do nothing. The event of a
// non-blocking transfer is waited for first, so that its host memory is
// no longer in use when it is unpinned. It allocates nothing, and leaves
// e holding no event, ready to record another (EnqueueMarkerTo, ...).
func (e *Event) Release() error {
	if e == nil || e.e == 0 {
		return nil
	}
	var err error
	if e.pin != nil {
		// Even a failed wait means the command no longer runs.
		err = clWaitForEvents.statusHeap(1, uintptr(unsafe.Pointer(&e.e)))
		runtime.KeepAlive(e)
		e.unpin()
	}
	if rerr := clReleaseEvent.statusHeap(e.e); err == nil {
		err = rerr
	}
	e.e = 0
	liveEvents.Add(-1)
	return err
}
