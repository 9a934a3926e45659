package cl

import (
	"runtime"
	"unsafe"
)

// This file is the streaming path that a steady-state Predict takes on a
// device with memory of its own: transfers between device buffers and
// mapped host memory, markers and barriers, each recording its event in
// an Event the caller keeps and reuses (or asking for none), and waiting
// for at most one event. None of them allocates unless it fails.

// Held reports whether e holds an event: one recorded (by a call of this
// package) and not yet released. The zero Event holds none.
func (e *Event) Held() bool { return e != nil && e.e != 0 }

// waitOne returns the wait list of the single event after (none where
// after is nil) as the C array's address and length. The address points
// into after, which the caller keeps alive through the call.
func waitOne(op string, after *Event) (list, n uintptr, err error) {
	if after == nil {
		return 0, 0, nil
	}
	if after.e == 0 {
		return 0, 0, &Error{Op: op, Status: InvalidEventWaitList}
	}
	return uintptr(unsafe.Pointer(&after.e)), 1, nil
}

// slot returns the address where a command records its event in ev, which
// must hold none (nil asks for no event).
func slot(op string, ev *Event) (uintptr, error) {
	if ev == nil {
		return 0, nil
	}
	if ev.e != 0 {
		return 0, &Error{Op: op, Status: InvalidEvent}
	}
	return uintptr(unsafe.Pointer(&ev.e)), nil
}

// EnqueueWriteMapped enqueues a non-blocking copy of host into m at byte
// offset, to start once after has completed (nil: at once), and records
// it in ev, which must hold no event (the zero Event, or one released
// since). host must be memory that Go does not manage, such as a mapping
// that EnqueueMapBuffer returned: it is not pinned, and must stay valid
// and unchanged until ev has completed. ev and after must be heap
// objects that the caller keeps alive. It allocates nothing.
func (q *CommandQueue) EnqueueWriteMapped(m *MemObject, offset int, host []float32, after, ev *Event) error {
	return q.mapped(clEnqueueWriteBuffer, m, offset, host, after, ev)
}

// EnqueueReadMapped is EnqueueWriteMapped in the other direction: a
// non-blocking copy of len(host) floats of m at byte offset into host,
// whose data is there once ev has completed.
func (q *CommandQueue) EnqueueReadMapped(m *MemObject, offset int, host []float32, after, ev *Event) error {
	return q.mapped(clEnqueueReadBuffer, m, offset, host, after, ev)
}

func (q *CommandQueue) mapped(f *proc, m *MemObject, offset int, host []float32, after, ev *Event) error {
	if err := q.ready(m); err != nil {
		return err
	}
	n := 4 * len(host)
	if n == 0 || offset < 0 || offset > m.size-n {
		return &Error{Op: f.name, Status: InvalidValue}
	}
	wl, nw, err := waitOne(f.name, after)
	if err != nil {
		return err
	}
	out, err := slot(f.name, ev)
	if err != nil {
		return err
	}
	err = f.statusHeap(q.q, m.m, clFalse, uintptr(offset), uintptr(n), uintptr(unsafe.Pointer(unsafe.SliceData(host))), nw, wl, out)
	runtime.KeepAlive(after)
	runtime.KeepAlive(ev)
	return recorded(ev, err)
}

// recorded counts the event a successful command recorded in ev as live.
func recorded(ev *Event, err error) error {
	if err != nil {
		if ev != nil {
			ev.e = 0
		}
		return err
	}
	if ev != nil {
		liveEvents.Add(1)
	}
	return nil
}

// EnqueueMarkerTo enqueues a marker that completes once every command
// enqueued before it on q has, and records it in ev, which must hold no
// event; ev must be a heap object that the caller keeps alive. It
// allocates nothing.
func (q *CommandQueue) EnqueueMarkerTo(ev *Event) error {
	if err := q.ready(); err != nil {
		return err
	}
	if ev == nil {
		return &Error{Op: "clEnqueueMarkerWithWaitList", Status: InvalidEvent}
	}
	out, err := slot("clEnqueueMarkerWithWaitList", ev)
	if err != nil {
		return err
	}
	err = clEnqueueMarkerWithWaitList.statusHeap(q.q, 0, 0, out)
	runtime.KeepAlive(ev)
	return recorded(ev, err)
}

// EnqueueBarrierAfter enqueues a barrier that makes every command enqueued
// on q after it wait until after has completed, and asks for no event.
// after must be a heap object that the caller keeps alive. It allocates
// nothing.
func (q *CommandQueue) EnqueueBarrierAfter(after *Event) error {
	if err := q.ready(); err != nil {
		return err
	}
	if after == nil {
		return &Error{Op: "clEnqueueBarrierWithWaitList", Status: InvalidEventWaitList}
	}
	wl, nw, err := waitOne("clEnqueueBarrierWithWaitList", after)
	if err != nil {
		return err
	}
	err = clEnqueueBarrierWithWaitList.statusHeap(q.q, nw, wl, 0)
	runtime.KeepAlive(after)
	return err
}

// EnqueueWriteTo enqueues a non-blocking copy of data, Go memory, into m
// at byte offset, and records it in ev, which must hold no event. data
// stays pinned until ev is waited for or released, and must not change
// until then. ev keeps its pinner for its next transfer, so that a steady
// stream of writes through a few Events allocates nothing; ev must be a
// heap object that the caller keeps alive.
func (q *CommandQueue) EnqueueWriteTo(m *MemObject, offset int, data []float32, ev *Event) error {
	const op = "clEnqueueWriteBuffer"
	if err := q.ready(m); err != nil {
		return err
	}
	n := 4 * len(data)
	if n == 0 || offset < 0 || offset > m.size-n {
		return &Error{Op: op, Status: InvalidValue}
	}
	if ev == nil {
		return &Error{Op: op, Status: InvalidEvent}
	}
	out, err := slot(op, ev)
	if err != nil {
		return err
	}
	p := unsafe.Pointer(unsafe.SliceData(data))
	ev.own.Pin(p)
	ev.pin = &ev.own
	err = clEnqueueWriteBuffer.statusHeap(q.q, m.m, clFalse, uintptr(offset), uintptr(n), uintptr(p), 0, 0, out)
	runtime.KeepAlive(ev)
	if err != nil {
		ev.unpin()
	}
	return recorded(ev, err)
}
