package device

import (
	"fmt"

	"github.com/densecl/densecl/kernels"
)

// FusesDense2 reports whether Dense2 is the fast way to run f on this
// device: f within the fused kernel's limits (kernels.Fusible), on a device
// shaped like a CPU, for which the kernel is written (a work-item walks
// kernels.Dense2RowsPerItem rows through every hidden unit, with a few KiB
// of private scratch). A GPU needs far more work-items than that gives and
// keeps private arrays in
// slow memory, so there two products that keep the hidden layer in memory
// are faster; Dense2 still gives correct results there.
func (d *Device) FusesDense2(f kernels.Dense2) bool {
	return kernels.Fusible(f.K, f.H, f.N) && d.info.cpuLike()
}

// Dense2 runs two Dense layers as one kernel (see kernels.Dense2): y =
// act2(act1(x·w1 + b1)·w2 + b2), the hidden activations never written to
// memory. b1 and b2 may be nil when the layer has no bias.
func (d *Device) Dense2(f kernels.Dense2, x, w1, b1, w2, b2, y *Buffer) error {
	lens := make([]int, 6)
	for i, b := range []*Buffer{x, w1, b1, w2, b2, y} {
		if b != nil {
			lens[i] = b.n
		}
	}
	for _, c := range []struct {
		b    *Buffer
		name string
		need bool
	}{{x, "x", true}, {w1, "w1", true}, {w2, "w2", true}, {y, "y", true}, {b1, "b1", f.Bias1}, {b2, "b2", f.Bias2}} {
		if c.need && c.b == nil {
			return fmt.Errorf("device: dense2: buffer %s is nil", c.name)
		}
	}
	if err := f.Validate(lens[0], lens[1], lens[2], lens[3], lens[4], lens[5]); err != nil {
		return err
	}
	if b1 == nil {
		b1 = w1 // not read
	}
	if b2 == nil {
		b2 = w2 // not read
	}
	prog, err := d.Program(kernels.Dense2Source, kernels.Dense2Options(f))
	if err != nil {
		return err
	}
	a1, m1, t1 := f.Act1.Params()
	a2, m2, t2 := f.Act2.Params()
	global := []int{(f.M + kernels.Dense2RowsPerItem - 1) / kernels.Dense2RowsPerItem}
	return prog.Run("dense2", global, []int{1},
		int32(f.M), int32(f.H), int32(f.N), x, w1, b1, w2, b2, y, a1, m1, t1, a2, m2, t2)
}
