package layers

import (
	"fmt"
	"os"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/kernels"
)

// OpenCL returns the backend that runs on dev. The model does not own
// dev: close the models built on it before closing dev. How Predict moves
// data follows the device (ZeroCopy: in place on host memory; otherwise
// streaming through pinned staging memory) unless EnvPredict, read here,
// says otherwise.
//
// A nil dev (what device.Open returns with its error) gives a backend
// whose every operation returns an error, and Build refuses it at once.
func OpenCL(dev *device.Device) Backend {
	return clBackend{d: dev, path: predictPath(os.Getenv(EnvPredict))}
}

// usable returns an error for a backend that cannot run anything: nil, or
// the OpenCL backend of a nil device.
func usable(b Backend, what string) error {
	if b == nil {
		return fmt.Errorf("layers: %s: backend is nil: %w", what, ErrInvalid)
	}
	if c, ok := b.(clBackend); ok && c.d == nil {
		return fmt.Errorf("layers: %s: the OpenCL backend has no device (layers.OpenCL(nil): was device.Open's error checked?): %w", what, ErrInvalid)
	}
	return nil
}

type clBackend struct {
	d    *device.Device
	path string // EnvPredict's value: "", "host", "stream" or "copy"
}

var (
	_ Fuser         = clBackend{}
	_ AsyncUploader = clBackend{}
	_ Packer        = clBackend{}
	_ HostWrapper   = clBackend{}
	_ Streamer      = clBackend{}
	_ HostInPlace   = clBackend{}
)

func (b clBackend) Name() string { return "opencl: " + b.d.String() }

// Device returns the device the backend runs on.
func (b clBackend) Device() *device.Device { return b.d }

func (b clBackend) Alloc(n int) (Buffer, error) { return b.d.Alloc(n) }

func (b clBackend) Release(buf Buffer) error {
	db, err := b.buf(buf, "released buffer")
	if err != nil || db == nil {
		return err
	}
	return db.Release()
}

// buf returns buf as a device buffer of this backend's device; nil stays nil.
func (b clBackend) buf(buf Buffer, what string) (*device.Buffer, error) {
	if buf == nil {
		return nil, nil
	}
	db, ok := buf.(*device.Buffer)
	if !ok {
		return nil, fmt.Errorf("layers: opencl: %s is a %T, not a device buffer", what, buf)
	}
	return db, nil
}

func (b clBackend) bufs(names []string, in ...Buffer) ([]*device.Buffer, error) {
	out := make([]*device.Buffer, len(in))
	for i, x := range in {
		db, err := b.buf(x, names[i])
		if err != nil {
			return nil, err
		}
		out[i] = db
	}
	return out, nil
}

func (b clBackend) Upload(dst Buffer, off int, src []float32) error {
	d, err := b.buf(dst, "upload destination")
	if err != nil {
		return err
	}
	return b.d.Upload(d, off, src)
}

func (b clBackend) UploadAsync(ev Event, dst Buffer, off int, src []float32) error {
	de, err := b.event(ev)
	if err == nil && de == nil {
		err = fmt.Errorf("layers: opencl: an upload needs an event to record it in: %w", ErrInvalid)
	}
	if err != nil {
		return err
	}
	d, err := b.buf(dst, "upload destination")
	if err != nil {
		return err
	}
	return b.d.UploadAsyncTo(de, d, off, src)
}

func (b clBackend) Download(dst []float32, src Buffer, off int) error {
	s, err := b.buf(src, "download source")
	if err != nil {
		return err
	}
	return b.d.Download(dst, s, off)
}

func (b clBackend) Gemm(g kernels.Gemm, a, bb, c, bias Buffer) error {
	x, err := b.bufs([]string{"A", "B", "C", "bias"}, a, bb, c, bias)
	if err != nil {
		return err
	}
	return b.d.Gemm(g, x[0], x[1], x[2], x[3])
}

func (b clBackend) Softmax(s kernels.Softmax, src, dst Buffer) error {
	x, err := b.bufs([]string{"softmax input", "softmax output"}, src, dst)
	if err != nil {
		return err
	}
	return b.d.Softmax(s, x[0], x[1])
}

func (b clBackend) Activate(e kernels.Elementwise, src, dst Buffer) error {
	x, err := b.bufs([]string{"activation input", "activation output"}, src, dst)
	if err != nil {
		return err
	}
	return b.d.Activate(e, x[0], x[1])
}

func (b clBackend) Finish() error { return b.d.Finish() }

func (b clBackend) WrapsHost() bool {
	if b.path != "" {
		return b.path == pathHost
	}
	return b.d.ZeroCopy()
}

// HostInPlace reports whether kernels read and write wrapped host memory
// itself (device.ZeroCopy).
func (b clBackend) HostInPlace() bool { return b.d.ZeroCopy() }

func (b clBackend) Streams() bool {
	if b.path != "" {
		return b.path == pathStream
	}
	return !b.d.ZeroCopy()
}

func (b clBackend) AllocStaging(n int) (Staging, error) { return b.d.AllocStaging(n) }

func (b clBackend) staging(s Staging) (*device.Staging, error) {
	ds, ok := s.(*device.Staging)
	if !ok {
		return nil, fmt.Errorf("layers: opencl: staging memory is a %T, not a *device.Staging", s)
	}
	return ds, nil
}

// NewEvent returns an empty *device.Event.
func (b clBackend) NewEvent() Event { return new(device.Event) }

// event returns e as the device's Event; a nil e gives nil.
func (b clBackend) event(e Event) (*device.Event, error) {
	if e == nil {
		return nil, nil
	}
	de, ok := e.(*device.Event)
	if !ok {
		return nil, fmt.Errorf("layers: opencl: event is a %T, not a *device.Event", e)
	}
	return de, nil
}

func (b clBackend) UploadStaged(ev Event, dst Buffer, s Staging, n int) error {
	de, d, ds, _, err := b.stagedArgs(ev, dst, "upload destination", s, nil)
	if err != nil {
		return err
	}
	return b.d.UploadStagedTo(de, d, 0, ds, 0, n, nil)
}

func (b clBackend) DownloadStaged(ev Event, s Staging, src Buffer, n int, after Event) error {
	de, d, ds, da, err := b.stagedArgs(ev, src, "download source", s, after)
	if err != nil {
		return err
	}
	return b.d.DownloadStagedTo(de, ds, 0, d, 0, n, da)
}

// stagedArgs converts the arguments of a staged transfer to the device's
// types: the event to record it in, the buffer (named what in errors),
// the staging memory and the event to wait for.
func (b clBackend) stagedArgs(ev Event, buf Buffer, what string, s Staging, after Event) (*device.Event, *device.Buffer, *device.Staging, *device.Event, error) {
	de, err := b.event(ev)
	if err == nil && de == nil {
		err = fmt.Errorf("layers: opencl: a staged transfer needs an event to record it in: %w", ErrInvalid)
	}
	if err != nil {
		return nil, nil, nil, nil, err
	}
	d, err := b.buf(buf, what)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ds, err := b.staging(s)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	da, err := b.event(after)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return de, d, ds, da, nil
}

func (b clBackend) ComputeAfter(after Event) error {
	da, err := b.event(after)
	if err != nil {
		return err
	}
	return b.d.ComputeAfter(da)
}

func (b clBackend) ComputeMark(ev Event) error {
	de, err := b.event(ev)
	if err == nil && de == nil {
		err = fmt.Errorf("layers: opencl: a mark needs an event to record it in: %w", ErrInvalid)
	}
	if err != nil {
		return err
	}
	return b.d.ComputeMarkTo(de)
}

func (b clBackend) WrapHost(data []float32, readOnly bool) (Buffer, error) {
	return b.d.WrapHost(data, readOnly)
}

func (b clBackend) SyncHost(buf Buffer, n int) error {
	d, err := b.buf(buf, "synced buffer")
	if err != nil {
		return err
	}
	return b.d.SyncHostPrefix(d, n)
}

func (b clBackend) Fuses(f kernels.Dense2) bool { return b.d.FusesDense2(f) }

func (b clBackend) Dense2(f kernels.Dense2, x, w1, b1, w2, b2, y Buffer) error {
	bs, err := b.bufs([]string{"x", "w1", "b1", "w2", "b2", "y"}, x, w1, b1, w2, b2, y)
	if err != nil {
		return err
	}
	return b.d.Dense2(f, bs[0], bs[1], bs[2], bs[3], bs[4], bs[5])
}

func (b clBackend) PackB(g kernels.Gemm, bb Buffer) (Packed, error) {
	x, err := b.buf(bb, "B")
	if err != nil {
		return nil, err
	}
	return b.d.PackB(g, x)
}

func (b clBackend) GemmPacked(g kernels.Gemm, a Buffer, pb Packed, c, bias Buffer) error {
	p, ok := pb.(*device.PackedB)
	if !ok {
		return fmt.Errorf("layers: opencl: packed B is a %T, not a *device.PackedB", pb)
	}
	x, err := b.bufs([]string{"A", "C", "bias"}, a, c, bias)
	if err != nil {
		return err
	}
	return b.d.GemmPacked(g, x[0], p, x[1], x[2])
}

var _ Preparer = clBackend{}

// prepared returns p's device form as a Prepared, keeping a nil pointer
// a nil interface.
func prepared(p *device.Prepared, err error) (Prepared, error) {
	if p == nil || err != nil {
		return nil, err
	}
	return p, nil
}

func (b clBackend) PrepareGemm(g kernels.Gemm, pb Packed) (Prepared, error) {
	p, ok := pb.(*device.PackedB)
	if !ok {
		return nil, nil
	}
	return prepared(b.d.PrepareGemmPacked(g, p))
}

func (b clBackend) PrepareDense2(f kernels.Dense2) (Prepared, error) {
	return prepared(b.d.PrepareDense2(f))
}

func (b clBackend) PrepareSoftmax(s kernels.Softmax) (Prepared, error) {
	return prepared(b.d.PrepareSoftmax(s))
}

func (b clBackend) PrepareActivate(e kernels.Elementwise) (Prepared, error) {
	return prepared(b.d.PrepareActivate(e))
}

func (b clBackend) RunPrepared(p Prepared, bufs [6]Buffer) error {
	dp, ok := p.(*device.Prepared)
	if !ok {
		return fmt.Errorf("layers: opencl: prepared operation is a %T, not a *device.Prepared", p)
	}
	var db [6]*device.Buffer
	for i, buf := range bufs {
		if buf == nil {
			continue
		}
		x, ok := buf.(*device.Buffer)
		if !ok {
			return fmt.Errorf("layers: opencl: buffer %d of a prepared operation is a %T, not a device buffer", i, buf)
		}
		db[i] = x
	}
	return dp.Enqueue(db[:]...)
}
