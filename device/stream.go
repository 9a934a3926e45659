package device

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/densecl/densecl/cl"
)

// Streaming: pinned staging memory, two transfer queues beside the
// compute queue, and events that order work across them. On a device with
// memory of its own (not ZeroCopy), a copy from pinned host memory runs
// as a DMA transfer that overlaps kernels; a copy from ordinary (pageable)
// Go memory is staged by the driver and does not.
//
//	host slice ──copy──> Staging ──UploadStaged (upload queue)──> Buffer
//	Buffer ──kernels (compute queue, after ComputeAfter)──> Buffer
//	Buffer ──DownloadStaged (download queue)──> Staging ──copy──> host slice

// Staging is pinned host memory for streaming transfers: an OpenCL buffer
// allocated with CL_MEM_ALLOC_HOST_PTR and mapped once for its lifetime,
// whose mapping Host returns. Transfers between it and device buffers
// (UploadStaged, DownloadStaged) run without staging by the driver.
type Staging struct {
	d    *Device
	mu   sync.RWMutex // held for writing by Release
	mem  *cl.MemObject
	ptr  unsafe.Pointer
	data []float32
}

// AllocStaging returns n float32 elements of pinned host memory, mapped
// for reading and writing until Release.
func (d *Device) AllocStaging(n int) (*Staging, error) {
	if d == nil {
		return nil, errNilDevice
	}
	if n < 1 {
		return nil, fmt.Errorf("device: staging: size must be at least 1 float, got %d", n)
	}
	if int64(n)*4 > d.info.MaxAlloc {
		return nil, fmt.Errorf("device: staging: %d floats (%d bytes) exceed the device's largest buffer, %d bytes", n, int64(n)*4, d.info.MaxAlloc)
	}
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	q, err := d.streamQueues()
	if err != nil {
		return nil, err
	}
	m, err := d.ctx.CreateBuffer(cl.MemReadWrite|cl.MemAllocHostPtr, 4*n)
	if err != nil {
		return nil, fmt.Errorf("device: staging of %d floats: %w", n, err)
	}
	// Mapped on the upload queue, so as not to wait for the compute queue.
	p, ev, err := q.up.EnqueueMapBuffer(m, true, cl.MapRead|cl.MapWrite, 0, 4*n, nil)
	if err == nil {
		err = ev.Release()
	}
	if err != nil {
		m.Release()
		return nil, fmt.Errorf("device: mapping staging of %d floats: %w", n, err)
	}
	return &Staging{d: d, mem: m, ptr: p, data: unsafe.Slice((*float32)(p), n)}, nil
}

// Host returns the staging memory, Len elements. It is valid until
// Release; the host must not touch it while a transfer on it may run.
func (s *Staging) Host() []float32 {
	if s == nil {
		return nil
	}
	return s.data
}

// Len returns the number of float32 elements.
func (s *Staging) Len() int { return len(s.Host()) }

// Release unmaps and frees the memory. Releasing twice is not an error.
// Release it only once no transfer on it can run.
func (s *Staging) Release() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mem == nil {
		return nil
	}
	var errs []error
	if done, err := s.d.use(); err == nil {
		q, err := s.d.streamQueues()
		var ev *cl.Event
		if err == nil {
			ev, err = q.up.EnqueueUnmapMemObject(s.mem, s.ptr, nil)
		}
		if err == nil {
			err = ev.Wait()
			if rerr := ev.Release(); err == nil {
				err = rerr
			}
		}
		errs = append(errs, err)
		done()
	} // a closed device has released its context: nothing is mapped any more
	errs = append(errs, s.mem.Release())
	s.mem, s.ptr, s.data = nil, nil, nil
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("device: releasing staging: %w", err)
		}
	}
	return nil
}

// Event is a command in flight on one of the device's queues. Wait for it
// or pass it to a later command; Release it once done with it. The zero
// Event holds no command: the ...To calls (UploadStagedTo, ComputeMarkTo,
// DownloadStagedTo) record theirs in an Event that holds none, new or
// released since, so that a few Events kept by the caller serve a steady
// stream of transfers without allocating.
type Event struct{ ev cl.Event }

// Wait blocks until the command has completed; an Event that holds none
// returns at once. It allocates nothing.
func (e *Event) Wait() error {
	if e == nil || !e.ev.Held() {
		return nil
	}
	if err := e.ev.Wait(); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	return nil
}

// Release releases the event, first waiting for a transfer's completion,
// and leaves e holding none. Releasing twice is not an error. It
// allocates nothing.
func (e *Event) Release() error {
	if e == nil || !e.ev.Held() {
		return nil
	}
	if err := e.ev.Release(); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	return nil
}

// UploadAsyncTo is UploadAsync that records the copy in ev, which must
// hold no command (the zero Event, or one released since), instead of a
// new Transfer: src is pinned and must not change until ev's Wait or
// Release. It allocates nothing.
func (d *Device) UploadAsyncTo(ev *Event, dst *Buffer, off int, src []float32) error {
	if d == nil {
		return errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if ev == nil || ev.ev.Held() {
		return errors.New("device: upload: the event is nil or still holds a command; release it first")
	}
	m, err := dst.acquireSpan(d, "upload destination", "upload", off, len(src))
	if err != nil {
		return err
	}
	defer dst.releaseUse()
	if len(src) == 0 {
		return nil // nothing to copy: ev stays empty
	}
	if err := d.queue.EnqueueWriteTo(m, 4*off, src, &ev.ev); err != nil {
		return fmt.Errorf("device: upload: %w", err)
	}
	return nil
}

// streams holds the queues of streaming, made on first use.
type streams struct {
	mu       sync.Mutex
	up, down *cl.CommandQueue
}

// streamQueues returns the upload and download queues, creating them on
// first use.
func (d *Device) streamQueues() (*streams, error) {
	s := &d.streams
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up != nil {
		return s, nil
	}
	up, err := d.ctx.CreateCommandQueue(d.info.dev, false)
	if err != nil {
		return nil, fmt.Errorf("device: upload queue: %w", err)
	}
	down, err := d.ctx.CreateCommandQueue(d.info.dev, false)
	if err != nil {
		up.Release()
		return nil, fmt.Errorf("device: download queue: %w", err)
	}
	s.up, s.down = up, down
	return s, nil
}

// release finishes and frees the streaming queues; Close calls it.
func (s *streams) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, q := range []*cl.CommandQueue{s.up, s.down} {
		if q == nil {
			continue
		}
		if err := q.Finish(); err != nil && first == nil {
			first = err
		}
		if err := q.Release(); err != nil && first == nil {
			first = err
		}
	}
	s.up, s.down = nil, nil
	return first
}

// errReleasedEvent is a wait for an Event that holds no command.
var errReleasedEvent = fmt.Errorf("device: waiting for a released event: %w", ErrClosed)

func clEvents(evs []*Event) ([]*cl.Event, error) {
	var out []*cl.Event
	for _, e := range evs {
		if e == nil {
			continue
		}
		if !e.ev.Held() {
			return nil, errReleasedEvent
		}
		out = append(out, &e.ev)
	}
	return out, nil
}

// UploadStaged enqueues on the device's upload queue a copy of n elements
// of s from element soff into dst at element off, to start once every
// event in after has completed, and returns its event. The upload queue
// runs beside the compute queue: the copy overlaps kernels, and kernels
// that read dst must wait for the event (ComputeAfter).
func (d *Device) UploadStaged(dst *Buffer, off int, s *Staging, soff, n int, after ...*Event) (*Event, error) {
	if d == nil {
		return nil, errNilDevice
	}
	ev := new(Event)
	if err := d.staged(ev, true, dst, off, s, soff, n, after); err != nil {
		return nil, err
	}
	return ev, nil
}

// UploadStagedTo is UploadStaged that records the copy in ev, which must
// hold no command (the zero Event, or one released since), and waits for
// after unless it is nil. It allocates nothing.
func (d *Device) UploadStagedTo(ev *Event, dst *Buffer, off int, s *Staging, soff, n int, after *Event) error {
	if d == nil {
		return errNilDevice
	}
	return d.staged(ev, true, dst, off, s, soff, n, oneEvent(after))
}

// DownloadStaged enqueues on the device's download queue a copy of n
// elements of src from element off into s at element soff, to start once
// every event in after has completed (ComputeMark's, for results of
// kernels), and returns its event; s holds the data once it has completed.
func (d *Device) DownloadStaged(s *Staging, soff int, src *Buffer, off, n int, after ...*Event) (*Event, error) {
	if d == nil {
		return nil, errNilDevice
	}
	ev := new(Event)
	if err := d.staged(ev, false, src, off, s, soff, n, after); err != nil {
		return nil, err
	}
	return ev, nil
}

// DownloadStagedTo is DownloadStaged that records the copy in ev, which
// must hold no command, and waits for after unless it is nil. It
// allocates nothing.
func (d *Device) DownloadStagedTo(ev *Event, s *Staging, soff int, src *Buffer, off, n int, after *Event) error {
	if d == nil {
		return errNilDevice
	}
	return d.staged(ev, false, src, off, s, soff, n, oneEvent(after))
}

// oneEvent returns after as a wait list of at most one event, without
// allocating: the slice's array is after's own pointer's.
func oneEvent(after *Event) []*Event {
	if after == nil {
		return nil
	}
	return unsafe.Slice(&after, 1)
}

// errStagedEvent is a staged transfer asked to record its command in an
// Event that still holds one.
var errStagedEvent = errors.New("device: staged transfer: the event still holds a command; release it first")

// staged enqueues a staged upload (up) or download and records it in ev.
// With at most one event to wait for it allocates nothing.
func (d *Device) staged(ev *Event, up bool, b *Buffer, off int, s *Staging, soff, n int, after []*Event) error {
	op, what := "download", "staged download buffer"
	if up {
		op, what = "upload", "staged upload buffer"
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if ev == nil || ev.ev.Held() {
		return errStagedEvent
	}
	if s == nil || !d.shares(s.d) {
		return fmt.Errorf("device: staged %s: the staging memory is nil or belongs to another device", op)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mem == nil {
		return fmt.Errorf("device: staged %s: staging memory: %w", op, ErrClosed)
	}
	m, err := b.acquire(d, what)
	if err != nil {
		return err
	}
	defer b.releaseUse()
	if n < 1 || off < 0 || soff < 0 || off+n > b.n || soff+n > len(s.data) {
		return fmt.Errorf("device: staged %s: %d floats at offset %d of a buffer of %d and offset %d of staging of %d do not fit",
			op, n, off, b.n, soff, len(s.data))
	}
	q, err := d.streamQueues()
	if err != nil {
		return err
	}
	queue := q.down
	if up {
		queue = q.up
	}
	// One event to wait for goes in the transfer's wait list; several go
	// in a barrier's before it on the in-order queue.
	var wait *cl.Event
	if k := countEvents(after); k == 1 {
		for _, e := range after {
			if e != nil {
				if !e.ev.Held() {
					return errReleasedEvent
				}
				wait = &e.ev
			}
		}
	} else if k > 1 {
		evs, err := clEvents(after)
		if err != nil {
			return err
		}
		bar, err := queue.EnqueueBarrierWithWaitList(evs)
		if err != nil {
			return fmt.Errorf("device: staged %s: %w", op, err)
		}
		if err := bar.Release(); err != nil {
			return fmt.Errorf("device: staged %s: %w", op, err)
		}
	}
	host := s.data[soff : soff+n]
	if up {
		err = queue.EnqueueWriteMapped(m, 4*off, host, wait, &ev.ev)
	} else {
		err = queue.EnqueueReadMapped(m, 4*off, host, wait, &ev.ev)
	}
	if err != nil {
		return fmt.Errorf("device: staged %s: %w", op, err)
	}
	// Commands of other queues may wait for this one: submit it now.
	if err := queue.Flush(); err != nil {
		_ = ev.Release()
		return fmt.Errorf("device: staged %s: %w", op, err)
	}
	return nil
}

// countEvents returns how many of evs are not nil.
func countEvents(evs []*Event) int {
	k := 0
	for _, e := range evs {
		if e != nil {
			k++
		}
	}
	return k
}

// ComputeAfter makes every operation enqueued on the compute queue after
// it (kernels, Upload, Download, ...) wait until the events have
// completed: a barrier on the in-order queue. With one event it allocates
// nothing.
func (d *Device) ComputeAfter(after ...*Event) error {
	if d == nil {
		return errNilDevice
	}
	switch countEvents(after) {
	case 0:
		return nil
	case 1:
		for _, e := range after {
			if e != nil {
				return d.barrierAfter(e)
			}
		}
	}
	wait, err := clEvents(after)
	if err != nil {
		return err
	}
	ev, err := d.sync(wait, true)
	if err != nil {
		return err
	}
	return ev.Release()
}

// barrierAfter enqueues on the compute queue a barrier, with no event,
// that makes later commands wait for e.
func (d *Device) barrierAfter(e *Event) error {
	if !e.ev.Held() {
		return errReleasedEvent
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if err := d.queue.EnqueueBarrierAfter(&e.ev); err != nil {
		return fmt.Errorf("device: compute barrier: %w", err)
	}
	return nil
}

// ComputeMark returns an event that completes once every operation
// enqueued on the compute queue before it has: what DownloadStaged waits
// for to read a result.
func (d *Device) ComputeMark() (*Event, error) {
	if d == nil {
		return nil, errNilDevice
	}
	ev := new(Event)
	if err := d.ComputeMarkTo(ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// ComputeMarkTo is ComputeMark that records the marker in ev, which must
// hold no command (the zero Event, or one released since). It allocates
// nothing.
func (d *Device) ComputeMarkTo(ev *Event) error {
	if d == nil {
		return errNilDevice
	}
	if ev == nil || ev.ev.Held() {
		return errors.New("device: mark: the event is nil or still holds a command; release it first")
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	if err := d.queue.EnqueueMarkerTo(&ev.ev); err != nil {
		return fmt.Errorf("device: mark: %w", err)
	}
	if err := d.queue.Flush(); err != nil {
		_ = ev.Release()
		return fmt.Errorf("device: mark: %w", err)
	}
	return nil
}

// sync enqueues on the compute queue a barrier (every later command waits
// for it) or a marker, that completes once wait has (with none, once
// everything enqueued before it has).
func (d *Device) sync(wait []*cl.Event, barrier bool) (*cl.Event, error) {
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	enqueue := d.queue.EnqueueMarkerWithWaitList
	if barrier {
		enqueue = d.queue.EnqueueBarrierWithWaitList
	}
	ev, err := enqueue(wait)
	if err != nil {
		return nil, fmt.Errorf("device: compute barrier: %w", err)
	}
	return ev, nil
}
