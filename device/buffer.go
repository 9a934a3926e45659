package device

import (
	"fmt"
	"sync"

	"github.com/densecl/densecl/cl"
)

// Buffer is float32 storage in the device's memory.
type Buffer struct {
	d   *Device
	mu  sync.RWMutex // held for writing by Release
	mem *cl.MemObject
	n   int
}

// Len returns the number of float32 elements.
func (b *Buffer) Len() int {
	if b == nil {
		return 0
	}
	return b.n
}

// Alloc returns a buffer of n float32 elements. Its contents are undefined
// until written.
func (d *Device) Alloc(n int) (*Buffer, error) {
	if d == nil {
		return nil, errNilDevice
	}
	if n < 1 {
		return nil, fmt.Errorf("device: alloc: size must be at least 1 float, got %d", n)
	}
	if int64(n)*4 > d.info.MaxAlloc {
		return nil, fmt.Errorf("device: alloc: %d floats (%d bytes) exceed the device's largest buffer, %d bytes", n, int64(n)*4, d.info.MaxAlloc)
	}
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	m, err := d.ctx.CreateBuffer(cl.MemReadWrite, 4*n)
	if err != nil {
		return nil, fmt.Errorf("device: alloc of %d floats: %w", n, err)
	}
	return &Buffer{d: d, mem: m, n: n}, nil
}

// Release frees the buffer's device memory. Releasing twice is not an
// error; using a released buffer returns ErrClosed.
func (b *Buffer) Release() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mem == nil {
		return nil
	}
	err := b.mem.Release()
	b.mem = nil
	if err != nil {
		return fmt.Errorf("device: release: %w", err)
	}
	return nil
}

// acquire locks b for use by an operation of d.
func (b *Buffer) acquire(d *Device, what string) (*cl.MemObject, error) {
	if b == nil {
		return nil, fmt.Errorf("device: %s is nil", what)
	}
	if !d.shares(b.d) {
		return nil, fmt.Errorf("device: %s belongs to another device (%s)", what, b.d)
	}
	b.mu.RLock()
	if b.mem == nil {
		b.mu.RUnlock()
		return nil, fmt.Errorf("device: %s: %w", what, ErrClosed)
	}
	return b.mem, nil
}

func (b *Buffer) releaseUse() { b.mu.RUnlock() }

// acquireSpan is acquire for an operation op on n floats of b from
// element off: it fails, holding nothing, where they do not lie within b.
func (b *Buffer) acquireSpan(d *Device, what, op string, off, n int) (*cl.MemObject, error) {
	m, err := b.acquire(d, what)
	if err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off+n > b.n {
		b.releaseUse()
		return nil, fmt.Errorf("device: %s: %d floats at offset %d do not fit a buffer of %d", op, n, off, b.n)
	}
	return m, nil
}

// Upload copies src into dst starting at element off, and returns when
// src may be reused.
func (d *Device) Upload(dst *Buffer, off int, src []float32) error {
	if d == nil {
		return errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	defer d.queueLock()()
	m, err := dst.acquireSpan(d, "upload destination", "upload", off, len(src))
	if err != nil {
		return err
	}
	defer dst.releaseUse()
	if len(src) == 0 {
		return nil
	}
	if err := d.queue.WriteBlocking(m, 4*off, src); err != nil {
		return fmt.Errorf("device: upload: %w", err)
	}
	return nil
}

// Download copies len(dst) elements of src, starting at element off, into
// dst after every operation enqueued before it has completed.
func (d *Device) Download(dst []float32, src *Buffer, off int) error {
	if d == nil {
		return errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	defer d.queueLock()()
	m, err := src.acquireSpan(d, "download source", "download", off, len(dst))
	if err != nil {
		return err
	}
	defer src.releaseUse()
	if len(dst) == 0 {
		return nil
	}
	if err := d.queue.ReadBlocking(dst, m, 4*off); err != nil {
		return fmt.Errorf("device: download: %w", err)
	}
	return nil
}

// Copy copies n elements from src at srcOff to dst at dstOff on the device.
func (d *Device) Copy(dst *Buffer, dstOff int, src *Buffer, srcOff, n int) error {
	if d == nil {
		return errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	defer d.queueLock()()
	ms, err := src.acquire(d, "copy source")
	if err != nil {
		return err
	}
	defer src.releaseUse()
	md, err := dst.acquire(d, "copy destination")
	if err != nil {
		return err
	}
	defer dst.releaseUse()
	if n < 1 || srcOff < 0 || dstOff < 0 || srcOff+n > src.n || dstOff+n > dst.n {
		return fmt.Errorf("device: copy: %d floats from offset %d of %d to offset %d of %d do not fit", n, srcOff, src.n, dstOff, dst.n)
	}
	ev, err := d.queue.EnqueueCopyBuffer(ms, md, 4*srcOff, 4*dstOff, 4*n, nil)
	if err != nil {
		return fmt.Errorf("device: copy: %w", err)
	}
	return ev.Release()
}

// Fill sets n elements of b from off to v.
func (d *Device) Fill(b *Buffer, off, n int, v float32) error {
	if d == nil {
		return errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	defer d.queueLock()()
	m, err := b.acquireSpan(d, "fill destination", "fill", off, n)
	if err != nil {
		return err
	}
	defer b.releaseUse()
	if n < 1 {
		return fmt.Errorf("device: fill: %d floats at offset %d do not fit a buffer of %d", n, off, b.n)
	}
	ev, err := d.queue.EnqueueFillBuffer(m, v, 4*off, 4*n, nil)
	if err != nil {
		return fmt.Errorf("device: fill: %w", err)
	}
	return ev.Release()
}

// Transfer is an upload in flight. Wait for it (or Release it, which
// waits) before changing or dropping the source slice.
type Transfer struct{ ev *cl.Event }

// Wait blocks until the upload has completed and releases it.
func (t *Transfer) Wait() error {
	if t == nil || t.ev == nil {
		return nil
	}
	err := t.ev.Release() // waits for a non-blocking transfer
	t.ev = nil
	if err != nil {
		return fmt.Errorf("device: upload: %w", err)
	}
	return nil
}

// UploadAsync enqueues a copy of src into dst at element off and returns
// at once: operations enqueued later see the data. src is pinned and must
// not change until the returned Transfer's Wait.
func (d *Device) UploadAsync(dst *Buffer, off int, src []float32) (*Transfer, error) {
	if d == nil {
		return nil, errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	defer d.queueLock()()
	m, err := dst.acquireSpan(d, "upload destination", "upload", off, len(src))
	if err != nil {
		return nil, err
	}
	defer dst.releaseUse()
	if len(src) == 0 {
		return &Transfer{}, nil
	}
	ev, err := d.queue.EnqueueWriteBuffer(m, false, 4*off, src, nil)
	if err != nil {
		return nil, fmt.Errorf("device: upload: %w", err)
	}
	return &Transfer{ev: ev}, nil
}

// ZeroCopy reports whether the device works on host memory in place, so
// that buffers over host slices (WrapHost) spare the copies of Upload and
// Download: true on devices shaped like a CPU, whose memory is the host's.
// On others WrapHost still works, but the driver may copy, or have the
// device reach across the bus.
func (d *Device) ZeroCopy() bool {
	if d == nil {
		return false
	}
	return d.info.cpuLike()
}

// WrapHost returns a buffer over the memory of data: on a ZeroCopy device,
// kernels read and write data itself. readOnly declares that no operation
// writes the buffer. data is pinned until the buffer's Release, and until
// then the host must not touch it while operations on the buffer may run;
// the device's writes are in data once SyncHost has returned. Release the
// buffer only after a SyncHost or Finish that follows its last use.
func (d *Device) WrapHost(data []float32, readOnly bool) (*Buffer, error) {
	if d == nil {
		return nil, errNilDevice
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("device: wrap: the slice is empty")
	}
	if int64(len(data))*4 > d.info.MaxAlloc {
		return nil, fmt.Errorf("device: wrap: %d floats (%d bytes) exceed the device's largest buffer, %d bytes", len(data), int64(len(data))*4, d.info.MaxAlloc)
	}
	done, err := d.use()
	if err != nil {
		return nil, err
	}
	defer done()
	flags := cl.MemReadWrite
	if readOnly {
		flags = cl.MemReadOnly
	}
	m, err := d.ctx.CreateBufferHost(flags, data)
	if err != nil {
		return nil, fmt.Errorf("device: wrap of %d floats: %w", len(data), err)
	}
	return &Buffer{d: d, mem: m, n: len(data)}, nil
}

// SyncHost waits for every operation enqueued before it and makes their
// writes to b, a buffer from WrapHost, visible in its host slice (a
// blocking map for reading, then the unmap, enqueued without a wait:
// later commands on the queue run after it). It allocates nothing.
func (d *Device) SyncHost(b *Buffer) error {
	if b == nil {
		return d.SyncHostPrefix(b, 0)
	}
	return d.SyncHostPrefix(b, b.n)
}

// SyncHostPrefix is SyncHost for the first n elements of b alone (1 to
// b's length; the rest of its host slice is left as it is): for a buffer
// wrapped over more memory than the operations since wrote.
func (d *Device) SyncHostPrefix(b *Buffer, n int) error {
	if d == nil {
		return errNilDevice
	}
	done, err := d.use()
	if err != nil {
		return err
	}
	defer done()
	defer d.queueLock()()
	m, err := b.acquire(d, "synced buffer")
	if err != nil {
		return err
	}
	defer b.releaseUse()
	if n < 1 || n > b.n {
		return fmt.Errorf("device: sync: %d floats of a buffer of %d", n, b.n)
	}
	if err := d.queue.SyncRead(m, 4*n); err != nil {
		return fmt.Errorf("device: sync: %w", err)
	}
	return nil
}
