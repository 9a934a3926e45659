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
	prog, err := d.Program(kernels.NormSource, kernels.NormOptions())
	if err != nil {
		return err
	}
	args := append([]any{int32(n.Rows), int32(n.Cols), src, dst, p0, p1}, n.Args()...)
	const wg = 64
	if n.Op >= kernels.NormScaleShift { // one work-item per element
		return prog.Run("norm_rows", []int{roundUp(n.Rows*n.Cols, wg)}, []int{wg}, append(args, int32(1))...)
	}
	if d.info.IsGPU() {
		return prog.Run("norm_rows", []int{roundUp(n.Rows, wg)}, []int{wg}, append(args, int32(1))...)
	}
	// CPUs: a few work-items per compute unit, each over consecutive rows,
	// one to a work-group (as softmax_rows: PoCL would otherwise run a
	// group's work-items as vector lanes over rows cols apart).
	items := min(n.Rows, 16*max(d.info.ComputeUnits, 1))
	rpi := ceilDiv(n.Rows, items)
	return prog.Run("norm_rows", []int{ceilDiv(n.Rows, rpi)}, []int{1}, append(args, int32(rpi))...)
}
