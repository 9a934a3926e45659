package device

import (
	"fmt"

	"github.com/densecl/densecl/kernels"
)

// Norm runs the row operation n (LayerNormalization, its rms_scaling form,
// a per-column scale and shift, or PReLU) from src into dst, which may be
// src; p0 and p1 are its parameter vectors of n.Cols floats, nil where n
// does not read them (kernels.Norm.Params).
func (d *Device) Norm(n kernels.Norm, src, dst, p0, p1 *Buffer) error {
	if d == nil {
		return errNilDevice
	}
	if src == nil || dst == nil {
		return fmt.Errorf("device: norm: nil buffer")
	}
	need0, need1 := n.Params()
	l0, l1 := 0, 0
	if p0 != nil {
		l0 = p0.n
	}
	if p1 != nil {
		l1 = p1.n
	}
	if err := n.Validate(src.n, dst.n, l0, l1); err != nil {
		return err
	}
	// An unread parameter is bound to src: a kernel argument may not be
	// left unset.
	if !need0 || p0 == nil {
		p0 = src
	}
	if !need1 || p1 == nil {
		p1 = src
	}
	l := kernels.NormLaunch(n, d.info.IsGPU(), d.info.ComputeUnits)
	return d.enqueue(&l, src, dst, p0, p1)
}
