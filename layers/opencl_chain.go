package layers

import (
	"fmt"

	"github.com/densecl/densecl/device"
	"github.com/densecl/densecl/kernels"
)

var (
	_ Chainer  = clBackend{}
	_ Router   = clBackend{}
	_ Excluder = clBackend{}
)

// Exclusive waits for the device's turn where it is a companion, which
// runs one call at a time (device.Device.Exclusive); elsewhere it returns
// nil at once.
func (b clBackend) Exclusive() func() { return b.d.Exclusive() }

// RouteWork returns the backend of the device's companion where it runs
// a plan of rows rows of macsPerRow multiply-adds each
// (device.Device.RouteWork), else nil.
func (b clBackend) RouteWork(rows int, macsPerRow int64) Backend {
	if c := b.d.RouteWork(rows, macsPerRow); c != nil {
		return clBackend{d: c, path: b.path}
	}
	return nil
}

// ChainFits reports whether c runs as one kernel on the device
// (device.Device.ChainFits).
func (b clBackend) ChainFits(c kernels.Chain) bool { return b.d.ChainFits(c) }

// ChainMaxRows returns the most rows c runs as one launch
// (device.Device.ChainMaxRows).
func (b clBackend) ChainMaxRows(c kernels.Chain) int { return b.d.ChainMaxRows(c) }

// PrepareChain prepares c on the device with the layers' buffers.
func (b clBackend) PrepareChain(c kernels.Chain, w, bs []Buffer) (ChainRunner, error) {
	if len(w) != len(c.Layers) || len(bs) != len(c.Layers) {
		return nil, fmt.Errorf("layers: opencl: a chain of %d layers needs %d weight and bias buffers, got %d and %d",
			len(c.Layers), len(c.Layers), len(w), len(bs))
	}
	r := &clChain{b: b, w: make([]*device.Buffer, len(w)), bias: make([]*device.Buffer, len(bs))}
	for i := range w {
		var err error
		if r.w[i], err = b.buf(w[i], "chain weights"); err != nil {
			return nil, err
		}
		if r.bias[i], err = b.buf(bs[i], "chain bias"); err != nil {
			return nil, err
		}
	}
	p, err := b.d.PrepareChain(c)
	if err != nil {
		return nil, err
	}
	r.p = p
	return r, nil
}

// clChain is a chain prepared on a device with its layers' buffers.
type clChain struct {
	b       clBackend
	p       *device.PreparedChain
	w, bias []*device.Buffer
}

func (r *clChain) RunChain(rows int, x, y Buffer) error {
	xd, err := r.b.buf(x, "chain input")
	if err != nil {
		return err
	}
	yd, err := r.b.buf(y, "chain output")
	if err != nil {
		return err
	}
	return r.p.Run(rows, xd, r.w, r.bias, yd)
}

func (r *clChain) PrepareRows(rows int) (Prepared, error) {
	return prepared(r.p.Prepare(rows, r.w, r.bias))
}
